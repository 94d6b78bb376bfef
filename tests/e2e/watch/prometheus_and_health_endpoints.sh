#!/usr/bin/env bash
# timeout: 90
# The monitoring endpoints a load balancer and Prometheus use (docs/api.md):
# - /metrics is valid Prometheus text (parsed by the reference prometheus_client parser) with the
#   host CPU and each app's memory (app label) on every scrape, and one tend_check_up per probe
#   (1 ok, 0 failing);
# - /health answers 200 while every app is online and healthy; a failing stand-alone check is
#   listed but leaves it 200 (a stale backup must not pull a server that serves); an app whose
#   health probe fails makes it 503 with that app "failing"; 200 again when it recovers;
# - on the TCP door (api.listen), /health needs no token, while /metrics and /v1/checks answer
#   401 without the token and 200 with "Authorization: Bearer <token>".
. "$(dirname "$0")/../lib.sh"
. "$E2E/watch/helpers.bash"
# The parser comes from Debian's python3-prometheus-client (scripts/deps.sh).
python3 -c 'import prometheus_client' 2>/dev/null ||
  fail "no prometheus_client in $PY3 (scripts/deps.sh installs python3-prometheus-client)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
door=$(free_port)
mkdir "$W/sick"
touch "$W/beat.stamp"
# failures: 0 = report only: the sick app is not restarted, so its probe stays failing.
cat > tend.yaml <<YAML
api:
  listen: 127.0.0.1:$door
metrics:
  interval: 1s
apps:
  - name: web
    argv: [$PY3, $E2E/watch/health_app.py]
    port: 32640
    ready: port
    env: {SICK_DIR: $W/sick}
    health:
      http: http://127.0.0.1:\${PORT}/health
      interval: 2s
      timeout: 1s
      failures: 0
      grace: 1s
checks:
  - name: root-disk
    disk: /
    interval: 1s
    timeout: 500ms
  - name: beat
    file_age: {glob: "$W/beat.*", max_age: 1h}
    interval: 1s
    timeout: 500ms
YAML
tend up tend.yaml >/dev/null || fail "tend up"
wait_for 20 all_online web 1 || fail "web not online"
wait_for 15 check_is root-disk ok || fail "root-disk: $(check root-disk message)"
wait_for 15 check_is beat ok || fail "beat: $(check beat message)"
wait_for 15 check_is "web:0 health" ok || fail "health of web:0: $(check "web:0 health" message)"

# parse_metrics FILE: the reference parser reads the whole page; prints "name{labels} value"
# lines of the samples, sorted; fails on any syntax error.
parse_metrics() {
  python3 -c '
import sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for fam in text_string_to_metric_families(open(sys.argv[1]).read()):
    for s in fam.samples:
        labels = ",".join("%s=%s" % kv for kv in sorted(s.labels.items()))
        out.append("%s{%s} %r" % (s.name, labels, s.value))
print("\n".join(sorted(out)))' "$1"
}
has_sample() { parse_metrics m.txt | grep "^$1" >/dev/null; }
page_has() { api /metrics > m.txt && has_sample "$1"; }
# The host CPU needs two samples and the app's memory one sampling of its processes.
wait_for 15 page_has "tend_cpu_percent{}" || fail "no tend_cpu_percent: $(grep -v '^#' m.txt | head -20)"
wait_for 15 page_has "tend_app_memory_bytes{app=web,instance=0}" ||
  fail "no tend_app_memory_bytes for web: $(grep app_memory m.txt)"
wait_for 10 page_has "tend_check_up{check=beat,kind=file_age} 1.0" || fail "tend_check_up of beat: $(grep check_up m.txt)"
parse_metrics m.txt > samples.txt || fail "the reference parser refused /metrics: $(head -40 m.txt)"
note "$(wc -l < samples.txt) samples; $(grep -E '^tend_(cpu_percent|app_memory_bytes)' samples.txt | tr '\n' ' ')"
grep -q "^tend_check_up{check=root-disk,kind=disk} 1.0" samples.txt || fail "tend_check_up of root-disk: $(grep check_up samples.txt)"
grep -q "^tend_check_up{check=web:0 health,kind=http} 1.0" samples.txt || fail "tend_check_up of web's health: $(grep check_up samples.txt)"
cpu=$(sed -n 's/^tend_cpu_percent{} //p' samples.txt)
python3 -c "import sys; sys.exit(not 0 <= float('$cpu') <= 100)" || fail "tend_cpu_percent $cpu"
mem=$(sed -n 's/^tend_app_memory_bytes{app=web,instance=0} //p' samples.txt)
# health_app.py is a python3 process: several MB resident, far less than a GB.
python3 -c "import sys; sys.exit(not 2e6 < float('$mem') < 1e9)" || fail "tend_app_memory_bytes of web: $mem"
curl -si --unix-socket "$TEND_HOME/tend.sock" http://tend/metrics | sed -n '1,/^\r$/p' |
  grep -qi '^content-type: text/plain; version=0.0.4' || fail "/metrics has not Prometheus' content type"

# Every scrape has them, not only those just after a sample: apps are sampled every 5 s whatever
# metrics.interval is, and Prometheus must not see the series come and go. 13 scrapes over 6 s.
for i in $(seq 1 13); do
  api /metrics > m.txt
  parse_metrics m.txt > samples.txt || fail "scrape $i: the parser refused /metrics"
  grep -q "^tend_app_memory_bytes{app=web,instance=0}" samples.txt ||
    fail "scrape $i of 13 has no tend_app_memory_bytes for web (metrics.interval 1s): $(grep -c '^tend_' m.txt) samples"
  grep -q "^tend_cpu_percent{}" samples.txt || fail "scrape $i of 13 has no tend_cpu_percent"
  sleep 0.5   # the scrape period, not a wait for something
done

# /health: everything fine -> 200, every check listed.
health_is() { [ "$(api_code /health)" = "$1" ]; }
jq_body() { jget "$1" < "$W/last_body"; }
health_is 200 || fail "/health with all fine: $(cat last_body)"
[ "$(jq_body '["status"]')" = ok ] || fail "/health body: $(cat last_body)"
[ "$(jq_body '["apps"]["web"]["status"]')" = ok ] || fail "/health body: $(cat last_body)"
[ "$(jq_body '["checks"]["beat"]')" = ok ] || fail "/health body: $(cat last_body)"

# A stand-alone check fails (nothing matches its glob any more): listed as failing, still 200.
rm "$W/beat.stamp"
wait_for 10 check_is beat failing || fail "beat not failing without its file: $(check beat message)"
health_is 200 || fail "/health with a failing stand-alone check: $(cat last_body)"
[ "$(jq_body '["checks"]["beat"]')" = failing ] || fail "/health does not list beat as failing: $(cat last_body)"
[ "$(jq_body '["checks"]["root-disk"]')" = ok ] || fail "/health body: $(cat last_body)"
api /metrics > m.txt
has_sample "tend_check_up{check=beat,kind=file_age} 0.0" || fail "tend_check_up of failing beat: $(grep check_up m.txt)"

# The app's health probe fails -> 503, and the app says "failing".
pid=$(inst_field web 0 pid)
touch "$W/sick/sick.$pid"
wait_for 10 health_is 503 || fail "/health not 503 while web's health fails: $(cat last_body)"
note "/health while web is sick: $(cat last_body)"
[ "$(jq_body '["status"]')" = failing ] || fail "/health body: $(cat last_body)"
[ "$(jq_body '["apps"]["web"]["status"]')" = failing ] || fail "/health does not name web: $(cat last_body)"
[ "$(inst_field web 0 pid)" = "$pid" ] || fail "web was restarted with failures: 0"

# On the TCP door: /health is public (and says 503 too); the rest needs the token.
tok=$(cat "$TEND_HOME/token")
tcp_code() { curl -s --max-time 10 -o "$W/tcp_body" -w '%{http_code}' "$@"; }
wait_for 10 tcp_code "http://127.0.0.1:$door/health" || fail "TCP door not open on $door"
[ "$(tcp_code "http://127.0.0.1:$door/health")" = 503 ] || fail "TCP /health while web is sick: $(cat tcp_body)"
grep -q '"web"' tcp_body || fail "TCP /health body: $(cat tcp_body)"
for path in /metrics /v1/checks; do
  c=$(tcp_code "http://127.0.0.1:$door$path")
  [ "$c" = 401 ] || fail "TCP $path without a token: $c $(head -c 300 tcp_body)"
  grep -q "tend_check_up\|beat" tcp_body && fail "TCP $path without a token shows data: $(head -c 300 tcp_body)"
  c=$(tcp_code -H "Authorization: Bearer wrong$tok" "http://127.0.0.1:$door$path")
  [ "$c" = 401 ] || fail "TCP $path with a wrong token: $c"
  c=$(tcp_code -H "Authorization: Bearer $tok" "http://127.0.0.1:$door$path")
  [ "$c" = 200 ] || fail "TCP $path with the token: $c $(head -c 300 tcp_body)"
done
grep -q '"beat"' tcp_body || fail "TCP /v1/checks with the token: $(head -c 300 tcp_body)"
tcp_code -H "Authorization: Bearer $tok" "http://127.0.0.1:$door/metrics" >/dev/null
parse_metrics tcp_body > /dev/null || fail "the parser refused /metrics from the TCP door"

# web recovers -> 200 again, on both doors.
rm "$W/sick/sick.$pid"
wait_for 10 health_is 200 || fail "/health not 200 after web recovered: $(cat last_body)"
[ "$(tcp_code "http://127.0.0.1:$door/health")" = 200 ] || fail "TCP /health after recovery: $(cat tcp_body)"
echo ok
