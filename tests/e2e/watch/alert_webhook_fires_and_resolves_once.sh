#!/usr/bin/env bash
# timeout: 150
# An alert rule on a check the test controls (`check(flag).failing for 2s`, an exec check that
# fails while a file exists) with a webhook notifier to a real HTTP receiver on 127.0.0.1: while
# the condition holds the receiver gets exactly one "firing" message in tend's JSON format, and
# once it clears exactly one "resolved" one; nothing more arrives after (no duplicate, no repeat
# within `repeat: 4h`). GET /v1/alerts follows the state and GET /v1/events has alert_firing and
# alert_resolved once each.
. "$(dirname "$0")/../lib.sh"
. "$E2E/watch/alertlib.bash"

start_receiver hook
{
  flag_check_yaml
  cat <<EOF
alerts:
  - name: flag-down
    rule: check(flag).failing for 2s
    severity: critical
notifiers:
  - name: hook
    webhook: {url: "http://127.0.0.1:$RECV_PORT/hook"}
    group_wait: 1s
EOF
} > tend.yaml
tend up tend.yaml >/dev/null || fail "tend up"
wait_for 15 check_is flag ok || fail "the flag check is not ok: $(api /v1/checks)"
[ "$(alert_field flag-down state)" = inactive ] || fail "the rule is $(alert_field flag-down state) before anything failed"

flag_down
t0=$(date +%s)
wait_for 15 check_is flag failing || fail "the flag check does not fail"
wait_for 40 recv_has hook firing || fail "no firing message within 40 s: $(api /v1/alerts)"
note "firing message after $(( $(date +%s) - t0 )) s"
alert_state_is flag-down firing || fail "the rule is $(alert_field flag-down state), not firing"

flag_up
t1=$(date +%s)
wait_for 45 recv_has hook resolved || fail "no resolved message within 45 s: $(api /v1/alerts)"
note "resolved message after $(( $(date +%s) - t1 )) s"
settle 3
[ "$(recv_count hook firing)" = 1 ] || fail "$(recv_count hook firing) firing messages, expected 1"
[ "$(recv_count hook resolved)" = 1 ] || fail "$(recv_count hook resolved) resolved messages, expected 1"
[ "$(recv_count hook)" = 2 ] || fail "$(recv_count hook) requests in all, expected 2"

# Both messages in tend's JSON format (src/alert/notify_payload.c).
python3 - "$W/hook.jsonl" <<'PY' || fail "payloads: $(cat "$W/hook.jsonl")"
import json, re, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
fire, res = recs[0], recs[1]
rfc = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
for r, st in ((fire, "firing"), (res, "resolved")):
    assert r["path"] == "/hook", r["path"]
    assert r["headers"]["content-type"].startswith("application/json"), r["headers"]
    b = r["body"]
    assert b["version"] == 1 and b["source"] == "tend" and b["notifier"] == "hook", b
    assert b["status"] == st and isinstance(b["host"], str) and b["host"], b
    assert rfc.match(b["sent_at"]), b["sent_at"]
    assert len(b["alerts"]) == 1, b
    a = b["alerts"][0]
    assert a["name"] == "flag-down" and a["rule"] == "check(flag).failing for 2s", a
    assert a["severity"] == "critical" and a["status"] == st, a
    assert rfc.match(a["started_at"]) and isinstance(a["started_ms"], int), a
    assert isinstance(a["labels"], dict), a
assert fire["body"]["firing"] == 1, fire["body"]
assert "FIRING" in fire["body"]["title"] and "flag-down" in fire["body"]["title"], fire["body"]["title"]
assert "flag-down" in res["body"]["title"], res["body"]["title"]
assert fire["body"]["alerts"][0]["ended_at"] is None and fire["body"]["alerts"][0]["ended_ms"] in (None, 0)
ra = res["body"]["alerts"][0]
assert rfc.match(ra["ended_at"]) and ra["ended_ms"] >= ra["started_ms"], ra
assert ra["started_ms"] == fire["body"]["alerts"][0]["started_ms"], (ra, fire["body"])
assert res["body"]["seq"] > fire["body"]["seq"], (fire["body"]["seq"], res["body"]["seq"])
PY

st=$(alert_field flag-down state)
[ "$st" = inactive ] || [ "$st" = resolved ] || fail "the rule is $st after it cleared"
[ "$(alert_field flag-down notices)" = 2 ] || fail "notices: $(alert_field flag-down notices), expected 2"
[ "$(notifier_field hook sent)" = 2 ] || fail "the notifier shows sent=$(notifier_field hook sent)"
[ "$(notifier_field hook failed)" = 0 ] || fail "the notifier shows failed=$(notifier_field hook failed)"
[ "$(event_count alert_firing flag-down)" = 1 ] || fail "alert_firing events: $(event_count alert_firing flag-down)"
[ "$(event_count alert_resolved flag-down)" = 1 ] || fail "alert_resolved events: $(event_count alert_resolved flag-down)"
[ "$(event_count notify_sent hook)" = 2 ] || fail "notify_sent events: $(event_count notify_sent hook)"
echo ok
