#!/usr/bin/env bash
# The daemon runs valgrind-clean (no errors, no definitely-lost bytes) through the watch, alert
# and backup modules: an http and a tcp check on an app, metrics sampled every second, GET
# /metrics and /health, an alert on the tcp check that fires when the app is stopped and
# resolves when it is started again, each told to a webhook receiver (libcurl, loaded on
# first use), then a files backup run, verified (libcrypto's SHA-256), restored and compared,
# a second run pruned by keep {last: 1}, and `tend kill`.
# timeout: 300
. "$(dirname "$0")/../e2e/lib.sh"
. "$E2E/watch/alertlib.bash"
command -v valgrind >/dev/null || fail "valgrind is required (scripts/deps.sh installs it)"
export TEND_ALERT_STEP_MS=1000   # the daemon evaluates rules every second (alertlib.bash)
# valgrind cannot run an ASan binary: under `make asan` TEND_BIN is one, use the plain build
BIN=$TEND_BIN
grep -q __asan_init "$BIN" 2>/dev/null && BIN=$ROOT/tend
[ -x "$BIN" ] || fail "$BIN is not built"
TEND_BIN=$BIN   # the CLI calls below and lib.sh's cleanup use the same build
SUPP=()
[ -f "$ROOT/tests/faults/valgrind.supp" ] && SUPP=(--suppressions="$ROOT/tests/faults/valgrind.supp")

start_receiver hook 32700
mkdir -p data/sub out
head -c 200000 /dev/urandom > data/sub/blob.bin
printf 'hello\n' > data/a.txt
valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \
  "${SUPP[@]}" --track-fds=no --log-file="$T/vg.log" "$BIN" daemon > "$T/daemon.out" 2>&1 &
vg=$!
echo $vg >> "$T/pids"
wait_for 90 curl -fs --unix-socket "$TEND_HOME/tend.sock" http://t/v1/ping || fail "daemon under valgrind did not start: $(cat "$T/daemon.out")"
cat > tend.yaml <<EOF
metrics: {interval: 1s}
apps:
  - name: web
    argv: [python3, $APPS/web.py]
    port: 32701
    ready: port
checks:
  - name: web-http
    http: {url: "http://127.0.0.1:32701/", body: instance}
    interval: 2s
    timeout: 1500ms
  - name: web-tcp
    tcp: 127.0.0.1:32701
    interval: 2s
    timeout: 1500ms
alerts:
  - name: web-down
    rule: check(web-tcp).failing
    notify: hook
notifiers:
  - name: hook
    webhook: {url: "http://127.0.0.1:$RECV_PORT/hook"}
    group_wait: 1s
backups:
  - name: files
    files: [$W/data]
    keep: {last: 1}
    targets: [{local: $W/out}]
EOF
tend up tend.yaml >/dev/null || fail "up"
wait_for 60 all_online web 1 || fail "web not online"
wait_for 60 check_is web-http ok || fail "http check not ok: $(api /v1/checks)"
wait_for 30 check_is web-tcp ok || fail "tcp check not ok: $(api /v1/checks)"
tend checks >/dev/null || fail "tend checks says a check fails"
app_sampled() { api /metrics | grep -q '^tend_app_memory_bytes{app="web",instance="0"} [1-9]'; }
wait_for 30 app_sampled || fail "no app memory in /metrics: $(api /metrics | head -n 30)"
api /metrics | grep -q '^tend_check_up{check="web-http",kind="http"} 1' || fail "/metrics: no web-http up"
api /health | grep -q '"status":"ok"' || fail "/health: $(api /health)"
tend metrics web --json >/dev/null || fail "tend metrics web"

tend stop web >/dev/null || fail "stop web"
wait_for 30 check_is web-tcp failing || fail "tcp check does not fail with web stopped"
wait_for 60 recv_has hook firing || fail "no firing message: $(api /v1/alerts)"
tend start web >/dev/null || fail "start web"
wait_for 60 recv_has hook resolved || fail "no resolved message: $(api /v1/alerts)"
# (exact counts are alert_webhook_fires_and_resolves_once.sh's job: a daemon this slow may
# see a probe time out once more and flap)
tend alerts --json >/dev/null || fail "tend alerts"

tend backup run files >/dev/null || fail "backup run"
tend backup verify files >/dev/null || fail "backup verify"
tend backup restore files --to "$W/restore" >/dev/null || fail "backup restore"
diff -r data restore/data >/dev/null || fail "the restored copy differs"
tend backup run files >/dev/null || fail "second backup run"
wait_for 10 test "$(ls out/*.json | wc -l)" -eq 1 || fail "keep {last: 1} left $(ls out)"
tend backup list files --json >/dev/null && tend events --json >/dev/null || fail "list/events"

tend kill >/dev/null || fail "kill"
wait $vg; rc=$?
[ $rc -eq 0 ] || fail "valgrind reported errors (exit $rc): $(head -c 6000 "$T/vg.log")"
grep -q "definitely lost: [1-9]" "$T/vg.log" && fail "leaks: $(cat "$T/vg.log")"
true
