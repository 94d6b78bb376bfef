#!/usr/bin/env bash
# tests/soak/run.sh: `make soak`. A long run of the real binary under everything at once, then
# checks that nothing leaked, was lost or duplicated. Not part of CI (SOAK_MINUTES, default 30).
#
# The mix: web (4 instances on ports, ready: port) loaded by a bounded request loop; chatty
# (numbered lines flat out, 1M rotation, gzip); crashy (exits at once, forever); rel (reloaded
# every 60 s); extra (present in config A only: `tend up` alternates A and B every 3 minutes, so
# the tcp check on its port fails and the `extra-down` alert fires and resolves to a webhook
# receiver); http, tcp and disk checks; a files backup every 2 minutes with keep {last: 3}; the
# daemon SIGKILLed every 5 minutes and started again by `tend ping`. Every 10 s sample.py records
# the daemon's RSS, fds, CPU, process counts and `tend status` latency. At the end check.py
# asserts: no fd growth and bounded RSS (first vs last 5 minutes), every web instance exactly
# once and never restarted, no zombie or orphan, every backup verifies and restores, one
# webhook message per firing, no chatty line lost, duplicated or torn except what a SIGKILLed
# daemon held in memory, and prints the summary (also to $SOAK_RESULTS). Exit 1 on any
# violation. Everything started here is stopped by pid at the end, Ctrl-C included.
#
# Knobs: SOAK_MINUTES (30), TEND_BIN (./tend), SOAK_RESULTS (results file; default
# $S/results.txt), CHATTY_RATE (lines/s cap for chatty, 0 = flat out; default 20000),
# SOAK_KILL_EVERY, SOAK_UP_EVERY, SOAK_RELOAD_EVERY (seconds: 300, 180, 60; shorter for a quick
# try), SOAK_KEEP=1 keeps the whole work folder (by default only results and samples stay).
# Ports: 32600-32603 web, 32610-32611 rel, 32620 extra, 32650 webhook receiver.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
APPS=$ROOT/tests/e2e/apps
BIN=$(realpath "${TEND_BIN:-$ROOT/tend}")
[ -x "$BIN" ] || { echo "soak: $BIN is not built (make tend)" >&2; exit 2; }
MIN=${SOAK_MINUTES:-30}
SECS=$((MIN * 60))
KILL_EVERY=${SOAK_KILL_EVERY:-300} UP_EVERY=${SOAK_UP_EVERY:-180} RELOAD_EVERY=${SOAK_RELOAD_EVERY:-60}
S=$(mktemp -d /tmp/tend-soak.XXXXXX)
H=$S/home
RUN=$(basename "$S")
RESULTS=${SOAK_RESULTS:-$S/results.txt}
mkdir -p "$H" "$S/data/sub" "$S/backups" "$S/logs" && chmod 700 "$H"
: > "$S/actions.log"
: > "$S/violations"
HELPERS=()

t() { TEND_HOME=$H SOAK_RUN=$RUN NO_COLOR=1 "$BIN" "$@"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
act() { echo "$(now_ms) $*" >> "$S/actions.log"; }
violation() { echo "$*" >> "$S/violations"; echo "soak: VIOLATION: $*" >&2; }
say() { echo "soak: [$(( $(date +%s) - ${T0:-$(date +%s)} ))s] $*" >&2; }
# helpers run without SOAK_RUN, so the sampler does not count them as tend's processes
helper() { env -u SOAK_RUN "$@" & HELPERS+=($!); }
wait_for() { # wait_for SECONDS CMD...: poll every 100 ms
  local end=$(( $(date +%s) + $1 )); shift
  until "$@" >/dev/null 2>&1; do [ "$(date +%s)" -ge "$end" ] && return 1; sleep 0.1; done
}

# Processes of this run (environment has SOAK_RUN=$RUN), tend CLI calls left out.
ours() {
  local p a
  for p in $(grep -l -s -a "SOAK_RUN=$RUN" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3); do
    [ "$p" = $$ ] && continue
    a=$(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null) || continue
    case "$a" in "$BIN daemon"*|"$BIN __keeper"*) echo "$p";; "$BIN "*) ;; *) echo "$p";; esac
  done
}

STOPPED=0
cleanup() {
  local rc=$?
  trap '' INT TERM
  if [ "$STOPPED" = 0 ]; then
    touch "$S/stop"
    local dp; dp=$(cat "$H/tend.pid" 2>/dev/null)
    if [ -n "$dp" ] && kill -0 "$dp" 2>/dev/null; then TEND_HOME=$H timeout 70 "$BIN" kill >/dev/null 2>&1; fi
    local p; for p in "${HELPERS[@]}"; do kill "$p" 2>/dev/null; done
    for p in $(ours); do kill -9 "$p" 2>/dev/null; done
  fi
  [ "${SOAK_KEEP:-0}" = 1 ] || rm -rf "$H/logs" "$S/logs" "$S/backups" "$S/restore" "$S/data"
  echo "soak: work folder $S" >&2
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the configs: A has `extra`, B does not; everything else is identical ----------------------
for i in $(seq 1 20); do head -c 20000 /dev/urandom | base64 > "$S/data/f$i.txt"; done
echo "nested" > "$S/data/sub/n.txt"
config() { # config A|B
  cat <<EOF
logs:
  dir: $S/logs
  max_size: 1M
  keep: 200
metrics: {interval: 5s}
apps:
  - name: web
    argv: [python3, $APPS/web.py]
    instances: 4
    port: 32600
    ready: port
  - name: chatty
    argv: [python3, $HERE/chatty.py]
    env: {CHATTY_RATE: "${CHATTY_RATE:-20000}", CHATTY_PROGRESS: $S/chatty.progress}
  - name: crashy
    cmd: 'echo "crash at \$(date +%s.%N)"; sleep 0.1; exit 3'
    backoff: false
    max_restarts: 1000000
    log: {max_size: 64K, keep: 3}
  - name: rel
    argv: [python3, $APPS/web.py]
    instances: 2
    port: 32610
    ready: port
EOF
  [ "$1" = A ] && cat <<EOF
  - name: extra
    argv: [python3, $APPS/web.py]
    port: 32620
    ready: port
EOF
  cat <<EOF
checks:
  - name: web-http
    http: http://127.0.0.1:32600/
    interval: 5s
  - name: extra-port
    tcp: 127.0.0.1:32620
    interval: 2s
  - name: soak-disk
    disk: {path: $S, max: 99%}
    interval: 10s
alerts:
  - name: extra-down
    rule: check(extra-port).failing
    notify: hook
notifiers:
  - name: hook
    webhook: http://127.0.0.1:32650/hook
    group_wait: 1s
backups:
  - name: files
    files: [$S/data]
    schedule: "*/2 * * * *"
    keep: {last: 3}
    targets: [{local: $S/backups}]
EOF
}
config A > "$S/tend-A.yaml"
config B > "$S/tend-B.yaml"
cp "$S/tend-A.yaml" "$S/tend.yaml"

# ---- start ----------------------------------------------------------------------------------
T0=$(date +%s)
say "binary $BIN, $MIN minutes, work folder $S"
helper python3 "$HERE/hook.py" 32650 "$S/hooks.jsonl"
t up "$S/tend.yaml" > "$S/up-first.txt" 2>&1 || { cat "$S/up-first.txt" >&2; violation "first tend up failed"; exit 1; }
act up A 0
web_online() { [ "$(t status web --json | python3 -c 'import json,sys; print(sum(i["state"]=="online" for a in json.load(sys.stdin)["apps"] for i in a["instances"]))')" = 4 ]; }
wait_for 60 web_online || { violation "web not online after the first up"; exit 1; }
webpids() { t status web --json | python3 -c 'import json,sys; print(" ".join(str(i["pid"]) for a in json.load(sys.stdin)["apps"] for i in a["instances"]))'; }
WEBPIDS=$(webpids)
echo "$WEBPIDS" > "$S/webpids"
helper python3 "$HERE/load.py" 20 32600 32601 32602 32603 > "$S/load.txt"
helper python3 "$HERE/sample.py" "$BIN" "$H" "$RUN" "$S/samples.jsonl" "$S/stop" 10
helper python3 "$HERE/logcheck.py" "$S/logs" chatty-out "$S/logcheck.json" "$S/stop-logcheck"
LOGCHECK=${HELPERS[-1]}

# ---- the timeline ---------------------------------------------------------------------------
next_kill=$KILL_EVERY next_up=$((UP_EVERY / 2)) next_reload=$((RELOAD_EVERY / 3)) cfg=A kills=0
daemon_kill() {
  local dp; dp=$(cat "$H/tend.pid")
  kill -9 "$dp" && act kill "$dp"
  wait_for 10 bash -c "! kill -0 $dp" || violation "daemon $dp did not die of SIGKILL"
  local rc=0; t ping > /dev/null 2>&1 || rc=$?
  act restart "$(cat "$H/tend.pid" 2>/dev/null)" $rc
  [ $rc = 0 ] || { violation "tend ping did not start the daemon after kill $kills"; return; }
  wait_for 30 web_online || violation "web not all online after kill $kills"
  local p; p=$(webpids)
  [ "$p" = "$WEBPIDS" ] || violation "web pids changed after kill $kills: $WEBPIDS -> $p"
  kills=$((kills + 1))
  say "daemon $dp SIGKILLed, restarted as $(cat "$H/tend.pid"), apps adopted"
}
while :; do
  el=$(( $(date +%s) - T0 ))
  [ $el -ge $SECS ] && break
  if [ $el -ge $next_kill ]; then daemon_kill; next_kill=$((next_kill + KILL_EVERY)); fi
  if [ $el -ge $next_up ]; then
    cfg=$([ $cfg = A ] && echo B || echo A)
    cp "$S/tend-$cfg.yaml" "$S/tend.yaml.tmp" && mv "$S/tend.yaml.tmp" "$S/tend.yaml"
    rc=0; t up "$S/tend.yaml" > "$S/up-last.txt" 2>&1 || rc=$?
    act up $cfg $rc
    [ $rc = 0 ] || violation "tend up $cfg failed: $(tail -n 3 "$S/up-last.txt")"
    say "tend up config $cfg: exit $rc"
    next_up=$((next_up + UP_EVERY))
  fi
  if [ $el -ge $next_reload ]; then
    rc=0; t reload rel > "$S/reload-last.txt" 2>&1 || rc=$?
    act reload rel $rc
    [ $rc = 0 ] || violation "tend reload rel failed: $(tail -n 3 "$S/reload-last.txt")"
    next_reload=$((next_reload + RELOAD_EVERY))
  fi
  sleep 1
done
say "timeline done: $kills kills; collecting"

# ---- collect --------------------------------------------------------------------------------
echo "$cfg" > "$S/final-config"
t status --json > "$S/status-final.json" 2>&1 || violation "final status failed"
t alerts --json > "$S/alerts.json" 2>&1
t backup list files --json > "$S/backups.json" 2>&1 || violation "backup list failed"
python3 -c 'import json,sys; [print(b["id"]) for b in json.load(open(sys.argv[1]))["backups"]]' \
  "$S/backups.json" > "$S/backup-ids" 2>/dev/null || violation "cannot read the backup list"
: > "$S/backup-verify.txt"
while read -r id; do
  rc=0; t backup verify files "$id" >> "$S/backup-verify.txt" 2>&1 || rc=$?
  echo "$id $rc" >> "$S/backup-verified"
done < "$S/backup-ids"
if [ -s "$S/backup-ids" ]; then
  rc=0; t backup restore files --to "$S/restore" > "$S/restore.txt" 2>&1 || rc=$?
  diff -r "$S/data" "$S/restore/data" > "$S/restore-diff.txt" 2>&1 || rc=$((rc + 100))
  echo "$rc" > "$S/restore-rc"
fi
for m in "$S"/backups/*.json; do   # the manifests' checksums, with standard tools only
  [ -e "$m" ] || continue
  python3 - "$m" >> "$S/sha-check.txt" <<'EOF'
import hashlib, json, os, sys
m = json.load(open(sys.argv[1])); f = os.path.join(os.path.dirname(sys.argv[1]), m["file"])
print(m["file"], "ok" if hashlib.sha256(open(f, "rb").read()).hexdigest() == m["sha256"] else "BAD")
EOF
done
# stop the load, the sampler; stop chatty (it records its last line); kill the daemon
kill "${HELPERS[1]}" 2>/dev/null; wait "${HELPERS[1]}" 2>/dev/null
touch "$S/stop"; wait "${HELPERS[2]}" 2>/dev/null
t stop chatty > /dev/null 2>&1 || violation "tend stop chatty failed"
t stop crashy > /dev/null 2>&1
ps -eo pid,stat,ppid,args > "$S/ps-before-kill.txt"
zs=$(for p in $(ours); do awk '{print $3}' /proc/$p/stat 2>/dev/null | grep -q Z && echo "$p"; done)
[ -z "$zs" ] || violation "zombie processes at the end: $zs"
TEND_HOME=$H timeout 90 "$BIN" kill > /dev/null 2>&1 </dev/null; rc=$?
[ $rc = 0 ] || violation "tend kill failed (exit $rc)"
STOPPED=1
gone() { [ -z "$(ours)" ]; }
wait_for 15 gone || violation "processes left after tend kill (orphans): $(for p in $(ours); do tr '\0' ' ' < /proc/$p/cmdline; echo; done)"
for p in $(ours); do kill -9 "$p" 2>/dev/null; done
touch "$S/stop-logcheck"; wait "$LOGCHECK" 2>/dev/null
kill "${HELPERS[0]}" 2>/dev/null; wait "${HELPERS[0]}" 2>/dev/null

python3 "$HERE/check.py" "$S" "$MIN" | tee "$RESULTS"
rc=${PIPESTATUS[0]}
[ "$RESULTS" = "$S/results.txt" ] || cp "$RESULTS" "$S/results.txt"
exit "$rc"
