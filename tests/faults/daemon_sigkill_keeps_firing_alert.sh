#!/usr/bin/env bash
# A daemon SIGKILLed while an alert fires does not page again for the same incident, and does
# not leave the receiver without its resolution: the restarted daemon takes the firing state
# over from the alert history, sends no second "firing" message, and when the condition clears
# sends one "resolved" message carrying the original started_ms. (Found by tests/soak: each
# daemon kill during an incident re-sent "firing" with a new start and never resolved the first.)
# timeout: 120
. "$(dirname "$0")/../e2e/lib.sh"
. "$E2E/watch/alertlib.bash"

start_receiver hook 32710
{
  flag_check_yaml
  cat <<EOF
alerts:
  - name: flag-down
    rule: check(flag).failing
notifiers:
  - name: hook
    webhook: {url: "http://127.0.0.1:$RECV_PORT/hook"}
    group_wait: 1s
EOF
} > tend.yaml
tend up tend.yaml >/dev/null || fail "tend up"
wait_for 15 check_is flag ok || fail "the flag check is not ok: $(api /v1/checks)"
flag_down
wait_for 40 recv_has hook firing || fail "no firing message: $(api /v1/alerts)"
started() { # the started_ms of every message with status $1, one a line
  python3 - "$W/hook.jsonl" "$1" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    b = json.loads(l)["body"]
    if b.get("status") == sys.argv[2]:
        print(b["alerts"][0]["started_ms"])
PY
}
s0=$(started firing)

dp=$(daemon_pid)
kill -9 "$dp"
wait_for 5 bash -c "! kill -0 $dp" || fail "daemon did not die"
tend ping >/dev/null 2>&1 || fail "the daemon did not start again"
wait_for 15 alert_state_is flag-down firing || fail "the rule is $(alert_field flag-down state) after the restart, not firing"
settle 4   # several evaluations with the condition still true: nothing new may be sent
[ "$(recv_count hook firing)" = 1 ] || fail "a second firing message after the restart: $(started firing | tr '\n' ' ')"
[ "$(alert_field flag-down started)" = "$s0" ] || fail "started $(alert_field flag-down started), was $s0"

flag_up
wait_for 45 recv_has hook resolved || fail "no resolved message after the restart: $(api /v1/alerts)"
[ "$(started resolved)" = "$s0" ] || fail "the resolved message has started_ms $(started resolved), the firing one $s0"
settle 3
[ "$(recv_count hook)" = 2 ] || fail "$(recv_count hook) messages in all, expected 2"
