#!/usr/bin/env bash
# DESIGN invariant 5: the daemon is SIGKILLed while apps run and stream logs. The apps keep
# running (none dies of SIGPIPE), the next daemon finds each exactly once (same pids, no second
# copy, no port bound twice) and resumes capturing their output.
# timeout: 90
. "$(dirname "$0")/../e2e/lib.sh"
cat > tend.yaml <<EOF
apps:
  - name: web
    argv: [python3, $APPS/web.py]
    instances: 2
    port: 31200
    ready: port
  - name: ticker
    cmd: 'i=0; while true; do i=\$((i+1)); echo "tick \$i"; sleep 0.01; done'
EOF
tend up tend.yaml >/dev/null || fail "tend up failed"
wait_for 20 all_online web 2 || fail "web not online"
wait_for 10 grep -q "tick 20" "$TEND_HOME"/logs/ticker-out.log || fail "no ticks"
pw0=$(inst_field web 0 pid) pw1=$(inst_field web 1 pid) pt=$(inst_field ticker 0 pid)
printf '%s\n' "$pw0" "$pw1" "$pt" > "$T/pids"
dp=$(daemon_pid)
kill -9 "$dp"
wait_for 5 bash -c "! kill -0 $dp" || fail "daemon did not die"
# While the daemon is down the ticker writes far more than a pipe buffer... it must survive.
sleep 2
for p in $pw0 $pw1 $pt; do alive "$p" || fail "app pid $p died with the daemon"; done
curl -fsS http://127.0.0.1:31200/ >/dev/null || fail "web stopped serving while the daemon was down"
tend status >/dev/null 2>&1 || fail "status did not restart the daemon"
wait_for 10 all_online web 2 || fail "web not found online after restart"
[ "$(inst_field web 0 pid)" = "$pw0" ] && [ "$(inst_field web 1 pid)" = "$pw1" ] \
  && [ "$(inst_field ticker 0 pid)" = "$pt" ] || fail "apps were not adopted with their pids"
# count this test's web processes (other tests may run web.py at the same time)
webs() { local n=0 p; for p in $(pgrep -f "$APPS/web.py"); do
  tr '\0' '\n' < /proc/$p/environ 2>/dev/null | grep -Eqx 'PORT=3120[01]' && n=$((n + 1)); done; echo $n; }
n=$(webs)
[ "$n" -eq 2 ] || fail "$n web processes: duplicated"
last=$(tail -n 1 "$TEND_HOME"/logs/ticker-out.log | awk '{print $NF}')
more() { local now; now=$(tail -n 1 "$TEND_HOME"/logs/ticker-out.log | awk '{print $NF}'); [ "$now" -gt $((last + 50)) ]; }
wait_for 10 more || fail "output capture did not resume after the restart"
tend events --json | grep -q '"adopt"' || fail "no adopt event"
# a second restart of the daemon must not duplicate either
kill -9 "$(daemon_pid)"; sleep 0.2
tend status >/dev/null 2>&1 || fail "status after second kill"
wait_for 10 all_online web 2 || fail "web not online after the second restart"
[ "$(webs)" -eq 2 ] || fail "duplicated after second restart"
