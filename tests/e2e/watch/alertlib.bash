# tests/e2e/watch/alertlib.bash: helpers shared by the alert and notifier tests (sourced after
# ../lib.sh; not a test itself, hence not .sh).
#
# The alert engine evaluates every 10 s in production (alert.c DEFAULT_STEP_MS); these tests set
# TEND_ALERT_STEP_MS=2000 in the daemon's environment (the daemon is started by the first tend
# call of each test), so a rule with `for 2s` fires 2-4 s after its condition turns true. The
# deadlines stay sized for the 10 s step: polling, never sleeping a fixed time to wait for
# something.
# "Nothing more arrives" is the one thing that has to be waited out: settle() does it, for one
# evaluation step and a bit.
# shellcheck disable=SC2034 # RECV_PORT, SMTP_PORT...: set here for the tests that source this
RECEIVER=$ROOT/tests/unit/alert/notify_receiver.py
SMTPD=$ROOT/tests/unit/alert/notify_smtp.py
STEP_S=2
export TEND_ALERT_STEP_MS=$((STEP_S * 1000))

api() { curl -sf --unix-socket "$TEND_HOME/tend.sock" "http://tend$1"; }
api_post() { # PATH JSON
  curl -sf --unix-socket "$TEND_HOME/tend.sock" -X POST -H 'Content-Type: application/json' \
    -d "$2" "http://tend$1"
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
settle() { sleep $((STEP_S + ${1:-3})); } # one evaluation step and $1 s more: nothing else came

# start_receiver NAME [PORT]: notify_receiver.py recording to $W/NAME.jsonl; sets RECV_PORT and
# RECV_PID, stopped at exit by pid.
start_receiver() {
  local log=$W/$1.jsonl pf=$W/$1.port
  rm -f "$pf"
  python3 "$RECEIVER" --log "$log" --port-file "$pf" --port "${2:-0}" &
  RECV_PID=$!
  on_exit kill "$RECV_PID"
  wait_for 30 test -s "$pf" || fail "the receiver $1 did not start"
  RECV_PORT=$(cat "$pf")
}

# start_smtp NAME: notify_smtp.py (plain SMTP, no STARTTLS) recording to $W/NAME.jsonl; sets
# SMTP_PORT and SMTP_PID.
start_smtp() {
  local log=$W/$1.jsonl pf=$W/$1.port
  python3 "$SMTPD" --log "$log" --port-file "$pf" &
  SMTP_PID=$!
  on_exit kill "$SMTP_PID"
  wait_for 30 test -s "$pf" || fail "the SMTP receiver $1 did not start"
  SMTP_PORT=$(cat "$pf")
}

# recv_count NAME [STATUS [HTTP]]: requests recorded by receiver NAME whose tend payload has
# "status" STATUS (any when empty) and that were answered HTTP (default: any).
recv_count() {
  python3 - "$W/$1.jsonl" "${2:-}" "${3:-}" <<'PY'
import json, os, sys
path, want, http = sys.argv[1], sys.argv[2], sys.argv[3]
n = 0
if os.path.exists(path):
    for line in open(path, encoding="utf-8"):
        r = json.loads(line)
        b = r["body"] if isinstance(r["body"], dict) else {}
        if want and b.get("status") != want:
            continue
        if http and str(r["status"]) != http:
            continue
        n += 1
print(n)
PY
}
recv_is() { [ "$(recv_count "$@")" = "${*: -1}" ]; } # recv_is NAME STATUS HTTP|"" N
recv_has() { [ "$(recv_count "$1" "$2" "${3:-}")" -ge 1 ]; }

# alert_field NAME FIELD: a field of rule NAME in GET /v1/alerts ("none" if no such rule).
alert_field() {
  api /v1/alerts | python3 -c '
import json,sys
for a in json.load(sys.stdin)["alerts"]:
    if a["name"]==sys.argv[1]: print(a.get(sys.argv[2])); sys.exit(0)
print("none")' "$1" "$2"
}
alert_state_is() { [ "$(alert_field "$1" state)" = "$2" ]; }

# notifier_field NAME FIELD: a field of notifier NAME in GET /v1/alerts "notifiers".
notifier_field() {
  api /v1/alerts | python3 -c '
import json,sys
for n in json.load(sys.stdin)["notifiers"]:
    if n["name"]==sys.argv[1]: print(n.get(sys.argv[2])); sys.exit(0)
print("none")' "$1" "$2"
}
notifier_at_least() { [ "$(notifier_field "$1" "$2")" -ge "$3" ] 2>/dev/null; }

# event_count KIND [TEXT]: events of KIND (whose message contains TEXT) in GET /v1/events.
event_count() {
  api "/v1/events?limit=1000" | python3 -c '
import json,sys
k,t=sys.argv[1],sys.argv[2]
print(sum(1 for e in json.load(sys.stdin)["events"] if e["kind"]==k and t in (e["message"] or "")))' \
    "$1" "${2:-}"
}

# check_state NAME: "ok" / "failing" / "pending" of a stand-alone check in GET /v1/checks.
check_state() {
  api /v1/checks | python3 -c '
import json,sys
for c in json.load(sys.stdin)["checks"]:
    if c.get("name")==sys.argv[1]: print(c.get("status")); sys.exit(0)
print("none")' "$1"
}
check_is() { [ "$(check_state "$1")" = "$2" ]; }

# The flag check every alert test drives: failing while $W/down exists. Probed every second.
flag_check_yaml() {
  cat <<EOF
checks:
  - name: flag
    exec: "test ! -e $W/down"
    interval: 1s
    timeout: 900ms
EOF
}
flag_down() { touch "$W/down"; }
flag_up() { rm -f "$W/down"; }
