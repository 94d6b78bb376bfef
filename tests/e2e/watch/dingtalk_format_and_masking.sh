#!/usr/bin/env bash
# timeout: 120
# A `dingtalk:` notifier with a signing `secret`, pointed at a local receiver that refuses the
# first request (HTTP 500), so a failure with the URL in it goes through tend's log, events and
# status. The message is DingTalk's markdown JSON; every request's URL carries the access_token
# plus timestamp= (ms, now) and sign= (base64 HMAC-SHA256 of "timestamp\nsecret" keyed with the
# secret); and neither the token nor the secret appears in GET /v1/alerts, /v1/events, /metrics,
# tend status, tend up's output or tend.log, which show "access_token=****" instead. A second
# DingTalk notifier points at a port where nothing listens, so that libcurl's error (which names
# the URL) reaches the log, the events and the status too.
. "$(dirname "$0")/../lib.sh"
. "$E2E/watch/alertlib.bash"

TOKEN=SECRET123
SECRET=SECsig456tend
start_receiver robot
DEAD_PORT=$(free_port) # nothing listens there
flag_down # failing from the start
{
  flag_check_yaml
  cat <<EOF
alerts:
  - name: flag-down
    rule: check(flag).failing for 2s
notifiers:
  - name: ops
    dingtalk:
      url: "http://127.0.0.1:$RECV_PORT/fail/1/robot/send?access_token=$TOKEN"
      secret: "$SECRET"
    group_wait: 1s
    retry: {max: 10, backoff: 1s, max_backoff: 2s}
  - name: dead
    dingtalk: {url: "http://127.0.0.1:$DEAD_PORT/robot/send?access_token=$TOKEN", secret: "$SECRET"}
    group_wait: 1s
    retry: {max: 1, backoff: 1s}
EOF
} > tend.yaml
tend up tend.yaml > up.txt 2>&1 || fail "tend up: $(cat up.txt)"

wait_for 45 recv_is robot "" 200 1 || fail "no message accepted within 45 s: $(api /v1/alerts)"
wait_for 10 notifier_at_least ops sent 1 || fail "the notifier does not show sent=1"
wait_for 20 notifier_at_least dead gave_up 1 || fail "\"dead\" did not give up: $(api /v1/alerts)"
[ "$(recv_count robot "" 500)" = 1 ] || fail "expected exactly one refused attempt first"
python3 - "$W/robot.jsonl" "$TOKEN" "$SECRET" <<'PY' || fail "the requests: $(cat "$W/robot.jsonl")"
import base64, hashlib, hmac, json, sys, time, urllib.parse
path, token, secret = sys.argv[1:]
recs = [json.loads(l) for l in open(path)]
assert len(recs) == 2, len(recs)
for r in recs:
    assert r["path"] == "/fail/1/robot/send", r["path"]
    assert r["headers"]["content-type"].startswith("application/json"), r["headers"]
    q = urllib.parse.parse_qs(r["query"], strict_parsing=True)
    assert q["access_token"] == [token], q
    ts = q["timestamp"][0]
    assert abs(int(ts) - time.time() * 1000) < 120000, ts  # milliseconds, about now
    want = base64.b64encode(hmac.new(secret.encode(), f"{ts}\n{secret}".encode(),
                                     hashlib.sha256).digest()).decode()
    assert q["sign"] == [want], (q["sign"], want)
    assert "sign=" + urllib.parse.quote(want, safe="") in r["query"], r["query"]  # URL-encoded
    b = r["body"]
    assert b["msgtype"] == "markdown", b
    assert "flag-down" in b["markdown"]["title"], b
    t = b["markdown"]["text"]
    assert "flag-down" in t and "check(flag) is failing" in t, t
    assert token not in json.dumps(b) and secret not in json.dumps(b), b
print("# title: " + recs[1]["body"]["markdown"]["title"])
PY

# Where secrets could leak: each of these must show the masked URL, never the token or secret.
api /v1/alerts > alerts.json || fail "GET /v1/alerts"
api "/v1/events?limit=1000" > events.json || fail "GET /v1/events"
api /metrics > metrics.txt || fail "GET /metrics"
api /v1/checks > checks.json || fail "GET /v1/checks"
tend status > status.txt 2>&1 || true
grep -q 'access_token=\*\*\*\*' alerts.json || fail "the notifier's target is not shown masked: $(cat alerts.json)"
for f in events.json "$TEND_HOME/tend.log"; do
  grep -q "127.0.0.1:$DEAD_PORT/robot/send?access_token=\*\*\*\*" "$f" ||
    fail "$f does not show the dead notifier's error with its URL masked"
done
grep -q "notify_gave_up" events.json || fail "no notify_gave_up event: $(cat events.json)"
for f in alerts.json events.json metrics.txt checks.json status.txt up.txt "$TEND_HOME/tend.log"; do
  if grep -n -e "$TOKEN" -e "$SECRET" "$f"; then fail "a secret leaks into $f"; fi
done
note "failure as logged: $(grep -m1 'notifier dead' "$TEND_HOME/tend.log" | cut -c1-200)"
echo ok
