#!/usr/bin/env bash
# timeout: 90
# The monitoring verbs as a user sees them: `tend checks` prints a failing tcp check as "failing"
# and exits 1 (cron and CI read the status), and 0 once only passing checks remain; `tend alerts`
# shows `cpu > 0%` firing and exits 1, `tend alerts silence RULE --for 2h` silences it (shown as
# silenced, with its silence listed, exit 0) and unsilence brings it back; `tend metrics --json`
# carries the system's cpu and the app's series, the terminal form shows the blocks; usage errors
# (bad durations, unknown sub-commands, more than the 90 days of roll-ups) exit 2; --since 1d
# reads the roll-ups.
. "$(dirname "$0")/../lib.sh"

# Two ports the kernel just handed out and took back: nothing listens on them.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
closed=$(free_port) web_port=$(free_port)
cat > tend.yaml <<YAML
metrics:
  interval: 1s
checks:
  - name: root-disk
    disk: /
    interval: 1s
    timeout: 500ms
  - name: closed-port
    tcp: 127.0.0.1:$closed
    interval: 1s
    timeout: 500ms
apps:
  - name: web
    cmd: python3 $APPS/web.py
    port: $web_port
    health:
      http: http://127.0.0.1:\${PORT}/health
      interval: 1s
      timeout: 500ms
alerts:
  - rule: cpu > 0%
  - name: port-down
    rule: check(closed-port).failing for 2s
YAML
tend up tend.yaml >/dev/null 2>&1 || fail "tend up"

# ---- checks
failing_shown() { tend checks >"$W/checks.txt" 2>&1; grep -q "closed-port .* failing" "$W/checks.txt" &&
  grep -q "root-disk .* ok " "$W/checks.txt"; }
wait_for 20 failing_shown || fail "tend checks never showed the closed port failing and the disk ok: $(cat "$W/checks.txt")"
tend checks >"$W/checks.txt" 2>/dev/null; rc=$?
[ $rc -eq 1 ] || fail "tend checks exited $rc with a failing check, not 1"
grep "closed-port" "$W/checks.txt" | grep -q "failing" || fail "closed-port row: $(cat "$W/checks.txt")"
grep -q "connection refused" "$W/checks.txt" || fail "no reason shown: $(cat "$W/checks.txt")"
grep "root-disk" "$W/checks.txt" | grep -q " ok " || fail "root-disk not ok: $(cat "$W/checks.txt")"
wait_for 20 bash -c "'$TEND_BIN' checks | grep -q 'web:0 health.* ok '" ||
  fail "app health probe not shown as web:0 health ok: $(tend checks 2>&1)"
tend checks --json >"$W/checks.json"; rc=$?
[ $rc -eq 1 ] || fail "tend checks --json exited $rc with a failing check, not 1"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert any(c["status"]=="failing" for c in d["checks"])' \
  "$W/checks.json" || fail "checks --json: $(cat "$W/checks.json")"

# ---- alerts: firing, then silenced, then back
cpu_firing() { tend alerts >"$W/alerts.txt" 2>&1; grep -E -q '^cpu > 0% +warning +firing' "$W/alerts.txt"; }
wait_for 20 cpu_firing || fail "cpu > 0% never shown firing: $(cat "$W/alerts.txt")"
tend alerts >/dev/null 2>&1; rc=$?
[ $rc -eq 1 ] || fail "tend alerts exited $rc with a firing alert, not 1"
tend alerts silence 'cpu > 0%' --for 2h >"$W/silence.txt" || fail "silence: $(cat "$W/silence.txt")"
grep -q 'silenced "cpu > 0%" until .*: 1 rule' "$W/silence.txt" || fail "silence said: $(cat "$W/silence.txt")"
tend alerts silence 'port-down' --for 30m >/dev/null || fail "silence port-down"
tend alerts >"$W/alerts.txt" 2>&1; rc=$?
grep -E -q '^cpu > 0% +warning +firing \(silenced\)' "$W/alerts.txt" || fail "not shown silenced: $(cat "$W/alerts.txt")"
grep -A3 '^silences' "$W/alerts.txt" | grep -q '1h5[0-9]m' || fail "silence end not shown: $(cat "$W/alerts.txt")"
[ $rc -eq 0 ] || fail "tend alerts exited $rc with only silenced alerts firing, not 0: $(cat "$W/alerts.txt")"
tend alerts unsilence 'cpu > 0%' >/dev/null || fail "unsilence"
tend alerts >/dev/null 2>&1; [ $? -eq 1 ] || fail "after unsilence tend alerts did not exit 1"
tend alerts unsilence 'no-such-rule' >/dev/null 2>"$W/err.txt"; rc=$?
[ $rc -eq 1 ] || fail "unsilence of nothing exited $rc, not 1"
grep -q 'no-such-rule' "$W/err.txt" || fail "unsilence error: $(cat "$W/err.txt")"
tend alerts --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert {"alerts","silences","recent","notifiers"} <= d.keys()' ||
  fail "alerts --json"

# ---- metrics
has_cpu() { tend metrics --json | python3 -c '
import json,sys; d=json.load(sys.stdin)
assert any(s["name"]=="cpu_percent" and s["last"] is not None for s in d["system"])
assert any(s["labels"].get("app")=="web" for s in d["apps"])'; }
wait_for 20 has_cpu || fail "metrics --json has no system cpu or no web series: $(tend metrics --json)"
tend metrics >"$W/metrics.txt" || fail "tend metrics"
grep -q '^system' "$W/metrics.txt" && grep -q '^  cpu ' "$W/metrics.txt" && grep -q '^web:0' "$W/metrics.txt" ||
  fail "metrics blocks: $(cat "$W/metrics.txt")"
grep -q '[▁▂▃▄▅▆▇█]' "$W/metrics.txt" || fail "no sparkline: $(cat "$W/metrics.txt")"
tend metrics web --since 10m >"$W/metrics.txt" || fail "tend metrics web"
grep -q '^system' "$W/metrics.txt" && fail "metrics web shows the system block"
grep -q '^web:0' "$W/metrics.txt" || fail "metrics web: $(cat "$W/metrics.txt")"
# Beyond the hour in memory the roll-ups in tend.db answer, in the same shape.
tend metrics --since 1d --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["source"]=="rollups" and "system" in d' ||
  fail "metrics --since 1d --json"
tend metrics nosuchapp >/dev/null 2>"$W/err.txt"; [ $? -eq 1 ] || fail "metrics of an unknown app did not exit 1"
grep -q 'nosuchapp' "$W/err.txt" || fail "metrics error: $(cat "$W/err.txt")"

# ---- usage errors exit 2 and say what is accepted
usage() { local want=$1; shift; tend "$@" >/dev/null 2>"$W/err.txt"; local rc=$?
  [ $rc -eq 2 ] || fail "tend $* exited $rc, not 2"
  grep -q "$want" "$W/err.txt" || fail "tend $*: $(cat "$W/err.txt")"; }
usage 'such as 90s, 30m or 2h, not "soon"' metrics --since soon
usage 'at most 90d' metrics --since 100d
usage 'needs --for' alerts silence 'cpu > 0%'
usage 'not "2x"' alerts silence 'cpu > 0%' --for 2x
usage 'did you mean "silence"' alerts silense x
usage 'unexpected argument' checks extra
usage 'unknown flag' checks --jsno
note "checks, metrics and alerts verbs ok"
