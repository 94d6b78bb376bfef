# bench/lib.sh: helpers shared by the figure scripts (sourced by run.sh, never run alone).
#
# Times are wall-clock microseconds from bash's EPOCHREALTIME (no fork per reading) or
# CLOCK_MONOTONIC nanoseconds written by the apps themselves. Every result is one line
# "manager<TAB>key<TAB>value" appended to $RESULTS/values.tsv; report.sh builds the table
# from that file only, so a figure can be re-run alone and the report rebuilt.

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
BUILD=$BENCH/build
PM2_BIN=$BENCH/node_modules/.bin/pm2
TEND_BIN=${TEND_BIN:-$ROOT/tend}
export LC_ALL=C   # EPOCHREALTIME and printf must use "." as the decimal point

say() { printf '%s bench: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }

# record MANAGER KEY VALUE: one measured value (also echoed for the person watching).
record() {
  printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RESULTS/values.tsv"
  say "  $1 $2 = $3"
}

# Median / min / max of the numbers on stdin, one per line.
median() { sort -g | awk '{a[NR]=$1} END {if (!NR) {print "nan"; exit} m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; print m}'; }
minimum() { sort -g | head -1; }
maximum() { sort -g | tail -1; }

# quiet LOG CMD...: run a manager's command with its chatter (tables, "started the daemon")
# appended to LOG; when it fails, show the end of LOG and pass the failure on.
quiet() {
  local log=$1 rc=0; shift
  "$@" >>"$log" 2>&1 || rc=$?
  if [ $rc -ne 0 ]; then
    say "command failed (exit $rc): $*"
    tail -n 5 "$log" >&2
  fi
  return $rc
}

# wait_until TIMEOUT_S CMD...: run CMD every 10 ms until it succeeds; 1 on timeout.
wait_until() {
  local deadline=$(($(now_us) + $1 * 1000000)); shift
  until "$@" >/dev/null 2>&1; do
    [ "$(now_us)" -ge "$deadline" ] && return 1
    sleep 0.01
  done
}

# /proc readings, in KiB and clock ticks; empty when the process is gone.
proc_kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null; }
rss_kib() { proc_kib "$1" VmRSS; }
hwm_kib() { proc_kib "$1" VmHWM; }
pss_kib() { awk '$1 == "Pss:" {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
# utime + stime of PID (all its threads), in clock ticks. The comm field may hold spaces,
# so fields are counted after its closing parenthesis.
cpu_ticks() { local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0; s=${s##*) }; set -- $s; echo $((${12} + ${13})); }
CLK_TCK=$(getconf CLK_TCK)

kib_to_mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
sum_kib() { local t=0 p v; for p in "$@"; do v=$(rss_kib "$p"); t=$((t + ${v:-0})); done; echo "$t"; }

# App processes of this run carry $RUN_TAG or $WORK in their arguments; count / list them.
app_count() { pgrep -c -f -- "$1" 2>/dev/null || true; }

# The pids of every process we started that is still alive, found by our unique run tag or
# work dir in their command lines or environment (TEND_HOME, PM2_HOME), never by a name.
# Processes of our own process group (this script, its pipelines) are never listed: the
# managers and their apps all run in process groups of their own.
our_pids() {
  local f p s mypg
  s=$(cat /proc/$$/stat); s=${s##*) }; set -- $s; mypg=$3
  { grep -lsa -e "$WORK" -e "$RUN_TAG" /proc/[0-9]*/cmdline
    grep -lsz -e "^TEND_HOME=$WORK" -e "^PM2_HOME=$WORK" /proc/[0-9]*/environ
    true
  } 2>/dev/null | while read -r f; do
    p=${f#/proc/}; p=${p%%/*}
    s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    s=${s##*) }; set -- $s
    [ "$3" = "$mypg" ] || echo "$p"
  done | sort -un
}

# Ends whatever this run left alive: first politely, then SIGKILL after 3 s. By pid only.
kill_ours() {
  local pids
  pids=$(our_pids)
  [ -n "$pids" ] || return 0
  kill $pids 2>/dev/null || true
  for _ in $(seq 30); do
    pids=$(for p in $pids; do [ ! -d "/proc/$p" ] || echo "$p"; done)
    [ -n "$pids" ] || return 0
    sleep 0.1
  done
  kill -9 $pids 2>/dev/null || true
}

# ---- app specs ------------------------------------------------------------------------------
# A spec is a file with one app per line: NAME<TAB>OUT_LOG<TAB>TIMESTAMP(0|1)<TAB>ARGV...
# Each manager's adapter turns it into its own config (tend.yaml, ecosystem JSON,
# supervisord.conf) with the same restart policy for all: restart always, no delay, no
# backoff, a very high restart limit, no log rotation.
spec_line() { printf '%s\t%s\t%s\t%s\n' "$@"; }
err_log_of() { echo "${1%.log}.err.log"; }

# ---- manager dispatch -----------------------------------------------------------------------
# Each of managers/{tend,pm2,supervisord}.sh defines m_<name>_<op> for these ops:
#   available version init(DIR) config(SPEC MODE -> prints path; MODE autostart|noautostart)
#   daemon_start  up(CONFIG)  start_all(CONFIG)  stop_all(CONFIG)  status_cmd  json_status_cmd
#   online_count
#   daemon_pid  helper_pids  stop
mgr() { local op=$1; shift; "m_${M}_$op" "$@"; }

# busy_pct SECONDS: how busy the whole machine is (all cores, every process), in %, over a
# sample of SECONDS from /proc/stat. Other work on the machine (a build, a test suite) skews
# every figure, so run.sh records this before each one and the report shows it.
busy_pct() {
  local a b
  a=$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat)
  sleep "$1"
  b=$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN {split(a, x, " "); split(b, y, " "); bu = y[1] - x[1]; id = y[2] - x[2];
    printf "%.0f", (bu + id) ? 100 * bu / (bu + id) : 0}'
}

# wait_quiet: before a figure, wait while the machine is busy with other work (more than
# QUIET_PCT % over a 1 s sample), within a budget of QUIET_BUDGET_S seconds for the whole
# run; leaves the last sample in BUSY, which run.sh records beside the figure.
QUIET_PCT=${QUIET_PCT:-15}
quiet_left=${QUIET_BUDGET_S:-240}
wait_quiet() {
  BUSY=$(busy_pct 1)
  [ "$BUSY" -le "$QUIET_PCT" ] || say "the machine is $BUSY % busy with other work; waiting (budget ${quiet_left} s)"
  while [ "$BUSY" -gt "$QUIET_PCT" ] && [ "$quiet_left" -gt 0 ]; do
    sleep 2
    quiet_left=$((quiet_left - 3))
    BUSY=$(busy_pct 1)
  done
}
