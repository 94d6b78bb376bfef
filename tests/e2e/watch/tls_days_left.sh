#!/usr/bin/env bash
# timeout: 60
# A `tls:` check reads how many days the server's certificate has left. Against openssl s_server
# with a certificate valid 5 days: with days: 14 the check is failing, says it expires in about 5
# days (fewer than 14), and reports days_left between 4 and 5; after `tend up` with days: 3 the
# same certificate is ok. A self-signed certificate is still read (the probe is about expiry).
. "$(dirname "$0")/../lib.sh"
. "$E2E/watch/helpers.bash"
openssl req -x509 -newkey rsa:2048 -days 5 -nodes -subj /CN=localhost \
  -keyout key.pem -out cert.pem 2>/dev/null || fail "cannot make a certificate"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
timeout 120 openssl s_server -accept "127.0.0.1:$port" -cert cert.pem -key key.pem -www \
  >s_server.log 2>&1 </dev/null &
echo $! >> "$T/pids"
wait_for 10 bash -c "echo | openssl s_client -connect 127.0.0.1:$port -servername localhost" ||
  fail "openssl s_server does not answer on $port: $(cat s_server.log)"

write_conf() {
  cat > tend.yaml <<YAML
checks:
  - name: cert
    tls: {host: 127.0.0.1, port: $port, servername: localhost, days: $1}
    interval: 1s
    timeout: 900ms
YAML
}
write_conf 14
tend up tend.yaml >/dev/null || fail "tend up"
wait_for 15 check_is cert failing || fail "check cert not failing with days: 14: $(check cert message)"
msg=$(check cert message)
note "days: 14: $msg"
days=$(check cert metrics.days_left)
python3 -c "import sys; sys.exit(not 4 <= float('$days') <= 5)" || fail "days_left $days, not 4-5"
grep -Eq "expires in (4\.9|5\.0) days" <<<"$msg" || fail "message does not say 5 days: $msg"
grep -q "fewer than 14" <<<"$msg" || fail "message does not give the limit: $msg"
grep -q "$(date -u -d '+5 days' +%Y-%m-%d)" <<<"$msg" || fail "message does not give the date: $msg"
grep -q "127.0.0.1:$port" <<<"$msg" || fail "message does not name the server: $msg"

write_conf 3
tend up tend.yaml >/dev/null || fail "tend up with days: 3"
wait_for 15 check_is cert ok || fail "check cert not ok with days: 3: $(check cert message)"
note "days: 3: $(check cert message)"
days=$(check cert metrics.days_left)
python3 -c "import sys; sys.exit(not 4 <= float('$days') <= 5)" || fail "days_left $days, not 4-5"
grep -q "cert: ok:" <<<"$(events_tsv | grep '^check_ok' | cut -f4)" || fail "no check_ok event"
echo ok
