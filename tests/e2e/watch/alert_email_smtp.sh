#!/usr/bin/env bash
# timeout: 120
# The email notifier delivers through a real SMTP server on 127.0.0.1 (tests/unit/alert/
# notify_smtp.py, plain SMTP: `starttls: false`): a firing alert is one mail, from the configured
# sender to every recipient, with the rule's name in the Subject and its summary in the body, and
# nothing more while the alert keeps firing.
. "$(dirname "$0")/../lib.sh"
. "$E2E/watch/alertlib.bash"

start_smtp mail
flag_down # failing from the start
{
  flag_check_yaml
  cat <<EOF
alerts:
  - name: flag-down
    rule: check(flag).failing for 2s
    severity: critical
notifiers:
  - name: mail
    email:
      smtp: smtp://127.0.0.1:$SMTP_PORT
      starttls: false
      from: tend@example.com
      to: [ops@example.com, dev@example.com]
    group_wait: 1s
EOF
} > tend.yaml
tend up tend.yaml >/dev/null || fail "tend up"

mails() { [ -f "$W/mail.jsonl" ] && wc -l < "$W/mail.jsonl" || echo 0; }
mails_ge1() { [ "$(mails)" -ge 1 ]; }
wait_for 45 mails_ge1 || fail "no mail within 45 s: $(api /v1/alerts)"
alert_state_is flag-down firing || fail "the rule is $(alert_field flag-down state)"
settle 2
[ "$(mails)" = 1 ] || fail "$(mails) mails, expected 1: $(cat "$W/mail.jsonl")"
python3 - "$W/mail.jsonl" <<'PY' || fail "the mail: $(cat "$W/mail.jsonl")"
import email, email.policy, json, sys
rec = json.loads(open(sys.argv[1]).readline())
assert rec["from"] == "tend@example.com", rec["from"]
assert sorted(rec["to"]) == ["dev@example.com", "ops@example.com"], rec["to"]
assert rec["tls"] is False and rec["user"] is None, rec
msg = email.message_from_string(rec["data"], policy=email.policy.default)
subj = str(msg["Subject"])
assert "flag-down" in subj, subj
assert "FIRING" in subj.upper(), subj
assert "tend@example.com" in str(msg["From"]), msg["From"]
assert "ops@example.com" in str(msg["To"]) and "dev@example.com" in str(msg["To"]), msg["To"]
assert msg["Date"] is not None, "no Date header"
body = msg.get_body(preferencelist=("plain", "html")).get_content()
assert "check(flag) is failing" in body, body
print("# Subject: " + subj)
PY
[ "$(notifier_field mail sent)" = 1 ] || fail "the notifier shows sent=$(notifier_field mail sent)"
[ "$(notifier_field mail failed)" = 0 ] || fail "the notifier shows failed=$(notifier_field mail failed)"
echo ok
