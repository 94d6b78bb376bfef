#!/usr/bin/env bash
# timeout: 150
# Silences suppress notices, not state. Two rules watch the same failing check: "flag-down"
# (for 2s) fires and is notified; the test then silences "flag-*" for 1 h through
# POST /v1/alerts/silence; "flag-long" (for 25s) fires later, under the silence: its state is
# firing in GET /v1/alerts (with silenced_until), its event says "(silenced)", and no message
# reaches the webhook. Lifting the silence (POST /v1/alerts/unsilence) announces it, once.
. "$(dirname "$0")/../lib.sh"
. "$E2E/watch/alertlib.bash"

start_receiver hook
flag_down # failing from the start
{
  flag_check_yaml
  cat <<EOF
alerts:
  - name: flag-down
    rule: check(flag).failing for 2s
  - name: flag-long
    rule: check(flag).failing for 25s
notifiers:
  - name: hook
    webhook: "http://127.0.0.1:$RECV_PORT/hook"
    group_wait: 1s
EOF
} > tend.yaml
tend up tend.yaml >/dev/null || fail "tend up"

# messages_for NAME: firing messages that carry alert NAME.
messages_for() {
  python3 - "$W/hook.jsonl" "$1" <<'PY'
import json, os, sys
n = 0
if os.path.exists(sys.argv[1]):
    for l in open(sys.argv[1]):
        b = json.loads(l)["body"]
        n += sum(1 for a in b["alerts"] if a["name"] == sys.argv[2] and a["status"] == "firing")
print(n)
PY
}
has_message_for() { [ "$(messages_for "$1")" -ge 1 ]; }

wait_for 45 has_message_for flag-down || fail "flag-down was not notified: $(api /v1/alerts)"
alert_state_is flag-long pending || fail "flag-long is $(alert_field flag-long state), expected pending"
before=$(date +%s%3N)
out=$(api_post /v1/alerts/silence '{"pattern": "flag-*", "for_ms": 3600000}') || fail "POST silence"
until=$(jget '["until"]' <<<"$out")
[ "$(jget '["matches"]' <<<"$out")" = 2 ] || fail "the silence should match 2 rules: $out"
[ $((until - before)) -ge 3599000 ] && [ $((until - before)) -le 3660000 ] ||
  fail "silenced until $until, not about 1 h after $before"
for r in flag-down flag-long; do
  [ "$(alert_field $r silenced_until)" = "$until" ] || fail "$r: silenced_until=$(alert_field $r silenced_until), expected $until"
done
api /v1/alerts | jget '["silences"]' | grep -q "flag-\*" || fail "no silence listed: $(api /v1/alerts)"

wait_for 40 alert_state_is flag-long firing || fail "flag-long does not fire: $(api /v1/alerts)"
settle 2
[ "$(messages_for flag-long)" = 0 ] || fail "flag-long was notified under the silence: $(cat "$W/hook.jsonl")"
[ "$(recv_count hook)" = 1 ] || fail "$(recv_count hook) messages under the silence, expected only the first"
[ "$(event_count alert_firing "flag-long")" = 1 ] || fail "no alert_firing event for flag-long"
[ "$(event_count alert_firing "(silenced)")" = 1 ] || fail "the alert_firing event of flag-long does not say (silenced): $(api '/v1/events?limit=20')"
note "flag-long firing under the silence; $(recv_count hook) message(s) in all"

api_post /v1/alerts/unsilence '{"pattern": "flag-*"}' >/dev/null || fail "POST unsilence"
[ "$(alert_field flag-long silenced_until)" = None ] || fail "still silenced after unsilence"
wait_for 30 has_message_for flag-long || fail "flag-long was not announced when the silence ended"
settle 2
[ "$(messages_for flag-long)" = 1 ] || fail "flag-long notified $(messages_for flag-long) times, expected 1"
[ "$(messages_for flag-down)" = 1 ] || fail "flag-down notified $(messages_for flag-down) times, expected 1"
echo ok
