#!/usr/bin/env bash
# DESIGN invariant 7, secrets masked in every output (cli/secrets_masked.sh covers `env` and
# `describe` in depth). Secret-looking env values (DB_PASSWORD, API_TOKEN, SECRET_KEY,
# AWS_SECRET_ACCESS_KEY; from env:, from env_file and from the daemon's own environment),
# passwords in URLs (DATABASE_URL, an http check's user:password@ and ?token=) and a webhook's
# ?access_token= never appear in: describe, env, status, events, checks, alerts, metrics (all
# --json too), config check, up and up --dry-run (a changed secret says "configuration changed", not the
# values), tend.log, every GET route of docs/api.md on the TCP door, the Prometheus /metrics,
# and the alert payload a webhook receives. The app itself still gets every value.
# `tend import` is the exception by design: its stdout is the user's new tend.yaml, so values
# are verbatim (secret_files_readable_warn.sh shows the warning that follows if that file is
# left readable by others).
# timeout: 180
. "$(dirname "$0")/../lib.sh"
. "$E2E/watch/alertlib.bash" # TEND_ALERT_STEP_MS, start_receiver, recv_has
PAPI=32430 PDEAD=32431 PRECV=32432
# Each value: two characters a mask may show, then the part that must never appear.
declare -A SEC=(
  [DB_PASSWORD]=xxPw-e1Hx93kd [API_TOKEN]=xxTok-e2Lw55qa [SECRET_KEY]=xxKey-e3Rt66pb
  [FILE_DB_PASSWORD]=xxPw-f1Zq81xw [AWS_SECRET_ACCESS_KEY]=xxAws-f2Kp27vb
  [DAEMON_API_KEY]=xxDmn-d1Qa22zz
)
URLPW=urlPw-u1Vc77yn FURLPW=urlPw-u2Mm44kk CHKPW=chkPw-c1Ee90aa CHKTOK=chkTok-c2Yy12ab
HOOKTOK=hookTok-h1Uu34cd NEWPW=xxPw-n1Bb56cc
pattern=$(printf '%s|' "${SEC[@]#xx}" "$URLPW" "$FURLPW" "$CHKPW" "$CHKTOK" "$HOOKTOK" "${NEWPW#xx}")
pattern=${pattern%|}
# leaks WHAT FILE: fail when FILE holds any secret.
leaks() {
  local hit; hit=$(grep -Eo ".{0,40}($pattern).{0,10}" "$2" | head -n 3)
  [ -z "$hit" ] || fail "$1 shows a secret: $hit"
}
run_out() { "$TEND_BIN" "$@" > "$W/out" 2>&1; leaks "tend $*" "$W/out"; }

start_receiver hook "$PRECV"
export DAEMON_API_KEY=${SEC[DAEMON_API_KEY]} # the daemon inherits it from this first tend call
printf 'FILE_DB_PASSWORD=%s\nAWS_SECRET_ACCESS_KEY=%s\nFILE_URL=postgres://u:%s@127.0.0.1/x\n' \
  "${SEC[FILE_DB_PASSWORD]}" "${SEC[AWS_SECRET_ACCESS_KEY]}" "$FURLPW" > .env
chmod 600 .env
write_yaml() { # write_yaml DB_PASSWORD_VALUE
  cat > tend.yaml <<EOF
api:
  listen: 127.0.0.1:$PAPI
apps:
  - name: s
    argv: [sleep, "1000"]
    env_file: .env
    env:
      DB_PASSWORD: $1
      API_TOKEN: ${SEC[API_TOKEN]}
      SECRET_KEY: ${SEC[SECRET_KEY]}
      DATABASE_URL: postgres://edp:$URLPW@127.0.0.1/edp
      PLAIN: visible-Plain
checks:
  - name: web
    http: http://mon:$CHKPW@127.0.0.1:$PDEAD/health?token=$CHKTOK
    interval: 1s
    timeout: 500ms
alerts:
  - name: web-down
    rule: check(web).failing for 1s
notifiers:
  - name: hook
    webhook: {url: "http://127.0.0.1:$RECV_PORT/hook?access_token=$HOOKTOK"}
    group_wait: 1s
EOF
  chmod 600 tend.yaml
}
write_yaml "${SEC[DB_PASSWORD]}"
run_out config check tend.yaml
run_out up tend.yaml
wait_for 10 all_online s 1 || fail "not online"
# The app gets every value, unmasked.
env_of() { tr '\0' '\n' < "/proc/$(inst_field s 0 pid)/environ"; }
for k in DB_PASSWORD API_TOKEN SECRET_KEY FILE_DB_PASSWORD AWS_SECRET_ACCESS_KEY DAEMON_API_KEY; do
  env_of | grep -qx "$k=${SEC[$k]}" || fail "the app did not get $k"
done
env_of | grep -qx "DATABASE_URL=postgres://edp:$URLPW@127.0.0.1/edp" || fail "the app did not get DATABASE_URL"
tend env s | grep -q 'PLAIN.*visible-Plain' || fail "a plain value was masked"
tend env s | grep -q 'DATABASE_URL.*postgres://edp:\*\*\*\*@127.0.0.1/edp' || fail "URL not shown masked"

# The check fails, the alert fires, the webhook gets its payload.
wait_for 60 recv_has hook firing || fail "no alert payload: $(tend alerts 2>&1)"
body=$(python3 -c 'import json,sys; [print(json.dumps(json.loads(l)["body"])) for l in open(sys.argv[1])]' "$W/hook.jsonl")
echo "$body" > "$W/payload"
leaks "the webhook payload" "$W/payload"

# A changed secret: the plan says why without the values.
write_yaml "$NEWPW"
run_out up tend.yaml --dry-run
grep -q "restart" "$W/out" || fail "no restart planned for a changed env: $(cat "$W/out")"
run_out up tend.yaml
wait_for 10 all_online s 1 || fail "not online after the change"
env_of | grep -qx "DB_PASSWORD=$NEWPW" || fail "the new secret did not reach the app"

for c in "describe s" "describe s --json" "env s" "env s --json" "status" "status --json" \
         "events" "events --json" "checks" "checks --json" "alerts" "alerts --json" \
         "metrics" "metrics --json" "logs s --lines 100"; do
  # shellcheck disable=SC2086 # $c is a verb and its flags
  run_out $c
done
leaks "tend.log" "$TEND_HOME/tend.log"

# Every GET route of docs/api.md, on the TCP door with the token.
tok=$(cat "$TEND_HOME/token")
routes=$(grep -Eo '^\| GET \| [^ ]+' "$ROOT/docs/api.md" | awk '{print $4}')
[ "$(echo "$routes" | wc -l)" -ge 12 ] || fail "docs/api.md lists too few GET routes: $routes"
for r in $routes; do
  r=${r//:app/s}
  code=$(curl -s -o "$W/ans" -w '%{http_code}' --max-time 10 -H "Authorization: Bearer $tok" \
    "http://127.0.0.1:$PAPI$r")
  case $code in 2*|503) ;; *) fail "GET $r answered $code: $(head -c 300 "$W/ans")";; esac
  leaks "GET $r" "$W/ans"
done
# The same routes with filters that select the app.
for r in "/v1/status?app=s" "/v1/apps/s/env?instance=0" "/v1/events?app=s" "/v1/metrics?app=s" \
         "/v1/logs?app=s&lines=100"; do
  curl -s -o "$W/ans" --max-time 10 -H "Authorization: Bearer $tok" "http://127.0.0.1:$PAPI$r"
  leaks "GET $r" "$W/ans"
done
