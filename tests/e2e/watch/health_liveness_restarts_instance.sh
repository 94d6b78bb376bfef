#!/usr/bin/env bash
# timeout: 90
# An app's `health:` probe runs per instance on that instance's port; when instance 1 answers
# 500 three times in a row (after its grace period) tend restarts instance 1 only: it gets a new
# pid and one restart, instance 0 keeps its pid and has none, and the health_restart event says
# which instance and why. The replacement is healthy, and is not restarted again.
. "$(dirname "$0")/../lib.sh"
. "$E2E/watch/helpers.bash"
base=32610
mkdir "$W/sick"
# timeout must be shorter than interval (tend refuses 1s/1s), hence 2s/1s.
cat > tend.yaml <<YAML
apps:
  - name: web
    argv: [$PY3, $E2E/watch/health_app.py]
    instances: 2
    port: $base
    ready: port
    env: {SICK_DIR: $W/sick}
    health:
      http: http://127.0.0.1:\${PORT}/health
      interval: 2s
      timeout: 1s
      failures: 3
      grace: 2s
YAML
tend up tend.yaml >/dev/null || fail "tend up"
wait_for 20 all_online web 2 || fail "2 instances not online"
health_ok() { [ "$(check "web:$1 health" status)" = ok ]; }
wait_for 15 health_ok 0 || fail "health of web:0: $(check "web:0 health" message)"
wait_for 15 health_ok 1 || fail "health of web:1: $(check "web:1 health" message)"
grep -q ":$((base + 1))/health" <<<"$(check "web:1 health" target)" ||
  fail "web:1 is probed at $(check "web:1 health" target), not its port $((base + 1))"
pid0=$(inst_field web 0 pid); pid1=$(inst_field web 1 pid)
note "web:0 pid $pid0, web:1 pid $pid1"

touch "$W/sick/sick.$pid1"
curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$((base + 1))/health" | grep -q 500 ||
  fail "the app did not turn sick"
t0=$(date +%s%N)
new_pid1() { local p; p=$(inst_field web 1 pid); [ "$p" != "$pid1" ] && [ "$p" != None ] && [ "$p" != none ]; }
# 3 failures at 2 s intervals: about 6 s, plus a restart.
wait_for 20 new_pid1 || fail "web:1 not restarted (pid still $(inst_field web 1 pid)): $(check "web:1 health" message)"
note "web:1 restarted after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
wait_for 15 all_online web 2 || fail "web not back to 2 online"
[ "$(inst_field web 0 pid)" = "$pid0" ] || fail "web:0 changed pid: $pid0 -> $(inst_field web 0 pid)"
alive "$pid1" && fail "the old web:1 (pid $pid1) still runs"
[ "$(inst_field web 0 restarts)" = 0 ] || fail "web:0 restarts: $(inst_field web 0 restarts)"
[ "$(inst_field web 1 restarts)" = 1 ] || fail "web:1 restarts: $(inst_field web 1 restarts)"

ev=$(events_tsv | grep "^health_restart")
note "event: $ev"
[ "$(grep -c . <<<"$ev")" = 1 ] || fail "expected one health_restart event: $ev"
IFS=$'\t' read -r kind app inst msg <<<"$ev"
[ "$app" = web ] && [ "$inst" = 1 ] || fail "health_restart names $app:$inst, not web:1"
grep -q "3 times" <<<"$msg" || fail "the event does not say how many failures: $msg"
grep -q "500" <<<"$msg" || fail "the event does not give the reason (status 500): $msg"

# The new web:1 is healthy; after its grace and three more intervals it is still the same pid.
newpid=$(inst_field web 1 pid)
wait_for 15 health_ok 1 || fail "the new web:1 is not healthy: $(check "web:1 health" message)"
runs=$(check "web:1 health" runs)
probed_3_more() { [ "$(check "web:1 health" runs)" -ge $((runs + 3)) ]; }
wait_for 15 probed_3_more || fail "the new web:1 is no longer probed"
[ "$(inst_field web 1 pid)" = "$newpid" ] || fail "the healthy web:1 was restarted again"
[ "$(inst_field web 0 pid)" = "$pid0" ] || fail "web:0 changed pid"
echo ok
