#!/usr/bin/env bash
# DESIGN invariant 2 against bad peers: http and tcp checks, and webhook notifiers, aimed at
# peers that accept and never answer, answer one byte per second, or reset the connection
# (tests/faults/bad_peer.py), beside control checks (disk, http to a healthy server) and a
# webhook to a good receiver. Proves: each bad check fails within its timeout with a message
# naming the peer and what went wrong; the control checks keep their 1 s cadence; the good
# receiver gets the alert promptly (the bad notifiers' 10 s timeouts delay nothing); the API and
# `tend status` stay responsive; the daemon's fds do not grow over many failed rounds, and go
# back to their count before the bad peers were configured once they are removed.
# timeout: 180
. "$(dirname "$0")/../e2e/lib.sh"
. "$E2E/watch/alertlib.bash"
HUNG=32210 SLOW=32211 RESET=32212 OK=32213 RECV=32214

python3 "$ROOT/tests/faults/bad_peer.py" --ready "$W/peers.ready" --hung $HUNG --slow $SLOW \
  --reset $RESET --ok $OK &
echo $! >> "$T/pids"
wait_for 10 test -s "$W/peers.ready" || fail "bad_peer.py did not start"
start_receiver good $RECV

# The control part: what runs before, during and after the bad peers.
control_yaml() {
  flag_check_yaml
  cat <<EOF
  - name: flag2
    exec: "test ! -e $W/down2"
    interval: 1s
    timeout: 900ms
  - name: disk
    disk: /
    interval: 1s
    timeout: 500ms
  - name: web
    http: http://127.0.0.1:$OK/health
    interval: 1s
    timeout: 800ms
EOF
}
control_tail() {
  cat <<EOF
alerts:
  - name: flag-down
    rule: check(flag).failing for 1s
  - name: flag2-down
    rule: check(flag2).failing for 1s
notifiers:
EOF
}
good_notifier() {
  cat <<EOF
  - name: good
    webhook: {url: "http://127.0.0.1:$RECV/hook"}
    group_wait: 1s
EOF
}
bad_checks() {
  local m p
  for m in hung:$HUNG slow:$SLOW reset:$RESET; do
    p=${m#*:} m=${m%:*}
    cat <<EOF
  - name: http-$m
    http: http://127.0.0.1:$p/health
    interval: 3s
    timeout: 2s
  - name: tcp-$m
    tcp: {address: "127.0.0.1:$p", send: "PING\\r\\n", expect: "PONG"}
    interval: 3s
    timeout: 2s
EOF
  done
}
bad_notifiers() {
  local m p
  for m in hung:$HUNG slow:$SLOW reset:$RESET; do
    p=${m#*:} m=${m%:*}
    cat <<EOF
  - name: hook-$m
    webhook: {url: "http://127.0.0.1:$p/hook"}
    group_wait: 1s
    retry: {max: 1000, backoff: 1s, max_backoff: 1s}
EOF
  done
}
# The good notifier comes last: were notices sent one notifier after another, it would wait.
{ control_yaml; control_tail; good_notifier; } > control.yaml
{ control_yaml; bad_checks; control_tail; bad_notifiers; good_notifier; } > bad.yaml

# check_field NAME FIELD (alertlib's helpers give only the state).
check_field() {
  api /v1/checks | python3 -c '
import json,sys
for c in json.load(sys.stdin)["checks"]:
    if c.get("name")==sys.argv[1]: print(c.get(sys.argv[2])); sys.exit(0)
print("none")' "$1" "$2"
}
dfds() { ls "/proc/$(daemon_pid)/fd" | wc -l; }
# min_fds SECONDS: the smallest fd count of the daemon over SECONDS (connections in flight come
# and go; a leak raises the floor).
min_fds() {
  local m=100000 f end=$(( $(date +%s%N) + $1 * 1000000000 ))
  while [ "$(date +%s%N)" -lt $end ]; do
    f=$(dfds); [ "$f" -lt $m ] && m=$f
    sleep 0.1
  done
  echo $m
}

# The baseline: the control checks running and one alert (flag-down) sent to the good receiver,
# so the notifiers' lasting resources (curl's multi handle, a kept-alive connection) exist.
tend up control.yaml >/dev/null || fail "tend up control.yaml"
wait_for 15 check_is web ok || fail "control check web: $(api /v1/checks)"
wait_for 15 check_is flag ok || fail "flag check: $(api /v1/checks)"
wait_for 15 check_is flag2 ok || fail "flag2 check: $(api /v1/checks)"
flag_down
wait_for 40 recv_has good firing || fail "the good receiver got no first alert: $(api /v1/alerts)"
base=$(min_fds 3)
fd_list() { ls -l "/proc/$(daemon_pid)/fd" | awk '{print $9, $10, $11}' | sort -n; }
fd_list > fds.base
note "daemon fds with the control checks only: $base"

tend up bad.yaml >/dev/null || fail "tend up bad.yaml"
t0=$(date +%s)
for c in http-hung tcp-hung http-slow tcp-slow http-reset tcp-reset; do
  wait_for 15 check_is "$c" failing || fail "check $c is not failing: $(check_field "$c" message)"
done
note "all six bad checks failing $(( $(date +%s) - t0 )) s after tend up"

for c in http-hung tcp-hung http-slow tcp-slow; do
  msg=$(check_field "$c" message) lat=$(check_field "$c" latency_ms)
  note "$c: $msg ($lat ms)"
  grep -q "127.0.0.1:" <<<"$msg" || fail "$c: the message does not name the peer: $msg"
  grep -Eq "within 2 ?s \(timeout\)" <<<"$msg" || fail "$c: the message does not say timeout: $msg"
  [ "$lat" -ge 1900 ] && [ "$lat" -lt 3500 ] || fail "$c: a timed-out attempt took $lat ms"
done
for c in http-reset tcp-reset; do
  msg=$(check_field "$c" message) lat=$(check_field "$c" latency_ms)
  note "$c: $msg ($lat ms)"
  grep -q "127.0.0.1:$RESET" <<<"$msg" || fail "$c: the message does not name the peer: $msg"
  grep -Eqi "reset" <<<"$msg" || fail "$c: the message does not say the connection was reset: $msg"
  [ "$lat" -lt 1900 ] || fail "$c: a reset took $lat ms to be noticed"
done

# The alert: the flag2 check fails, the rule fires, every notifier gets it; the good receiver's
# message must not wait behind the bad ones (the good notifier is listed last; the hung and slow
# peers hold an attempt 10 s before it times out). Judged on the daemon's own event times (the
# rule's alert_firing, the good notifier's notify_sent, the first notify_failed of hook-hung),
# not on when this script, polling on a loaded machine, happened to look.
for n in hook-hung hook-slow hook-reset; do
  [ "$(notifier_field $n failed)" = 0 ] && [ "$(notifier_field $n in_flight)" = False ] ||
    fail "$n was busy before the alert: $(api /v1/alerts)"
done
touch "$W/down2"
wait_for 30 alert_state_is flag2-down firing || fail "the rule did not fire: $(api /v1/alerts)"
second() { [ "$(recv_count good firing)" -ge 2 ]; }
wait_for 20 second || fail "the good receiver got no second alert: $(api /v1/alerts)"
wait_for 30 notifier_at_least hook-hung failed 1 || fail "hook-hung never timed out: $(api /v1/alerts)"
read -r lag hung_lag < <(api "/v1/events?limit=1000" | python3 -c '
import json, sys
ev = json.load(sys.stdin)["events"]
fire = min(e["time"] for e in ev if e["kind"] == "alert_firing" and "flag2-down" in (e["message"] or ""))
def first(kind, who):
    t = [e["time"] for e in ev if e["kind"] == kind and (e["message"] or "").startswith(who + ":")
         and e["time"] >= fire]
    return min(t) - fire if t else -1
print(first("notify_sent", "good"), first("notify_failed", "hook-hung"))')
note "after flag2-down fired: good delivered in $lag ms, hook-hung's first attempt failed after $hung_lag ms"
[ "$lag" -ge 0 ] || fail "no notify_sent event for the good notifier after the rule fired"
[ "$lag" -lt 5000 ] || fail "the good notifier delivered $lag ms after the rule fired: held up?"
[ "$lag" -lt "$hung_lag" ] || fail "the good notifier delivered only after hook-hung timed out"
wait_for 30 notifier_at_least hook-reset failed 1 || fail "hook-reset: $(api /v1/alerts)"
wait_for 30 notifier_at_least hook-slow failed 1 || fail "hook-slow never timed out: $(api /v1/alerts)"
for n in hook-hung hook-slow hook-reset; do
  note "$n: failed $(notifier_field $n failed), last error: $(notifier_field $n last_error)"
  [ "$(notifier_field $n sent)" = 0 ] || fail "$n counted a bad peer's answer as sent"
done
notifier_field hook-hung last_error | grep -qi "time" || fail "hook-hung: $(notifier_field hook-hung last_error)"
notifier_field hook-reset last_error | grep -qi "reset" ||
  fail "hook-reset: $(notifier_field hook-reset last_error)"

# Watch 10 s more (three more failed rounds of every bad check, notifier retries in flight):
# every 0.25 s, the control checks' "last" and runs and how long the API took; `tend status`
# timed every second.
a_fds=$(min_fds 4)
python3 - "$TEND_HOME/tend.sock" > watch.txt <<'PY' || fail "watching the checks: $(cat watch.txt)"
import json, socket, sys, time
def checks():
    s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
    s.sendall(b"GET /v1/checks HTTP/1.1\r\nHost: tend\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        b = s.recv(65536)
        if not b: break
        data += b
    s.close()
    return {c["name"]: c for c in json.loads(data.split(b"\r\n\r\n", 1)[1])["checks"]}
t0 = time.time(); rows = []; slowest = 0
while time.time() - t0 < 10:
    a = time.time(); c = checks(); slowest = max(slowest, time.time() - a)
    rows.append((time.time() - t0, c["disk"]["last"], c["disk"]["runs"], c["web"]["last"],
                 c["web"]["runs"], c["web"]["status"], c["http-hung"]["failed_runs"]))
    time.sleep(0.25)
def longest(col):
    worst, since, prev = 0, rows[0][0], rows[0][col]
    for r in rows:
        if r[col] != prev: since, prev = r[0], r[col]
        worst = max(worst, r[0] - since)
    return worst
print("%d %d %.2f %.2f %.3f %d %d" % (rows[-1][2] - rows[0][2], rows[-1][4] - rows[0][4],
      longest(1), longest(3), slowest, sum(1 for r in rows if r[5] != "ok"),
      rows[-1][6] - rows[0][6]))
PY
read -r druns wruns dgap wgap slowest wbad hruns < watch.txt
note "in 10 s: disk +$druns runs (longest still $dgap s), web +$wruns runs (longest still $wgap s)," \
  "web not ok in $wbad samples, http-hung +$hruns failed runs, slowest API answer $slowest s"
[ "$druns" -ge 7 ] || fail "the disk check ran $druns times in 10 s"
[ "$wruns" -ge 7 ] || fail "the web check ran $wruns times in 10 s"
[ "$wbad" = 0 ] || fail "the control web check was not ok in $wbad samples"
[ "$hruns" -ge 2 ] || fail "http-hung failed only $hruns times in 10 s"
python3 -c "import sys; sys.exit(not ($dgap < 2.6 and $wgap < 2.6))" ||
  fail "a control check stood still for $dgap / $wgap s"
python3 -c "import sys; sys.exit(not $slowest < 2.0)" || fail "the API took $slowest s to answer"
worst=0
for i in 1 2 3 4 5; do
  s=$(date +%s%N); tend status >/dev/null || fail "tend status failed"
  ms=$(( ($(date +%s%N) - s) / 1000000 )); [ $ms -gt $worst ] && worst=$ms
done
note "slowest of 5 tend status: $worst ms"
# The CLI's own start is included (2 s and more seen under ASan on a loaded machine): the
# bound is for a hang; the API's answer time is bounded above.
[ "$worst" -lt 10000 ] || fail "tend status took $worst ms"

# More rounds: the floor of the fd count must not rise.
b_fds=$(min_fds 4)
note "daemon fds (floor over 4 s) after ~5 rounds: $a_fds, after ~10: $b_fds"
[ $((b_fds - a_fds)) -le 2 ] || fail "daemon fds grew from $a_fds to $b_fds over 5 failed rounds"
for n in hook-hung hook-slow hook-reset; do
  note "$n: failed $(notifier_field $n failed) times by now"
done
[ "$(notifier_field hook-reset failed)" -ge 3 ] || fail "hook-reset is not retrying: $(api /v1/alerts)"

# Remove the bad peers: every socket they held is closed, the fds return to the control count.
tend up control.yaml >/dev/null || fail "tend up control.yaml (again)"
back() { [ "$(dfds)" -le $((base + 2)) ]; }
wait_for 20 back || fail "daemon fds $(dfds) after the bad peers were removed, $base before:" \
  "$(fd_list | diff fds.base - | grep '^[<>]'; ss -tanp | grep "pid=$(daemon_pid),")"
note "daemon fds after removing them: $(dfds) (before: $base)"
alive "$(daemon_pid)" || fail "the daemon died"
wait_for 10 check_is web ok || fail "control check web: $(check_field web message)"
echo ok
