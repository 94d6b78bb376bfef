#!/usr/bin/env bash
# API clients that misbehave, on both doors (the unix socket and the TCP door), leave the daemon
# unaffected (DESIGN invariant 2; api/http.c's limits). Proves, with tests/faults/api_client.py:
# (a) 50 clients per door that connect and send nothing are held without blocking anyone (new
#     clients are served meanwhile) and are closed by the daemon's idle timeout (30 s, no knob);
# (c) a slowloris per door, sending its headers one byte a second, is cut by the same timeout
#     (it bounds the whole request, not the gap between bytes);
# (b) 1 MB of headers is answered 431 and the connection closed;
# (e) a 2 MB body announced by Content-Length, and a chunked body past 1 MiB, are answered 413
#     and the connection closed;
# (d) 20 log followers SIGKILLed mid-stream while an app writes flat out (yes), three rounds: 10
#     curl -N following that app (5 per door; no reader keeps up with yes: the daemon skips
#     lines for it past 512 KiB unsent and says how many), 10 following a steady app (5 `tend
#     logs --follow`, 5 curl on TCP), all of which must still be streaming when killed. One
#     follower per door that stops reading is cut once it took nothing for 10 s. RSS stays
#     bounded over the rounds.
# After each: `tend status` and the TCP door answer promptly, the daemon is the same process,
# and its fd count returns to the baseline (no leaked connection).
# timeout: 200
. "$(dirname "$0")/../e2e/lib.sh"
PY3=$(command -v /usr/bin/python3 || command -v python3)
CLIENT=$ROOT/tests/faults/api_client.py
PORT=32220
cat > tend.yaml <<EOF
api:
  listen: 127.0.0.1:$PORT
apps:
  - name: flood
    argv: [yes, "flood: a line written flat out by yes, over and over, to fill the pipe"]
    log: {max_size: 4M, keep: 2, compress: false}
  - name: ticker
    cmd: 'i=0; while :; do i=\$((i+1)); echo "tick \$i"; [ \$((i % 20)) = 0 ] && sleep 0.01; done'
    log: {max_size: 4M, keep: 2, compress: false}
EOF
tend up tend.yaml >/dev/null || fail "tend up failed"
tend stop flood ticker >/dev/null || fail "tend stop failed"
TOKEN=$(cat "$TEND_HOME/token")
SOCK=$TEND_HOME/tend.sock
DOORS=("unix:$SOCK" "tcp:$PORT")
dp=$(daemon_pid)

fds() { ls "/proc/$dp/fd" | wc -l; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$dp/status"; }
min_fds() { # the smallest fd count over 1 s
  local m=100000 f i
  for i in 1 2 3 4 5 6 7 8 9 10; do f=$(fds); [ "$f" -lt $m ] && m=$f; sleep 0.1; done
  echo $m
}
# served LABEL: `tend status` on the socket and GET /v1/status on the TCP door both answer, and
# the daemon is the same process; records the slowest answers. Bounds are wide, for a hang (a
# loop blocked by these clients would show as their 30 s idle timeout): on a loaded 2-core
# machine an ASan build's `tend --version` alone has taken 2 s, so the CLI gets 10 s, curl 5 s.
worst=0 worst_cli=0
served() {
  local s ms
  alive "$dp" || fail "$1: the daemon died"
  s=$(date +%s%N)
  tend status >/dev/null || fail "$1: tend status failed"
  ms=$(( ($(date +%s%N) - s) / 1000000 )); [ $ms -gt $worst_cli ] && worst_cli=$ms
  [ $ms -lt 10000 ] || fail "$1: tend status took $ms ms"
  s=$(date +%s%N)
  curl -sf --max-time 5 -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/v1/status" \
    >/dev/null || fail "$1: the TCP door did not answer"
  ms=$(( ($(date +%s%N) - s) / 1000000 )); [ $ms -gt $worst ] && worst=$ms
  [ $ms -lt 5000 ] || fail "$1: the TCP door took $ms ms"
  [ "$(daemon_pid)" = "$dp" ] || fail "$1: the daemon was replaced"
}
# back LABEL BASE: the fd count returns to BASE (+1: a CLI's own connection may be in flight).
back() {
  at_base() { [ "$(fds)" -le $(($2 + 1)) ]; }
  wait_for 15 at_base "$1" "$2" || fail "$1: daemon fds $(fds), baseline $2: a connection leaked"
}

served baseline
base=$(min_fds)
note "baseline: daemon fds $base, RSS $(rss_kb) KiB"

# (a) + (c): 50 silent clients and one slowloris per door, all at once.
"$PY3" "$CLIENT" idle "${DOORS[@]}" --n 50 --slowloris --ready "$W/idle.ready" \
  --out "$W/idle.json" --max 60 &
echo $! >> "$T/pids"
wait_for 20 test -s "$W/idle.ready" || fail "the idle clients did not connect"
t_idle=$(date +%s)
held() { [ "$(fds)" -ge $((base + 100)) ]; }
wait_for 10 held || fail "the daemon holds $(fds) fds, not the 102 clients over $base"
note "with 102 silent clients: daemon fds $(fds)"
for i in 1 2 3 4 5; do served "while 102 clients idle"; sleep 1; done
wait_for 60 test -s "$W/idle.json" || fail "the idle clients were not all closed within 60 s"
note "idle clients: $(cat "$W/idle.json")"
read -r n closed first last got sn sclosed slast < <("$PY3" -c '
import json,sys
d=json.load(open(sys.argv[1])); i,s=d["idle"],d["slowloris"]
print(i["n"],i["closed"],i["first_s"],i["last_s"],i["got_bytes"],s["n"],s["closed"],s["last_s"])' "$W/idle.json")
[ "$n" = 100 ] && [ "$closed" = 100 ] || fail "$closed of $n idle clients closed by the daemon"
"$PY3" -c "import sys; sys.exit(not (25 <= $first and $last <= 45))" ||
  fail "idle clients closed after $first..$last s, not by the 30 s idle timeout"
[ "$got" = 0 ] || fail "idle clients were sent $got bytes"
[ "$sn" = 2 ] && [ "$sclosed" = 2 ] || fail "$sclosed of $sn slowloris clients closed"
"$PY3" -c "import sys; sys.exit(not $slast <= 45)" || fail "a slowloris lasted $slast s"
served "after the idle clients"
back "after the idle clients" "$base"

# (b) 1 MB of headers: 431, then closed.
for d in "${DOORS[@]}"; do
  read -r st cl < <("$PY3" "$CLIENT" big-headers "$d" --token "$TOKEN" --size 1048576)
  note "1 MB of headers on ${d%%:*}: HTTP $st, closed ${cl} s after"
  [ "$st" = 431 ] || fail "1 MB of headers on $d answered $st, not 431"
  [ "$cl" != -1 ] || fail "the connection stayed open after the 431 on $d"
done
served "after the huge headers"
back "after the huge headers" "$base"

# (e) bodies past 1 MiB: 413, then closed.
for d in "${DOORS[@]}"; do
  for m in length chunked; do
    read -r st cl < <("$PY3" "$CLIENT" big-body "$d" --token "$TOKEN" --size 2097152 --mode $m)
    note "2 MB body ($m) on ${d%%:*}: HTTP $st, closed ${cl} s after"
    [ "$st" = 413 ] || fail "a 2 MB body ($m) on $d answered $st, not 413"
    [ "$cl" != -1 ] || fail "the connection stayed open after the 413 ($m) on $d"
  done
done
served "after the huge bodies"
back "after the huge bodies" "$base"

# (d) followers SIGKILLed mid-stream, and stalled ones, while flood writes flat out, three rounds.
# Each stream holds at most ~512 KiB unsent (more in RSS: one write request per line), and glibc keeps
# freed memory, so RSS rises to the largest number of streams behind at once (~30 MiB for 22,
# varying from round to round) and stays there; streams leaked whole would add that much again
# per round.
tend start flood ticker >/dev/null || fail "tend start flood ticker failed"
grows() { [ "$(stat -c %s "$TEND_HOME/logs/flood-out.log" 2>/dev/null || echo 0)" -gt 1000000 ]; }
wait_for 20 grows || fail "flood does not write"
served "with flood running"
base_flood=$(min_fds)
followers() {
  local r=$1 i d k running pids=() files=()
  rm -f "$W"/*.out "$W"/stall-*
  for i in $(seq 1 5); do
    curl -sN --unix-socket "$SOCK" "http://tend/v1/logs?app=flood&follow=1" > "$W/fu$i.out" 2>&1 &
    pids+=($!) files+=("20000:$W/fu$i.out")
    curl -sN -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/v1/logs?app=flood&follow=1" \
      > "$W/ft$i.out" 2>&1 &
    pids+=($!) files+=("20000:$W/ft$i.out")
  done
  for i in $(seq 1 5); do
    "$TEND_BIN" logs ticker --follow > "$W/tu$i.out" 2>&1 &
    pids+=($!) files+=("4000:$W/tu$i.out")
    curl -sN -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/v1/logs?app=ticker&follow=1" \
      > "$W/tt$i.out" 2>&1 &
    pids+=($!) files+=("4000:$W/tt$i.out")
  done
  printf '%s\n' "${pids[@]}" >> "$T/pids"
  for d in "${DOORS[@]}"; do
    "$PY3" "$CLIENT" stall-follow "$d" --token "$TOKEN" --app flood --max 20 \
      --ready "$W/stall-${d%%:*}.ready" --out "$W/stall-${d%%:*}.out" &
    echo $! >> "$T/pids"
  done
  # Kill each follower as soon as it has some lines (20 KB of flood, 4 KB of ticker), counting
  # those still streaming at that moment (a follower that falls behind yes is skipped lines,
  # not cut, but may still be counted as gone if it was mid-way), all of ticker's.
  local pairs=() left fr fl
  for k in 0 1 2 3 4 5 6 7 8 9; do pairs+=("${pids[$k]}:${files[$k]}"); done
  read -r fr fl < <("$PY3" "$CLIENT" kill-at "${pairs[@]}" --max 30)
  pairs=()
  for k in 10 11 12 13 14 15 16 17 18 19; do pairs+=("${pids[$k]}:${files[$k]}"); done
  read -r running left < <("$PY3" "$CLIENT" kill-at "${pairs[@]}" --max 30)
  wait "${pids[@]}" 2>/dev/null
  [ "$fl" = 0 ] || fail "round $r: $fl followers of flood got less than 20 KB in 30 s"
  [ "$left" = 0 ] || fail "round $r: $left followers of ticker got less than 4 KB in 30 s"
  note "round $r: followers still streaming when killed: $fr of 10 on flood, $running of 10" \
    "on ticker; $(cat "$W"/*.out | wc -c) bytes received in all"
  [ "$running" = 10 ] || fail "round $r: only $running of 10 ticker followers were still streaming"
  served "round $r: after 20 followers were killed mid-stream"
  for d in "${DOORS[@]}"; do
    wait_for 40 test -s "$W/stall-${d%%:*}.out" || fail "round $r: the stalled follower on $d did not finish"
    note "round $r: stalled follower on ${d%%:*}: $(cat "$W/stall-${d%%:*}.out")"
    grep -q '^closed' "$W/stall-${d%%:*}.out" ||
      fail "round $r: the daemon kept streaming to a stalled follower on $d"
  done
  served "round $r: after the stalled followers"
  back "round $r: after the followers" "$base_flood"
}
rss=$(rss_kb)
for r in 1 2 3; do followers $r; rss="$rss $(rss_kb)"; done
note "daemon RSS (KiB) with flood before the followers, then after each round: $rss"
set -- $rss
if grep -q __asan_init "$TEND_BIN"; then
  note "ASan build: RSS not compared (freed memory waits in ASan's quarantine)"
else
  [ $(($4 - $1)) -lt 49152 ] || fail "daemon RSS grew $1 -> $4 KiB over three rounds of 22 followers"
fi
tend stop flood ticker >/dev/null || fail "tend stop flood ticker failed"
back "after the apps stopped" "$base"
note "slowest tend status: $worst_cli ms; slowest GET /v1/status on the TCP door: $worst ms;" \
  "daemon fds at the end: $(fds)"
echo ok
