#!/usr/bin/env bash
# bench/run.sh: tend, PM2 and supervisord side by side, in one run, on this machine.
#
#   bench/run.sh                      every figure, every manager, then docs/benchmarks.md
#   bench/run.sh --quick              fewer repetitions and a 10 s idle window (a smoke test)
#   bench/run.sh --managers pm2,tend --figures crash,logs --no-doc
#
# Figures (DESIGN.md, "Performance targets"): mem4 (mem.sh), fleet and cold (fleet.sh),
# crash (crash.sh), logs (logs.sh). Each figure runs once per manager in a subshell with a
# fresh home folder (TEND_HOME, PM2_HOME, supervisord's socket/pid/logs) under one temp dir;
# everything started is stopped by pid when the figure ends and again on exit. Raw results go
# to bench/results/<time>/ (values.tsv plus per-figure files); report.sh turns values.tsv into
# the table and docs/benchmarks.md. The whole run takes about 8-10 minutes on 2 cores.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

managers=pm2,supervisord,tend
figures=mem4,cold,fleet,crash,logs
write_doc=1
while [ $# -gt 0 ]; do
  case $1 in
    --managers) managers=$2; shift 2 ;;
    --figures) figures=$2; shift 2 ;;
    --quick) export IDLE_S=10 STATUS_RUNS=5 CRASHES=5 SETTLE_S=2 START_RUNS=1 LOG_LINES=${LOG_LINES:-500000}; shift ;;
    --no-doc) write_doc=0; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "bench/run.sh: unknown option \"$1\"" >&2; echo "  hint: bench/run.sh --help" >&2; exit 2 ;;
  esac
done

"$here/setup.sh"

. "$here/lib.sh"
for f in mem fleet crash logs; do . "$here/$f.sh"; done
for m in pm2 supervisord tend; do . "$here/managers/$m.sh"; done

stamp=$(date +%Y%m%d-%H%M%S)
export RESULTS=$here/results/$stamp
mkdir -p "$RESULTS"
ln -sfn "$stamp" "$here/results/latest"
WORK=$(mktemp -d /tmp/tend-bench.XXXXXX)
RUN_TAG=tendbench-$$-$RANDOM
export WORK RUN_TAG

cleanup() {
  kill_ours
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the machine and the versions ----------------------------------------------------------
record machine cpu "$(awk -F': *' '/^model name/ {m = $2} /^cpu family/ {f = $2} /^model\t/ {n = $2}
  /^flags/ && / hypervisor/ {vm = "; virtual machine"} END {printf "%s (family %s, model %s%s)", m, f, n, vm}' /proc/cpuinfo)"
record machine cores "$(nproc)"
record machine ram "$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
record machine kernel "$(uname -sr)"
record machine os "$(. /etc/os-release && echo "$PRETTY_NAME")"
record machine node "$(node --version 2>/dev/null || echo none)"
record machine date "$(date -u +%Y-%m-%dT%H:%MZ)"
record machine git "$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo uncommitted)$(cd "$ROOT" && [ -n "$(git status --porcelain -- src 2>/dev/null)" ] && echo ' (src modified)')"

record run idle_s "${IDLE_S:=60}"
record run status_runs "${STATUS_RUNS:=20}"
record run crashes "${CRASHES:=20}"
record run crash_run_ms "${CRASH_RUN_MS:=300}"
record run log_lines "${LOG_LINES:=2097152}"
record run start_runs "${START_RUNS:=3}"
record run clk_tck "$CLK_TCK"
export IDLE_S STATUS_RUNS CRASHES CRASH_RUN_MS LOG_LINES START_RUNS

# Others' work on this machine skews every figure: before each one, wait (within a budget,
# QUIET_BUDGET_S for the whole run) until the machine is quiet, and record how busy it was.
wait_quiet
record run busy_before_pct "$BUSY"
record run loadavg_before "$(cut -d' ' -f1-3 /proc/loadavg)"

# tend is being rebuilt by others while we run: measure one snapshot of the binary throughout.
if [ -x "$TEND_BIN" ]; then
  record tend binary "$(sha256sum "$TEND_BIN" | cut -c1-12), built $(date -u -r "$TEND_BIN" +%Y-%m-%dT%H:%MZ)"
  cp "$TEND_BIN" "$WORK/tend"
  TEND_BIN=$WORK/tend
fi

active=()
for M in ${managers//,/ }; do
  if mgr available; then
    record "$M" version "$(mgr version)"
    active+=("$M")
  else
    case $M in
      tend) record tend pending "$TEND_BIN is missing or does not run (make tend)" ;;
      *) record "$M" pending "not installed (bench/setup.sh)" ;;
    esac
  fi
done

# run_fig FIGURE ARGS...: FIGURE for each active manager, each in its own subshell so that a
# failing manager costs its own cell of the table, not the run.
run_fig() {
  local fig=$1 rc; shift
  for M in "${active[@]}"; do
    wait_quiet
    record "$M" "busy_before_${fig}${1:-}_pct" "$BUSY"
    say "$fig $* / $M"
    set +e
    ( set -e; trap 'mgr stop' EXIT; "fig_$fig" "$@" )
    rc=$?
    set -e
    [ $rc -eq 0 ] || record "$M" "${fig}${1:-}_failed" "exit $rc"
    kill_ours   # nothing of one figure may run into the next
  done
}

for fig in ${figures//,/ }; do
  case $fig in
    mem4) run_fig mem4 ;;
    fleet) run_fig fleet ;;
    cold) run_fig cold ;;
    crash) run_fig crash ;;
    logs) wait_quiet; record file busy_before_baseline_pct "$BUSY"; fig_log_baseline; run_fig logs 0; run_fig logs 1 ;;
    *) echo "bench/run.sh: unknown figure \"$fig\"" >&2; exit 2 ;;
  esac
done

if [ $write_doc = 1 ]; then
  "$here/report.sh" "$RESULTS/values.tsv" "$ROOT/docs/benchmarks.md"
else
  "$here/report.sh" "$RESULTS/values.tsv"
fi
