#!/usr/bin/env bash
# The daemon runs valgrind-clean (no errors, no definitely-lost bytes) through a scenario that
# exercises every module: apply, crash and restart, logs and follow, status, reload, stop,
# events, save, a bad config, then `tend kill`.
# timeout: 240
. "$(dirname "$0")/../e2e/lib.sh"
command -v valgrind >/dev/null || fail "valgrind is required (scripts/deps.sh installs it)"
BIN=$ROOT/tend   # the plain build: valgrind cannot run an ASan binary
[ -x "$BIN" ] || fail "$BIN is not built"
valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \
  --track-fds=no --log-file="$T/vg.log" "$BIN" daemon > "$T/daemon.out" 2>&1 &
vg=$!
echo $vg >> "$T/pids"
wait_for 60 curl -fs --unix-socket "$TEND_HOME/tend.sock" http://t/v1/ping || fail "daemon under valgrind did not start: $(cat $T/daemon.out)"
cat > tend.yaml <<EOF
apps:
  - name: web
    argv: [python3, $APPS/web.py]
    instances: 2
    port: 31600
    ready: port
  - name: crashy
    cmd: 'echo boom; sleep 0.3; exit 2'
    max_restarts: 3
    backoff: false
EOF
"$BIN" up tend.yaml >/dev/null || fail "up"
wait_for 60 all_online web 2 || fail "web not online"
curl -fsS http://127.0.0.1:31600/ >/dev/null || fail "web"
"$BIN" logs --lines 5 >/dev/null || fail "logs"
timeout 2 "$BIN" logs web --follow >/dev/null
"$BIN" reload web >/dev/null || fail "reload"
"$BIN" describe web >/dev/null && "$BIN" env web >/dev/null || fail "describe/env"
"$BIN" events --json >/dev/null || fail "events"
"$BIN" save >/dev/null || fail "save"
echo "apps: [{name: x, instnaces: 2}]" > bad.yaml
"$BIN" up bad.yaml >/dev/null 2>&1 && fail "bad config accepted"
"$BIN" stop crashy >/dev/null
"$BIN" kill >/dev/null || fail "kill"
wait $vg; rc=$?
[ $rc -eq 0 ] || fail "valgrind reported errors (exit $rc): $(head -c 6000 "$T/vg.log")"
grep -q "definitely lost: [1-9]" "$T/vg.log" && fail "leaks: $(cat "$T/vg.log")"
true
