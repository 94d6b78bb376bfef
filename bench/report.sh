#!/usr/bin/env bash
# bench/report.sh: turns a run's values.tsv into the side-by-side table (printed) and, given a
# second argument, docs/benchmarks.md. Only reads values.tsv, so a report can be rebuilt from
# any kept run:  bench/report.sh bench/results/latest/values.tsv docs/benchmarks.md
set -euo pipefail
tsv=${1:?usage: report.sh VALUES.TSV [DOC.md]}
doc=${2:-}
export LC_ALL=C

# v MANAGER KEY: the last value recorded (a re-run figure overrides an earlier one).
v() { awk -F'\t' -v m="$1" -v k="$2" '$1 == m && $2 == k {x = $3} END {print x}' "$tsv"; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f MiB", k / 1024}'; }

# Why a cell is empty: tend not built yet, a failed figure, or a figure that does not apply.
why() {
  local m=$1 fig=$2 x
  x=$(v "$m" pending); [ -n "$x" ] && { echo "pending"; return; }
  x=$(v "$m" "${fig}_na"); [ -n "$x" ] && { echo "n/a ($x)"; return; }
  x=$(v "$m" "${fig}_error"); [ -n "$x" ] && { echo "failed: $x"; return; }
  x=$(v "$m" "${fig}_failed"); [ -n "$x" ] && { echo "failed ($x)"; return; }
  echo "—"
}

cell_mem() {   # M KEYPREFIX FIG: daemon RSS, and daemon + keeper for tend
  local d h
  d=$(v "$1" "$2_daemon_kib"); h=$(v "$1" "$2_helper_kib")
  [ -n "$d" ] || { why "$1" "$3"; return; }
  if [ -n "$h" ]; then
    echo "$(mib "$d") (+ keeper $(mib "$h") = $(mib $((d + h))))"
  else
    mib "$d"
  fi
}
cell_hwm() {
  local d h
  d=$(v "$1" logs0_hwm_kib); h=$(v "$1" logs0_helper_hwm_kib)
  [ -n "$d" ] || { why "$1" logs0; return; }
  if [ -n "$h" ]; then echo "$(mib "$d") (+ keeper $(mib "$h"))"; else mib "$d"; fi
}
cell_ms() {    # M KEY FIG
  local x; x=$(v "$1" "$2")
  [ -n "$x" ] && echo "$x ms" || why "$1" "$3"
}
cell_crash() {
  local x; x=$(v "$1" crash_ms)
  [ -n "$x" ] || { why "$1" crash; return; }
  printf '%.1f ms (min %.1f, p90 %.1f; n=%s)\n' "$x" "$(v "$1" crash_min_ms)" "$(v "$1" crash_p90_ms)" "$(v "$1" crash_n)"
}
cell_logs() {  # M TS
  local k=logs$2 r s miss torn dup
  r=$(v "$1" "${k}_ratio"); s=$(v "$1" "${k}_s")
  [ -n "$r" ] || { why "$1" "$k"; return; }
  miss=$(v "$1" "${k}_missing"); torn=$(v "$1" "${k}_torn"); dup=$(v "$1" "${k}_duplicated")
  printf '%.2f× (%.2f s); ' "$r" "$s"
  if [ "${miss:-0}" = 0 ] && [ "${torn:-0}" = 0 ] && [ "${dup:-0}" = 0 ]; then
    printf 'none lost\n'
  else
    printf '%s lost, %s torn%s\n' "$miss" "$torn" "$([ "${dup:-0}" != 0 ] && echo ", $dup doubled")"
  fi
}
cell_cpu() {
  local x h; x=$(v "$1" idle_cpu_pct); h=$(v "$1" idle_cpu_helper_pct)
  [ -n "$x" ] || { why "$1" fleet; return; }
  if [ -n "$h" ]; then echo "$x % (+ keeper $h %)"; else echo "$x %"; fi
}
cell_start() { # M KEY FIG
  local x; x=$(v "$1" "$2")
  [ -n "$x" ] || { why "$1" "$3"; return; }
  awk -v ms="$x" 'BEGIN {if (ms >= 1000) printf "%.2f s\n", ms / 1000; else printf "%d ms\n", ms}'
}

row() {        # LABEL TARGET CELLFN ARGS... (the manager is inserted as the first argument)
  local label=$1 target=$2 fn=$3; shift 3
  printf '| %s | %s | %s | %s | %s |\n' "$label" "$($fn pm2 "$@")" "$($fn supervisord "$@")" "$($fn tend "$@")" "$target"
}

table() {
  echo "| figure | PM2 | supervisord | tend | target (tend) |"
  echo "|---|---|---|---|---|"
  row "daemon memory (RSS), 4 apps" "< 5 MiB" cell_mem mem4 mem4
  row "daemon memory (RSS), 100 apps" "< 12 MiB" cell_mem mem100 cold
  row "the same after the status figure and an idle minute" "< 12 MiB" cell_mem mem100_after_idle fleet
  row "daemon peak memory (VmHWM) while an app floods $(awk -v n="$(v run log_lines)" 'BEGIN {printf "%.0f", n * 100 / 1048576}') MiB to stdout" "< 8 MiB" cell_hwm
  row "\`status\` wall time, 100 apps (median)" "< 10 ms" cell_ms status_ms fleet
  row "status as JSON, 100 apps (\`pm2 jlist\`, \`tend status --json\`)" "—" cell_ms status_json_ms fleet
  row "crash to restarted, no restart delay (median)" "< 5 ms" cell_crash
  row "log capture flat out, vs \`app > file\` (higher is better)" "≥ 0.8×, none lost" cell_logs 0
  row "the same with a timestamp on every line" "≥ 0.6×, none lost" cell_logs 1
  row "daemon CPU while idle, 100 apps (% of one core)" "< 0.1 %" cell_cpu
  row "start 100 apps (daemon running)" "< 0.5 s" cell_start start100_ms fleet
  row "start 100 apps from nothing (the command starts the daemon too)" "—" cell_start start100_cold_ms cold
}

table
[ -n "$doc" ] || exit 0

m() { v machine "$1"; }
# busy_summary: the per-figure samples of how busy the machine was before each figure started.
busy_summary() {
  awk -F'\t' '$2 ~ /^busy_before_.*_pct$/ && $1 != "run" {n++; s += $3; if ($3 > mx) mx = $3; if ($3 > 15) hot = hot sprintf("%s%s %s %s %%", (hot ? ", " : ""), $1, substr($2, 13, length($2) - 16), $3)}
    END {if (!n) {print "not sampled"; exit} printf "mean %.0f %%, max %d %%", s / n, mx; if (hot) printf " (over 15 %%: %s)", hot}' "$tsv"
}
pss_sum() {
  local d h
  d=$(v tend "$1_daemon_pss_kib"); h=$(v tend "$1_helper_pss_kib")
  [ -n "$d" ] && mib $((d + ${h:-0})) || echo "(pending)"
}
# Sections that other scripts write into the same file (bench/alog.sh, backup.sh, watch.sh): every
# "## " section of the file now whose heading is not one of this script's is kept, in its order,
# before "## Machine".
kept=""
[ ! -f "$doc" ] || kept=$(awk '/^## / {keep = $0 !~ /^## (Results|Machine|How each figure is measured|Caveats)$/} keep' "$doc")
flood_mib=$(awk -v n="$(v run log_lines)" 'BEGIN {printf "%.0f", n * 100 / 1048576}')
tend_ver=$(v tend version); [ -n "$tend_ver" ] || tend_ver="pending: $(v tend pending)"
{
cat <<DOC
# Benchmarks: tend, PM2 and supervisord side by side

Measured by \`bench/run.sh\` (\`make bench\`) in one run on one machine, every manager
supervising the same tiny C programs (no Node, no shell), so the figures compare the managers,
not their apps. The targets are DESIGN.md's "Performance targets". This file is written by
\`bench/report.sh\` from the run's raw numbers (\`bench/results/<time>/values.tsv\`); do not edit
it by hand, run the benchmark again.

Run it with \`make bench\` or \`bench/run.sh\` (about 10 minutes; \`bench/setup.sh\` first
installs supervisor and hyperfine from Debian and PM2 from npm into \`bench/node_modules\`).
\`bench/run.sh --help\` shows how to run some figures or some managers only.

## Results

$(table)

Lower is better except for log capture. "lost" counts numbered lines that never arrived intact;
"torn" counts lines that arrived cut, glued to another line, or with a timestamp inside them.

## Machine

| | |
|---|---|
| CPU | $(m cpu) |
| cores | $(m cores) |
| RAM | $(m ram) |
| kernel | $(m kernel) |
| OS | $(m os) |
| Node.js (for PM2) | $(m node) |
| PM2 | $(v pm2 version) (npm, \`bench/package.json\`) |
| supervisord | $(v supervisord version) (Debian package \`supervisor\`) |
| tend | $tend_ver$([ -n "$(v tend binary)" ] && echo " (binary sha256 $(v tend binary))") |
| tend source | $(m git) |
| run | $(m date) |
| other work on the machine | $(v run busy_before_pct) % busy before the run (load average $(v run loadavg_before)); before each figure: $(busy_summary) |

## How each figure is measured

All three managers get the same policy: restart always, no restart delay, no backoff, a
restart limit that is never reached, no log rotation, app output to a file per app. Each
figure starts a fresh daemon in its own temporary home (\`TEND_HOME\`, \`PM2_HOME\`,
supervisord's own config, socket and pid file), and everything started is stopped by pid
afterwards (\`tend kill\`, \`pm2 kill\`, \`supervisorctl shutdown\`).

- **Daemon memory**: VmRSS of the manager's own process (PM2's God daemon, \`supervisord\`,
  the tend daemon) 5 s after all apps run; the apps are not counted. tend's keeper (\`tend
  __keeper\`, which holds the read ends of the apps' pipes so apps survive a daemon crash,
  DESIGN invariant 5) is shown beside the daemon and added up. The sum counts the pages the
  two share (the tend binary, the libraries) twice; as PSS, which splits shared pages between
  the processes sharing them, daemon + keeper come to $(pss_sum mem4) with 4 apps and
  $(pss_sum mem100) with 100.
- **Peak memory during a flood**: VmHWM of a fresh daemon whose only app writes $flood_mib MiB
  ($(v run log_lines) lines of 100 bytes) to stdout as fast as it can, read once every byte is in the
  log file (the same run as the log-capture figure).
- **\`status\`**: \`tend status\`, \`pm2 status\`, \`supervisorctl status\` with 100 apps, run by
  hyperfine without a shell (\`-N\`), 3 warm-ups, median of $(v run status_runs) runs. Most of PM2's and supervisorctl's time is
  starting Node and Python.
- **Crash to restarted**: \`bench/apps/crasher\` stamps CLOCK_MONOTONIC when it starts and just
  before it exits 1 ($(v run crash_run_ms) ms later); latency = start(n+1) − exit(n), over $(v run crashes) crashes. PM2:
  \`autorestart\`, \`restart_delay: 0\`; supervisord: \`autorestart=true\`, \`startsecs=0\`;
  tend: \`restart_delay: 0\`, \`backoff: false\`.
- **Log capture**: \`bench/apps/lines\` writes $(v run log_lines) numbered 100-byte lines through stdio
  (4 KiB writes that split lines) and sleeps. Capture time = last growth of the manager's log
  file (polled every 1 ms) − the app's start; the ratio is the same program's time with
  \`> file\` ($(v file log_baseline_s) s here, median of 3) divided by that. \`bench/tools/logcheck\`
  then checks every line number is in the file once and intact. Timestamps: tend
  \`log.timestamp: true\`, PM2 \`time: true\`; supervisord cannot stamp app output (n/a).
- **Idle CPU**: utime + stime of the daemon from \`/proc/PID/stat\` over $(v run idle_s) s with 100 idle
  apps and nobody asking anything, as a percentage of one core (resolution: one clock tick,
  $(v run clk_tck) per second).
- **Start 100 apps**: from the command (\`tend up\`, \`pm2 start ecosystem.json\`,
  \`supervisorctl start all\`) into a running daemon with no apps, until the command has
  returned and all 100 apps run (each app appends the wall-clock time to a file when it
  starts, so nothing polls \`/proc\` while the clock runs); each manager's status must then
  say 100 online. Median of $(v run start_runs) runs, the apps removed in between (\`tend delete all\`,
  \`pm2 delete all\`, \`supervisorctl stop all\`). "From nothing" is one run with no daemon
  running (\`tend up\`, \`pm2 start\`, \`supervisord -c\`), and its fresh daemon gives the
  100-app memory figure.

## Caveats

- One run on a $(m cores)-core machine: the managers, the apps and the measuring tools share
  the cores. The machine's load from other work is sampled before each figure (above); a
  figure taken while something else ran is worth re-running (\`bench/run.sh --figures crash
  --managers tend --no-doc\`, then compare). The order of magnitude between managers is what
  the table is for.
- Log capture can beat \`> file\` (a ratio above 1): writing into a pipe costs the app less
  than writing into a file, and the manager's file writes happen on the other core.
- PM2 runs its default configuration (its daemon, its per-process monitoring); no PM2 module
  (pm2-logrotate) is installed. With \`time: true\` PM2 splits each chunk it reads at newlines
  and drops the unfinished last piece (lib/God/ForkMode.js, \`prefixLogWithDate\`), so every
  line cut across two reads loses its head, and its tail is written as a stamped line of its
  own: the "lost" and "torn" counts are the same lines (samples in
  \`bench/results/*/pm2-logs1-torn-samples.txt\`).
- supervisord notices an exited program only at its main loop's next tick (a 1 s poll
  timeout; Python retries the poll after SIGCHLD), hence its crash-to-restarted time of about
  a second. It runs with \`startsecs=0\` so a program is RUNNING as soon as it is spawned, as
  for the others; with its default of 1 s every start figure would be 1 s longer.
- Raw numbers of this run: \`bench/results/\` (not committed): values.tsv, hyperfine JSON,
  crash stamps, start times, log checks.
DOC
} >"$doc.new"
KEPT=$kept awk '/^## Machine$/ && ENVIRON["KEPT"] != "" {print ENVIRON["KEPT"]; print ""} {print}' "$doc.new" >"$doc"
rm -f "$doc.new"
echo "report: wrote $doc" >&2
