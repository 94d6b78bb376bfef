#!/usr/bin/env bash
# timeout: 150
# Delivery is retried until the receiver takes it, and delivered once. Two webhook notifiers get
# the same firing alert: "down" points at a port where nothing listens yet (connection refused),
# "flaky" at a receiver that answers HTTP 500 to its first two requests. GET /v1/alerts shows
# "down" failing attempts (and notify_failed events); once the test starts a receiver on that
# port the message arrives, exactly once. "flaky" gets the same message three times (500, 500,
# 200: the same seq, so a retry and not a new message), and nothing after.
. "$(dirname "$0")/../lib.sh"
. "$E2E/watch/alertlib.bash"

DOWN_PORT=$(free_port) # free now; nothing listens there until the test starts the receiver
start_receiver flaky
flag_down # failing from the start: the alert fires at the first evaluations
{
  flag_check_yaml
  cat <<EOF
alerts:
  - name: flag-down
    rule: check(flag).failing for 2s
notifiers:
  - name: down
    webhook: "http://127.0.0.1:$DOWN_PORT/hook"
    group_wait: 1s
    retry: {max: 30, backoff: 1s, max_backoff: 2s}
  - name: flaky
    webhook: "http://127.0.0.1:$RECV_PORT/fail/2/hook"
    group_wait: 1s
    retry: {max: 30, backoff: 1s, max_backoff: 2s}
EOF
} > tend.yaml
tend up tend.yaml >/dev/null || fail "tend up"

wait_for 40 alert_state_is flag-down firing || fail "the rule does not fire: $(api /v1/alerts)"
wait_for 20 notifier_at_least down failed 2 || fail "no failed attempts shown for \"down\": $(api /v1/alerts)"
[ "$(notifier_field down sent)" = 0 ] || fail "\"down\" shows sent=$(notifier_field down sent) with no receiver"
err=$(notifier_field down last_error)
note "down: failed=$(notifier_field down failed) last_error=$err"
[ "$err" != None ] && [ -n "$err" ] || fail "\"down\" has no last_error"
[ "$(event_count notify_failed down)" -ge 1 ] || fail "no notify_failed event for \"down\""

start_receiver down "$DOWN_PORT"
wait_for 20 recv_has down firing || fail "the message never reached \"down\" once it listened: $(api /v1/alerts)"
wait_for 20 recv_is flaky firing 200 1 || fail "\"flaky\" never answered 200: $(cat "$W/flaky.jsonl")"
wait_for 10 notifier_at_least down sent 1 || fail "\"down\" does not show sent=1"
settle 2
[ "$(recv_count down)" = 1 ] || fail "\"down\" got $(recv_count down) requests, expected 1"
[ "$(recv_count flaky firing 500)" = 2 ] || fail "\"flaky\" was refused $(recv_count flaky firing 500) times, expected 2"
[ "$(recv_count flaky)" = 3 ] || fail "\"flaky\" got $(recv_count flaky) requests, expected 3"
python3 - "$W/flaky.jsonl" <<'PY' || fail "the retries to \"flaky\" are not one message: $(cat "$W/flaky.jsonl")"
import json, sys
seqs = {json.loads(l)["body"]["seq"] for l in open(sys.argv[1])}
assert len(seqs) == 1, seqs
PY
for n in down flaky; do
  [ "$(notifier_field $n sent)" = 1 ] || fail "$n: sent=$(notifier_field $n sent)"
  [ "$(notifier_field $n gave_up)" = 0 ] || fail "$n: gave_up=$(notifier_field $n gave_up)"
  [ "$(notifier_field $n queued)" = 0 ] || fail "$n: queued=$(notifier_field $n queued)"
done
[ "$(notifier_field flaky failed)" = 2 ] || fail "flaky: failed=$(notifier_field flaky failed), expected 2"
note "down: failed=$(notifier_field down failed) sent=1; flaky: failed=2 sent=1"
[ "$(event_count notify_sent down)" = 1 ] || fail "notify_sent events for down: $(event_count notify_sent down)"
[ "$(alert_field flag-down notices)" = 1 ] || fail "the rule made $(alert_field flag-down notices) notices, expected 1"
echo ok
