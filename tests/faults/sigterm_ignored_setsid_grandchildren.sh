#!/usr/bin/env bash
# Stopping an app that ignores SIGTERM and forks grandchildren (one of which setsid's away)
# sends kill_signal first, SIGKILL after kill_timeout, and leaves no process behind.
# timeout: 60
. "$(dirname "$0")/../e2e/lib.sh"
cat > stubborn.sh <<'EOF'
trap 'echo term >> "$W/term.log"' TERM
sleep 1000 & echo $! > "$W/child.pid"
setsid sh -c 'trap "" TERM; echo $$ > "$W/escapee.pid"; exec sleep 1000' &
echo $$ > "$W/main.pid"
while true; do sleep 0.1; done
EOF
cat > tend.yaml <<EOF
apps:
  - name: stubborn
    argv: [bash, $W/stubborn.sh]
    env: {W: $W}
    kill_timeout: 1500ms
EOF
tend up tend.yaml >/dev/null || fail "tend up failed"
wait_for 10 test -s escapee.pid || fail "app did not start its children"
wait_for 5 test -s child.pid
pids="$(cat main.pid) $(cat child.pid) $(cat escapee.pid)"
echo "$pids" | tr ' ' '\n' > "$T/pids"
start=$(date +%s%N)
tend stop stubborn >/dev/null || fail "tend stop failed"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -ge 1400 ] || fail "stop returned after $ms ms: kill_timeout 1500ms not honoured"
grep -q term term.log || fail "SIGTERM was not sent first"
gone() { for p in $pids; do [ -e /proc/$p ] && return 1; done; return 0; }
wait_for 5 gone || fail "processes left behind: $(for p in $pids; do [ -e /proc/$p ] && ps -o pid,stat,cmd -p $p | tail -n 1; done)"
[ "$(inst_field stubborn 0 state)" = stopped ] || fail "state is not stopped"
tend events stubborn --json | grep -q '"kill"' || fail "no kill event for the SIGKILL"
