#!/usr/bin/env bash
# timeout: 120
# Access-log analysis through the real binary: a real nginx on 127.0.0.1 proxies to an app tend
# runs (2 instances), logging $request_time and $upstream_addr; tend.yaml maps the app by its
# upstream port range. A known mix of 200 requests (10% answered 500, 10% delayed 300 ms, the
# rest fast) must show in GET /v1/metrics as 200 requests, error rate 10%, p50 fast and p95 near
# 300 ms; /metrics must have tend_http_requests_total by class and the latency histogram.
# Garbage lines appended to the log are counted as malformed and change nothing else; a rotation
# (mv + nginx reopen) keeps counting, with no line lost or counted twice.
. "$(dirname "$0")/../lib.sh"
S=$ROOT/tests/servers
PORT0=32710 # the app's two instances: 32710, 32711
api() { curl -sf --unix-socket "$TEND_HOME/tend.sock" "http://tend$1"; }

mkdir -p "$T/nginx"
eval "$("$S/nginx.sh" start "$T/nginx" $PORT0 $((PORT0 + 1)))" || fail "cannot start nginx"
on_exit "$S/nginx.sh" stop "$T/nginx"

cat > tend.yaml <<EOF
apps:
  - name: api
    argv: [python3, $APPS/status_app.py]
    instances: 2
    port: $PORT0
    ready: port
access_logs:
  - path: $NGINX_LOG
    format: '\$remote_addr - \$remote_user [\$time_local] "\$request" \$status \$body_bytes_sent "\$http_referer" "\$http_user_agent" \$request_time \$upstream_response_time \$upstream_addr'
    apps:
      api: {upstream: $PORT0-$((PORT0 + 1))}
    windows: [1m, 5m]
EOF
tend up tend.yaml >/dev/null || fail "tend up"
wait_for 30 all_online api 2 || fail "the app is not online"

# The log's figures as one line: lines malformed unmatched rotations requests 5xx 2xx
# win_requests win_error_rate p50 p95 (of the 1m window).
figures() {
  api /v1/metrics | python3 -c '
import json,sys
d=json.load(sys.stdin)
l=[x for x in d["access_logs"] if x["path"]==sys.argv[1]][0]
a=[x for x in l["apps"] if x["app"]=="api"][0]
w=[x for x in a["windows"] if x["window"]=="1m"][0]
lat=w["latency_ms"] or {"p50":-1,"p95":-1}
print(l["lines"], l["malformed"], l["unmatched"], l["rotations"], a["requests"], a["status"]["5xx"],
      a["status"]["2xx"], w["requests"], w["error_rate"], lat["p50"], lat["p95"])' "$NGINX_LOG"
}
field() { figures | cut -d' ' -f"$1"; }
field_is() { [ "$(field "$1")" = "$2" ]; }

# nginx's own /nginx-ok has no upstream: one such line proves tend reads the log (the file's
# content before tend opened it is skipped by design, so the mix must start after this).
curl -sf "$NGINX_URL/nginx-ok" >/dev/null || fail "nginx does not answer"
wait_for 10 field_is 3 1 || fail "tend does not read the access log: $(figures)"

# The mix: 200 requests; i%10==0 answers 500, i%10==5 waits 300 ms, the rest answer at once.
send_mix() { # FIRST COUNT
  python3 - "$NGINX_URL" "$1" "$2" <<'PY' || fail "sending the requests failed"
import sys, urllib.request, urllib.error
url, first, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(first, first + n):
    q = "status=500" if i % 10 == 0 else ("delay_ms=300" if i % 10 == 5 else "status=200")
    try:
        r = urllib.request.urlopen(f"{url}/work?{q}&i={i}", timeout=10)
        code = r.status
    except urllib.error.HTTPError as e:
        code = e.code
    want = 500 if i % 10 == 0 else 200
    if code != want:
        sys.exit(f"request {i}: {code}, expected {want}")
PY
}
send_mix 0 200
wait_for 10 field_is 5 200 || fail "tend counted $(field 5) requests for api, not 200: $(figures)"
read -r lines malformed unmatched rotations requests e5xx e2xx wreq werr p50 p95 <<<"$(figures)"
note "after 200: lines=$lines requests=$requests 5xx=$e5xx 2xx=$e2xx window=$wreq error_rate=$werr p50=${p50}ms p95=${p95}ms"
[ "$lines" = 201 ] || fail "lines: $lines, expected 201"
[ "$malformed" = 0 ] || fail "malformed: $malformed on a clean log"
[ "$unmatched" = 1 ] || fail "unmatched: $unmatched, expected 1 (nginx's own /nginx-ok)"
[ "$e5xx" = 20 ] && [ "$e2xx" = 180 ] || fail "status classes: 5xx=$e5xx 2xx=$e2xx"
[ "$wreq" = 200 ] || fail "the 1m window has $wreq requests, not 200"
python3 -c "import sys; r=float(sys.argv[1]); sys.exit(0 if abs(r-0.10)<0.005 else 1)" "$werr" ||
  fail "error rate $werr, expected 0.10"
# Half of the requests take a few ms at most; the slowest 10% take 300 ms, so p95 lies among them
# (a histogram bucket's width of slack either way; the machine may add some delay too).
python3 -c "import sys; sys.exit(0 if 0 <= float(sys.argv[1]) < 100 else 1)" "$p50" ||
  fail "p50 ${p50} ms, expected < 100 ms"
python3 -c "import sys; sys.exit(0 if 250 <= float(sys.argv[1]) <= 500 else 1)" "$p95" ||
  fail "p95 ${p95} ms, expected 250-500 ms"

# Prometheus: counters by class and the histogram of the same 200 requests.
api /metrics > prom.txt || fail "GET /metrics"
grep -q '^tend_http_requests_total{app="api",class="5xx"} 20$' prom.txt ||
  fail "no 5xx counter of 20: $(grep tend_http_requests_total prom.txt)"
grep -q '^tend_http_requests_total{app="api",class="2xx"} 180$' prom.txt ||
  fail "no 2xx counter of 180: $(grep tend_http_requests_total prom.txt)"
grep -q '^tend_http_request_duration_seconds_bucket{app="api",le="+Inf"} 200$' prom.txt ||
  fail "no +Inf bucket of 200: $(grep tend_http_request_duration prom.txt)"
grep -q '^tend_http_request_duration_seconds_count{app="api"} 200$' prom.txt ||
  fail "histogram count is not 200: $(grep tend_http_request_duration_seconds_count prom.txt)"
# Buckets are cumulative: 180 requests are fast, so a bucket at 0.1 s holds at least 180 and
# at most 180 (the 300 ms ones are above it) unless the machine stalled; at 1 s all 200.
python3 - prom.txt <<'PY' || fail "histogram buckets do not fit the mix: $(grep _bucket prom.txt)"
import re, sys
b = {}
for line in open(sys.argv[1]):
    m = re.match(r'tend_http_request_duration_seconds_bucket\{app="api",le="([^"]+)"\} (\d+)', line)
    if m:
        b[m.group(1)] = int(m.group(2))
assert len(b) >= 5, b
vals = [b[k] for k in sorted(b, key=lambda k: float("inf") if k == "+Inf" else float(k))]
assert vals == sorted(vals), b                      # cumulative
le = {float(k): v for k, v in b.items() if k != "+Inf"}
under_250 = max(v for k, v in le.items() if k <= 0.25)
at_1s = min(v for k, v in le.items() if k >= 1.0)
assert 170 <= under_250 <= 180, b                   # the fast 180 (a few may be slowed by load)
assert at_1s == 200, b
PY
grep -q '^tend_http_request_duration_seconds_sum{app="api"} ' prom.txt || fail "no histogram sum"
sum=$(sed -n 's/^tend_http_request_duration_seconds_sum{app="api"} //p' prom.txt)
python3 -c "import sys; s=float(sys.argv[1]); sys.exit(0 if 5.5 <= s <= 12 else 1)" "$sum" ||
  fail "latency sum $sum s, expected about 20 x 0.3 s = 6 s"

# Garbage lines are counted as malformed (an empty line is no line), and counting goes on.
printf 'this is not an access log line\n\n127.0.0.1 - - [bad date] "GET / HTTP/1.1" xyz 0\n%s\n' \
  "$(head -c 300 /dev/zero | tr '\0' x)" >> "$NGINX_LOG"
wait_for 10 field_is 2 3 || fail "3 garbage lines were not counted as malformed: $(figures)"
dp=$(daemon_pid); alive "$dp" || fail "the daemon died on garbage lines"

# Rotation as logrotate does it: rename, then ask nginx to reopen its log.
mv "$NGINX_LOG" "$NGINX_LOG.1"
/usr/sbin/nginx -p "$T/nginx/" -c "$T/nginx/nginx.conf" -s reopen 2>/dev/null ||
  kill -USR1 "$(cat "$T/nginx/nginx.pid")"
wait_for 10 test -e "$NGINX_LOG" || fail "nginx did not reopen its log"
send_mix 200 50
wait_for 10 field_is 5 250 || fail "after rotation tend counted $(field 5) requests, not 250: $(figures)"
read -r lines malformed unmatched rotations requests e5xx e2xx wreq werr p50 p95 <<<"$(figures)"
note "after rotation: lines=$lines malformed=$malformed rotations=$rotations requests=$requests 5xx=$e5xx"
[ "$rotations" -ge 1 ] || fail "no rotation counted"
[ "$e5xx" = 25 ] && [ "$e2xx" = 225 ] || fail "after rotation: 5xx=$e5xx 2xx=$e2xx, expected 25 and 225"
[ "$malformed" = 3 ] || fail "malformed changed to $malformed after rotation"
[ "$unmatched" = 1 ] || fail "unmatched changed to $unmatched after rotation"
[ "$lines" = 254 ] || fail "lines: $lines, expected 254 (201 + 3 garbage + 50)"
python3 -c "import sys; r=float(sys.argv[1]); sys.exit(0 if abs(r-0.10)<0.005 else 1)" "$werr" ||
  fail "error rate after rotation $werr, expected 0.10"
if grep -F "$NGINX_LOG" "$TEND_HOME/tend.log" | grep -Ei "error|cannot"; then
  fail "tend.log has an error about the access log"
fi
echo ok
