#!/usr/bin/env bash
# DESIGN invariant 5 under load: the daemon is SIGKILLed while apps stream logs and two rolling
# reloads are half done (a 3-instance `ready: port` app replaced in place, slow to listen, and a
# 2-instance app without a port whose replacement runs beside the old instance). While it is
# down no app dies (the ticker, blocked on its full pipe, is not killed by SIGPIPE). The next
# daemon finds every instance exactly once: the processes carrying this test's marker are
# exactly the instances `status` and state.json list (no duplicate, no orphaned replacement, no
# zombie; the replacement still starting is adopted as starting, online only once it listens),
# no port is bound twice, every web instance serves on its port, capture resumes with
# the ticker's numbering intact after the restart, and new reloads run (nothing is stuck).
# timeout: 200
. "$(dirname "$0")/../e2e/lib.sh"
mark=sigkill-reload-$$-$RANDOM
cat > ticker.py <<'EOF'
import sys, time
i = 0
while True:
    i += 1
    sys.stdout.write("tick %d\n" % i)
    if i % 200 == 0:
        sys.stdout.flush()
        time.sleep(0.01)
EOF
cat > pool.py <<'EOF'
import signal, sys, time
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
print("pool up", flush=True)  # then quiet: an orphan of it would live on unnoticed
while True:
    time.sleep(1)
EOF
cat > slowweb.py <<'EOF'
import json, os, signal, sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
try:  # seconds before listening, read at start: the test makes replacements slow
    time.sleep(float(open(sys.argv[1]).read()))
except OSError:
    pass
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"pid": os.getpid()}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
EOF
cat > tend.yaml <<EOF
apps:
  - name: web
    argv: [python3, $W/slowweb.py, $W/delay]
    instances: 3
    port: 32000
    env: {FAULT_MARK: $mark}
    ready: port
    ready_timeout: 90s
    kill_timeout: 3s
  - name: pool
    argv: [python3, $W/pool.py]
    instances: 2
    min_uptime: 90s
    env: {FAULT_MARK: $mark}
  - name: ticker
    argv: [python3, $W/ticker.py]
    env: {FAULT_MARK: $mark}
EOF
tend up tend.yaml >/dev/null || fail "tend up failed"
wait_for 30 all_online web 3 || fail "web not online"
wait_for 20 all_online pool 2 || fail "pool not online"
log=$TEND_HOME/logs/ticker-out.log
wait_for 10 grep -q "tick 2000$" "$log" || fail "no ticks"

# Processes of this test: every pid whose environment carries the marker (one python pass),
# optionally only those whose command line contains $1.
marked() { python3 - "$mark" "${1:-}" <<'PY'
import os, sys
want = ("FAULT_MARK=" + sys.argv[1]).encode()
for p in os.listdir("/proc"):
    if p.isdigit():
        try:
            if want in open("/proc/%s/environ" % p, "rb").read().split(b"\0") and \
               sys.argv[2].encode() in open("/proc/%s/cmdline" % p, "rb").read(): print(p)
        except OSError: pass
PY
}
marked > "$T/pids" # recorded so cleanup kills whatever this test leaves, even orphans
status_pids() { status_json | python3 -c '
import json,sys
for a in json.load(sys.stdin)["apps"]:
    for x in a["instances"]:
        if x["pid"]: print(x["pid"])'; }
pt=$(inst_field ticker 0 pid)

# Kill in the middle of both reloads: pool's replacement for instance 0 runs beside the old
# one (it must stay up min_uptime before the swap), and web's first replacement takes 20 s to
# listen: wide windows, so a loaded machine cannot make the kill miss them.
echo 20 > delay
npool() { marked pool.py | wc -l; }
pool_spare() { [ "$(npool)" -ge 3 ]; }
tend reload pool >/dev/null 2>&1 &
echo $! >> "$T/pids"
wait_for 30 pool_spare || fail "no pool replacement started"
tend reload web >/dev/null 2>&1 &
echo $! >> "$T/pids"
web_starting() { [ "$(count_state web starting)" -ge 1 ]; }
wait_for 30 web_starting || fail "no web replacement started"
dp=$(daemon_pid)
kill -9 "$dp"
wait_for 5 bash -c "! kill -0 $dp" || fail "daemon did not die"
echo 0 > delay
marked >> "$T/pids"
t_kill=$(tail -n 1 "$log" | awk '{print $NF}')
# What the dead daemon last recorded (a stopping instance may exit by itself).
running() { python3 -c '
import json,sys
for a in json.load(open(sys.argv[1]))["apps"]:
    for x in a["instances"]:
        if x["pid"]: print(a["name"], x["index"], x["state"], x["pid"])' "$TEND_HOME/state.json"; }
running > "$T/at_kill"
note "recorded at the kill:"; sed 's/^/#   /' "$T/at_kill"
grep -Eq "^web [0-9] (starting|stopping)" "$T/at_kill" || fail "the kill did not land during web's reload"
[ "$(npool)" -eq 3 ] || fail "the kill did not land while pool's replacement ran ($(npool) pool processes)"
# While the daemon is down: the ticker fills its pipe and must block, not die.
sleep 2
marked >> "$T/pids"
alive "$pt" || fail "the ticker died while the daemon was down (SIGPIPE?)"
while read -r _ _ st p; do [ "$st" = stopping ] || alive "$p" ||
  fail "app pid $p died while the daemon was down"; done < "$T/at_kill"
[ "$(npool)" -eq 3 ] || fail "a pool process died while the daemon was down"

tend status >/dev/null 2>&1 || fail "status did not restart the daemon"
marked >> "$T/pids"
[ "$(daemon_pid)" != "$dp" ] || fail "no new daemon"
# The replacement that was starting is adopted as starting, not online: status never calls a
# web instance online while its port is closed.
for i in 0 1 2; do
  st=$(inst_field web $i state)
  [ "$st" != online ] || curl -fsS "http://127.0.0.1:$((32000 + i))/" >/dev/null \
    || fail "web:$i is reported online after the restart but does not serve"
  note "web:$i is $st after the restart"
done
# Settled: 3 web and 2 pool online, and the marked processes are exactly the instances.
settled() {
  all_online web 3 && all_online pool 2 && all_online ticker 1 || return 1
  [ "$(marked | sort -n)" = "$(status_pids | sort -n)" ]
}
if ! wait_for 30 settled; then
  note "marked processes:"; for p in $(marked); do
    echo "#  $p ppid=$(awk '{print $4}' /proc/$p/stat) $(tr '\0' ' ' < /proc/$p/cmdline)"; done
  note "status pids: $(status_pids | tr '\n' ' ')"
  fail "not one process per instance after the restart"
fi
[ "$(inst_field ticker 0 pid)" = "$pt" ] || fail "the ticker was not adopted with its pid"

# No port bound twice: one listener on each web port, and each one serves.
for port in 32000 32001 32002; do
  n=$(ss -Hltn "sport = :$port" | wc -l)
  [ "$n" -eq 1 ] || fail "port $port has $n listeners"
  wait_for 40 curl -fsS "http://127.0.0.1:$port/" || fail "port $port does not serve"
  owner=$(curl -fsS "http://127.0.0.1:$port/" | jget '["pid"]')
  [ "$owner" = "$(inst_field web $((port - 32000)) pid)" ] \
    || fail "port $port is served by pid $owner, not by web:$((port - 32000))"
done
# state.json says the same as status.
json_pids() { python3 -c '
import json,sys
for a in json.load(open(sys.argv[1]))["apps"]:
    for x in a["instances"]:
        if x["pid"]: print(x["pid"])' "$TEND_HOME/state.json"; }
status_pids | sort -n > "$T/sp"
statejson_ok() { json_pids | sort -n > "$T/jp"; cmp -s "$T/sp" "$T/jp"; }
wait_for 5 statejson_ok || fail "state.json pids ($(tr '\n' ' ' < "$T/jp")) differ from status ($(tr '\n' ' ' < "$T/sp"))"
# No zombie among the children of the daemon, of the keeper or of the apps.
parents=" $(daemon_pid) $(pgrep -f "__keeper $TEND_HOME/" | tr '\n' ' ') $(marked | tr '\n' ' ') "
for f in /proc/[0-9]*/stat; do
  { read -r p _ st pp _ < "$f"; } 2>/dev/null || continue
  [ "$st" = Z ] && case $parents in *" $pp "*) fail "zombie $p (parent $pp)";; esac
done

# Capture resumed: the ticker's numbers go on past where they were at the kill, and every line
# written after the restart is there, in order (a line read but not yet written when the daemon
# died may be lost: at most one gap, at the kill).
more() { [ "$(tail -n 1 "$log" | awk '{print $NF}')" -gt $((t_kill + 20000)) ]; }
wait_for 20 more || fail "output capture did not resume after the restart"
gaps=$(grep -o 'tick [0-9]*$' "$log" | awk '{print $2}' | awk '
  NR > 1 && $1 != prev + 1 { g++; lost += $1 - prev - 1 } { prev = $1 } END { print g + 0, lost + 0 }')
note "ticker numbering: gaps, lines lost at the kill: $gaps"
[ "${gaps%% *}" -le 1 ] || fail "ticker lines lost or reordered: $gaps (gaps, lines)"

# Nothing is left of the interrupted reloads: a new one runs to the end for both apps.
tend reload web >/dev/null || fail "a reload of web after the restart failed"
wait_for 20 settled || fail "not one process per instance after reloading web again"
tend reload pool:1 >/dev/null 2>&1 &
echo $! >> "$T/pids"
wait_for 30 pool_spare || fail "a new reload of pool did not start"
