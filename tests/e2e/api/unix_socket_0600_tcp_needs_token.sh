#!/usr/bin/env bash
# DESIGN invariant 7: the unix socket is 0600; the TCP door set by api.listen answers only with
# the bearer token (401 without it or with a wrong one), and the API is versioned under /v1.
# timeout: 60
. "$(dirname "$0")/../lib.sh"
cat > tend.yaml <<'EOF'
api:
  listen: 127.0.0.1:31400
apps:
  - name: a
    argv: [sleep, "1000"]
EOF
tend up tend.yaml >/dev/null || fail "tend up failed"
[ "$(stat -c %a "$TEND_HOME/tend.sock")" = 600 ] || fail "socket mode $(stat -c %a "$TEND_HOME/tend.sock")"
curl -fsS --unix-socket "$TEND_HOME/tend.sock" http://tend/v1/status | grep -q '"name": *"a"' || fail "unix door"
wait_for 5 curl -s -o /dev/null http://127.0.0.1:31400/v1/ping || fail "TCP door not open"
code=$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:31400/v1/status)
[ "$code" = 401 ] || fail "no token: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer wrong' http://127.0.0.1:31400/v1/status)
[ "$code" = 401 ] || fail "wrong token: $code"
tok=$(cat "$TEND_HOME/token")
[ "$(stat -c %a "$TEND_HOME/token")" = 600 ] || fail "token file mode"
curl -fsS -H "Authorization: Bearer $tok" http://127.0.0.1:31400/v1/status | grep -q '"a"' || fail "with token"
code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$TEND_HOME/tend.sock" http://tend/v1/nope)
[ "$code" = 404 ] || fail "unknown route: $code"
# a client that connects and sends nothing does not stop the daemon from answering
python3 -c "
import socket,time
s=socket.socket(socket.AF_UNIX); s.connect('$TEND_HOME/tend.sock'); time.sleep(30)" &
idle=$!; echo $idle >> "$T/pids"
tend status >/dev/null || fail "status blocked by an idle client"
kill $idle
