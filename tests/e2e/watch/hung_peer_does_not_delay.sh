#!/usr/bin/env bash
# timeout: 60
# One probe stuck on a peer that accepts and never answers does not hold up the others: an http
# check of a hung server (timeout 2s, interval 3s) fails with "no answer ... (timeout)" while a
# disk check at 1 s keeps running every second (its "last" time and run count keep advancing
# while the hung attempt waits for its deadline), and the API keeps answering.
. "$(dirname "$0")/../lib.sh"
. "$E2E/watch/helpers.bash"
"$PY3" "$E2E/watch/hung_server.py" "$T/hung.port" &
echo $! >> "$T/pids"
wait_for 10 test -s "$T/hung.port" || fail "the hung server did not start"
port=$(cat "$T/hung.port")

cat > tend.yaml <<YAML
checks:
  - name: hung
    http: http://127.0.0.1:$port/health
    interval: 3s
    timeout: 2s
  - name: disk
    disk: /
    interval: 1s
    timeout: 500ms
YAML
tend up tend.yaml >/dev/null || fail "tend up"
wait_for 15 check_is hung failing || fail "check hung not failing: $(check hung message)"
msg=$(check hung message)
note "hung: $msg"
grep -q "127.0.0.1:$port" <<<"$msg" || fail "message does not name the peer: $msg"
grep -q "timeout" <<<"$msg" || fail "message does not say it timed out: $msg"
grep -Eq "within 2 ?s" <<<"$msg" || fail "message does not give the timeout: $msg"
lat=$(check hung latency_ms)
[ "$lat" -ge 1900 ] && [ "$lat" -lt 4000 ] || fail "latency of a timed-out attempt: $lat ms"
check_is disk ok || fail "disk check: $(check disk message)"

# Watch for 7 s (two and more hung attempts of 2 s each): every 0.25 s, note the disk check's
# "last" (seconds) and runs, the hung check's failed runs, and how long the API took to answer.
api /v1/checks > /dev/null
python3 - "$TEND_HOME/tend.sock" > watch.txt <<'PY' || fail "watching the checks: $(cat watch.txt)"
import json, socket, sys, time
def checks():
    s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])
    s.sendall(b"GET /v1/checks HTTP/1.1\r\nHost: tend\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        b = s.recv(65536)
        if not b: break
        data += b
    s.close()
    return {c["name"]: c for c in json.loads(data.split(b"\r\n\r\n", 1)[1])["checks"]}
t0 = time.time(); rows = []; slowest = 0
while time.time() - t0 < 7:
    a = time.time(); c = checks(); slowest = max(slowest, time.time() - a)
    rows.append((time.time() - t0, c["disk"]["last"], c["disk"]["runs"], c["hung"]["failed_runs"]))
    time.sleep(0.25)
longest, since, prev = 0, rows[0][0], rows[0][1]
for t, last, _, _ in rows:
    if last != prev: since, prev = t, last
    longest = max(longest, t - since)
print("disk runs +%d, hung failed runs +%d, longest stretch with the same disk 'last': %.2f s, "
      "slowest answer of the API: %.2f s"
      % (rows[-1][2] - rows[0][2], rows[-1][3] - rows[0][3], longest, slowest))
PY
note "$(cat watch.txt)"
read -r druns hruns longest slowest < <(sed -E 's/disk runs \+([0-9]+), hung failed runs \+([0-9]+), [^:]*: ([0-9.]+) s, [^:]*: ([0-9.]+) s/\1 \2 \3 \4/' watch.txt)
[ "$hruns" -ge 2 ] || fail "the hung check should have timed out twice in 7 s: $(cat watch.txt)"
[ "$druns" -ge 5 ] || fail "the disk check ran only $druns times in 7 s beside the hung one"
python3 -c "import sys; sys.exit(not $longest < 2.6)" ||
  fail "the disk check stood still for $longest s while the hung one waited"
# A daemon loop blocked by the hung connect would also hold the API up to 2 s.
python3 -c "import sys; sys.exit(not $slowest < 1.8)" ||
  fail "the API took $slowest s to answer while the hung check waited"
check_is hung failing || fail "hung check no longer failing"
check_is disk ok || fail "disk check: $(check disk message)"
echo ok
