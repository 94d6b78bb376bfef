#!/usr/bin/env bash
# DESIGN invariants 2 and 3 against stalled readers: while a `tend logs --follow` client is
# SIGSTOPped and a raw API client holds a follow stream open without reading, an app pushes
# 50 MB through its stdout. The app's longest single write() stays bounded (it measures it
# itself), `tend status` keeps answering, the daemon's RSS does not grow with what the readers
# fail to take (log-stream buffers are bounded), and the daemon cuts both stalled streams once
# they took nothing for 10 s: after SIGCONT the CLI ends with an error saying the stream ended,
# the raw client reads EOF after far less than 50 MB, and the daemon's log says why. A third
# follower, stopped for a second only, is not cut: it is told how many lines it missed
# ("[tend] N lines skipped here") and goes on following.
# timeout: 150
. "$(dirname "$0")/../e2e/lib.sh"
# Under `make asan` everything runs ~3x slower, so time bounds scale; ASan's quarantine keeps
# freed memory resident, so it is turned off for the daemon (started below by the CLI).
slow=1
if grep -q __asan_init "$TEND_BIN" 2>/dev/null; then
  slow=3
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0:thread_local_quarantine_size_kb=0"
fi
cat > flood.py <<'EOF'
import os, sys, time
stat, go, total = sys.argv[1], sys.argv[2], int(sys.argv[3])
def report(done, worst):
    with open(stat + ".tmp", "w") as f:
        f.write("%d %.3f\n" % (done, worst))
    os.rename(stat + ".tmp", stat)
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.05)
chunk, n, done, worst, last = b"", 0, 0, 0.0, 0.0
while done < total:
    lines = b"".join(b"line %d %s\n" % (n + k, b"y" * 60) for k in range(100))
    n += 100
    view = memoryview(lines)
    while view:
        t0 = time.monotonic()
        k = os.write(1, view)
        worst = max(worst, time.monotonic() - t0)
        view, done = view[k:], done + k
    now = time.monotonic()
    if now - last > 0.1:
        report(done, worst); last = now
report(done, worst)
print("done", flush=True)
t = 0
while True:  # a trickle: followers keep being served (and judged) after the flood
    t += 1
    print("tick %d" % t, flush=True)
    time.sleep(0.2)
EOF
cat > tend.yaml <<EOF
apps:
  - name: flood
    argv: [python3, $W/flood.py, $W/stat, $W/go, "50000000"]
    log:
      max_size: 20M
      keep: 1
      compress: false
      rotate: none
EOF
tend up tend.yaml >/dev/null || fail "tend up failed"
wait_for 20 grep -q ready "$TEND_HOME/logs/flood-out.log" || fail "the app did not start"

# Reader 1: the CLI, following, then stopped.
"$TEND_BIN" logs flood --follow > follow.out 2> follow.err & # not the tend() function: $! must be the CLI itself, for SIGSTOP
cli=$!
echo "$cli" >> "$T/pids"
wait_for 10 grep -q ready follow.out || fail "the follow client got nothing"
kill -STOP "$cli"
# Reader 3: the CLI again, stopped for a second during the flood only.
"$TEND_BIN" logs flood --follow > slow.out 2> slow.err &
slowcli=$!
echo "$slowcli" >> "$T/pids"
wait_for 10 grep -q ready slow.out || fail "the second follow client got nothing"
kill -STOP "$slowcli"
# Reader 2: a raw client on the API socket that reads the head of the answer, then never again.
python3 - "$TEND_HOME/tend.sock" "$W/raw" <<'EOF' &
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(sys.argv[1])
s.sendall(b"GET /v1/logs?app=flood&follow=1 HTTP/1.1\r\nHost: tend\r\n\r\n")
got = b""
while b"ready" not in got:
    got += s.recv(4096)
open(sys.argv[2] + ".subscribed", "w").close()
while not os.path.exists(sys.argv[2] + ".read"):  # stalled: never reads until told
    time.sleep(0.05)
s.settimeout(10)
n, eof = len(got), False
try:
    while True:
        b = s.recv(65536)
        if not b:
            eof = True
            break
        n += len(b)
except OSError:
    pass
open(sys.argv[2], "w").write("%d %s\n" % (n, "eof" if eof else "open"))
EOF
raw=$!
echo "$raw" >> "$T/pids"
wait_for 10 test -e "$W/raw.subscribed" || fail "the raw client got no answer"

dp=$(daemon_pid)
rss() { awk '/^VmRSS/ {print $2}' "/proc/$dp/status"; }
rss0=$(rss)
touch go
sleep 1 # the second follower's stall: a second of the flood passes it by
kill -CONT "$slowcli"
# While 50 MB flow past the stalled readers, status answers in bounded time.
worst_status=0
for _ in $(seq 1 10); do
  t0=$(date +%s%N)
  tend status >/dev/null || fail "status failed while the readers are stalled"
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  [ "$ms" -gt "$worst_status" ] && worst_status=$ms
  sleep 0.2
done
finished() { grep -q ': done$' "$TEND_HOME/logs/flood-out.log"; }
wait_for 90 finished || fail "the app did not get 50 MB out: $(cat stat)"
rss1=$(rss)
read -r bytes worst < stat
note "app wrote $bytes bytes; longest write() $worst s; worst status ${worst_status} ms; daemon RSS ${rss0} -> ${rss1} KiB"
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 2.0 * $slow else 1)" "$worst" \
  || fail "the app was blocked $worst s in one write"
[ "$worst_status" -lt $((2000 * slow)) ] || fail "status took $worst_status ms while readers were stalled"
[ $((rss1 - rss0)) -lt 20480 ] || fail "daemon RSS grew from $rss0 to $rss1 KiB"

# The stalled streams were cut; the daemon says so.
wait_for $((30 * slow)) grep -q "a log follower took nothing for 10 s" "$TEND_HOME/tend.log" ||
  fail "the daemon did not cut a stalled stream"
kill -CONT "$cli"
wait_for 20 bash -c "! kill -0 $cli" || fail "the follow client still hangs after SIGCONT"
wait "$cli"; rc=$?
note "follow client: exit $rc, $(wc -l < follow.out) lines, stderr: $(head -c 300 follow.err)"
[ "$rc" -ne 0 ] || fail "the follow client ended with success although its stream was cut"
[ -s follow.err ] || fail "the follow client was not told its stream ended"
touch raw.read
wait "$raw"
read -r got state < raw
note "raw client: $got bytes, $state"
[ "$state" = eof ] || fail "the raw client's stream was not closed"
[ "$got" -lt 20000000 ] || fail "the raw client was sent $got bytes: the daemon buffered for it"
# The daemon and the app are fine afterwards.
tend status >/dev/null || fail "status after the test"
[ "$(inst_field flood 0 state)" = online ] || fail "the app is not online"
# The follower that was slow for a second only was told what it missed and is still following.
grep -q '\[tend\] [0-9]* lines skipped here' slow.out || fail "the slow follower was not told it missed lines"
alive "$slowcli" || fail "the slow follower was cut: $(cat slow.err)"
wait_for $((10 * slow)) grep -q '^flood:0 tick' slow.out || fail "the slow follower stopped getting lines"
note "slow follower: $(grep -c . slow.out) lines, $(grep 'lines skipped here' slow.out | head -n 3 | tr '\n' ' ')"
kill "$slowcli"
