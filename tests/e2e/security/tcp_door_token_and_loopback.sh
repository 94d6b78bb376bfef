#!/usr/bin/env bash
# DESIGN invariant 7, the TCP door (api/unix_socket_0600_tcp_needs_token.sh covers the basics):
# no token, a wrong token and a prefix of the right one all get the same 401 (same body and
# headers, so the answer tells nothing about how close a guess was); the right token gets 200.
# `listen: :PORT` binds loopback only (not reachable on the machine's other address); a
# non-loopback address such as 0.0.0.0 works but is announced loudly: by `tend config check`,
# by `tend up`, in tend.log and as an api_exposed event.
# timeout: 60
. "$(dirname "$0")/../lib.sh"
P1=32410 P2=32411
ext=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9.]+$' | grep -v '^127\.' | head -n 1)
cat > tend.yaml <<EOF
api:
  listen: ":$P1"
apps:
  - name: a
    argv: [sleep, "1000"]
EOF
chmod 600 tend.yaml
out=$(tend up tend.yaml 2>&1) || fail "tend up failed: $out"
echo "$out" | grep -qi "not loopback\|reachable from other machines" && fail "a loopback listen warned: $out"
wait_for 5 curl -s -o /dev/null "http://127.0.0.1:$P1/v1/ping" || fail "TCP door not open on 127.0.0.1:$P1"
tok=$(cat "$TEND_HOME/token")

# ask [HEADER]: the status line, headers (without Date) and body of GET /v1/status.
ask() {
  curl -s -i ${1:+-H "$1"} "http://127.0.0.1:$P1/v1/status" | tr -d '\r' | grep -v '^Date:'
}
none=$(ask "")
echo "$none" | head -n 1 | grep -q ' 401 ' || fail "no token: $(echo "$none" | head -n 1)"
for h in "Authorization: Bearer wrong" "Authorization: Bearer ${tok:0:63}" \
         "Authorization: Bearer ${tok}0" "Authorization: Basic $tok" "Authorization: $tok"; do
  got=$(ask "$h")
  [ "$got" = "$none" ] || fail "\"${h:0:30}...\" was answered differently from no token:
$got
--- vs ---
$none"
done
echo "$none" | grep -q '"code":"unauthorized"' || fail "401 body: $none"
echo "$none" | grep -q '"name"' && fail "a 401 leaked the status"
ask "Authorization: Bearer $tok" | head -n 1 | grep -q ' 200 ' || fail "the right token was refused"
ask "Authorization: bearer $tok" | head -n 1 | grep -q ' 200 ' || fail "the scheme is case-insensitive"
# /health is public (load balancers), /metrics is not.
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P1/health")
[ "$code" = 200 ] || fail "/health without token: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P1/metrics")
[ "$code" = 401 ] || fail "/metrics without token: $code"

# ":PORT" is loopback: the machine's other address does not answer.
if [ -n "$ext" ]; then
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://$ext:$P1/health")
  [ "$code" = 000 ] || fail "\":$P1\" answered on $ext ($code)"
else
  note "no non-loopback address: the loopback-only check is skipped"
fi

# 0.0.0.0: accepted, warned everywhere a user looks.
sed -i "s/\":$P1\"/0.0.0.0:$P2/" tend.yaml
out=$(tend config check tend.yaml 2>&1) || fail "config check failed: $out"
echo "$out" | grep -q "warning: the API listens on \"0.0.0.0:$P2\", reachable from other machines" \
  || fail "config check did not warn: $out"
out=$(tend up tend.yaml 2>&1) || fail "tend up failed: $out"
echo "$out" | grep -q "\"0.0.0.0:$P2\", reachable from other machines" || fail "tend up did not warn: $out"
wait_for 5 curl -s -o /dev/null "http://127.0.0.1:$P2/v1/ping" || fail "TCP door not moved to $P2"
grep -q "warn api: listening on 0.0.0.0:$P2, which is not loopback" "$TEND_HOME/tend.log" \
  || fail "no warning in tend.log"
tend events --json | grep -q '"kind": *"api_exposed"' || fail "no api_exposed event: $(tend events)"
tend events | grep -q "listens on 0.0.0.0:$P2, which is not loopback" || fail "event text: $(tend events)"
if [ -n "$ext" ]; then
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 -H "Authorization: Bearer $tok" \
    "http://$ext:$P2/v1/status")
  [ "$code" = 200 ] || fail "0.0.0.0:$P2 not reachable on $ext ($code)"
fi
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P2/v1/status")
[ "$code" = 401 ] || fail "0.0.0.0 door without token: $code"
