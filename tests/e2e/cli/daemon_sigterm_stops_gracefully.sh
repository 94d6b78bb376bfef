#!/usr/bin/env bash
# `tend daemon` in the foreground (as systemd runs it): SIGTERM stops every app with its
# kill_signal, removes the socket and pid file, stops the keeper and exits 0.
# timeout: 60
. "$(dirname "$0")/../lib.sh"
"$TEND_BIN" daemon > "$T/daemon.out" 2>&1 &
dp=$!
echo $dp >> "$T/pids"
wait_for 10 test -S "$TEND_HOME/tend.sock" || fail "no socket: $(cat $T/daemon.out)"
[ "$(cat "$TEND_HOME/tend.pid")" = "$dp" ] || fail "pid file"
cat > tend.yaml <<EOF
apps:
  - name: a
    cmd: 'trap "echo got-term >> $W/term; exit 0" TERM; while true; do sleep 0.1; done'
    instances: 2
EOF
tend up tend.yaml >/dev/null || fail "up"
wait_for 10 all_online a 2 || fail "not online"
pids="$(inst_field a 0 pid) $(inst_field a 1 pid)"
kp=$(pgrep -f "__keeper $TEND_HOME/")
[ -n "$kp" ] || fail "no keeper running"
kill -TERM $dp
wait $dp; rc=$?
[ $rc -eq 0 ] || fail "daemon exited $rc: $(tail $T/daemon.out)"
[ "$(grep -c got-term term)" -eq 2 ] || fail "apps did not get SIGTERM"
for p in $pids; do alive $p && fail "app $p still running"; done
[ ! -e "$TEND_HOME/tend.sock" ] && [ ! -e "$TEND_HOME/tend.pid" ] || fail "socket or pid file left"
wait_for 5 bash -c "! kill -0 $kp" || fail "keeper still running"
