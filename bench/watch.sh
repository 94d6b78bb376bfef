#!/usr/bin/env bash
# bench/watch.sh: what monitoring costs the tend daemon: 100 probes every second, and /proc
# sampling of 100 app instances, beside an idle daemon and PM2's daemon with the same 100 apps.
#
#   bench/watch.sh            the scenarios below (about 7 minutes); prints a table and writes the
#                             "Monitoring: probes and sampling" section of docs/benchmarks.md
#                             (other sections are left alone)
#   bench/watch.sh --kinds    also 100 probes of one kind at a time (http, tcp, disk): +4 minutes
#   bench/watch.sh --no-doc   the table only
#   bench/watch.sh --report bench/results/watch-<time>/values.tsv     the table and the section
#                             again from a kept run, measuring nothing
#   WATCH_WINDOW_S=20 WATCH_SETTLE_S=5 bench/watch.sh --no-doc       a quicker run
#
# Scenarios, each a fresh daemon in its own TEND_HOME (PM2_HOME) under one temp folder:
#   idle      the daemon with nothing configured (`tend ping` starts it);
#   probes    100 checks at `interval: 1s`, no apps: 60 http (a tiny Python server on
#             127.0.0.1 answering 200), 30 tcp (a listener that accepts and closes), 10 disk;
#   metrics5  100 apps (bench/build/idle, which sleeps), metrics at the default 5 s;
#   metrics1  the same with `metrics: {interval: 1s}`;
#   pm2       PM2's God daemon with the same 100 apps (PM2 has no sampling-interval setting).
# Each scenario settles WATCH_SETTLE_S (15 s), then the daemon's utime+stime (and cutime+cstime,
# its reaped children's) from /proc/PID/stat is read over WATCH_WINDOW_S (60 s): % of one core.
# RSS is read at the start and the end of the window; for probes, the "runs" counters of
# GET /v1/checks at both ends give the probes actually done per second. Loopback only; all that
# was started is stopped by pid. Raw numbers: bench/results/watch-<time>/values.tsv.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

write_doc=1
report_tsv=""
scenarios=idle,probes,metrics5,metrics1,pm2
while [ $# -gt 0 ]; do
  case $1 in
    --no-doc) write_doc=0; shift ;;
    --kinds) scenarios=idle,probes,http,tcp,disk,metrics5,metrics1,pm2; shift ;;
    --report) report_tsv=${2:-}; shift 2 || { echo "bench/watch.sh: --report takes a values.tsv" >&2; exit 2; } ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "bench/watch.sh: unknown option \"$1\"" >&2; echo "  hint: bench/watch.sh --help" >&2; exit 2 ;;
  esac
done
window_s=${WATCH_WINDOW_S:-60}
settle_s=${WATCH_SETTLE_S:-15}
case $window_s$settle_s in *[!0-9]*) echo "bench/watch.sh: WATCH_WINDOW_S and WATCH_SETTLE_S take whole seconds" >&2; exit 2 ;; esac
[ "$window_s" -ge 5 ] || { echo "bench/watch.sh: WATCH_WINDOW_S=$window_s is too short; use 5 s or more" >&2; exit 2; }

export QUIET_BUDGET_S=${QUIET_BUDGET_S:-60}
. "$here/lib.sh"   # say, record, cpu_ticks, rss_kib, wait_until, kill_ours, wait_quiet; LC_ALL=C
for m in pm2 tend; do . "$here/managers/$m.sh"; done

# ---- the probes' targets: one Python process, HTTP 200 on one port, accept-and-close on another,
# ending by itself after the longest this run can take.
start_server() {
  python3 - "$WORK/ports" 1800 "$RUN_TAG" <<'PY' >"$WORK/server.log" 2>&1 &
import http.server, os, socket, sys, threading, time
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_HEAD = do_GET
    def log_message(self, *a):
        pass
class S(http.server.ThreadingHTTPServer):
    request_queue_size = 256   # the default 5 drops connects when 60 checks come at once
httpd = S(("127.0.0.1", 0), H)
tcp = socket.socket()
tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp.bind(("127.0.0.1", 0))
tcp.listen(256)
tcp.settimeout(1)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d %d\n" % (httpd.server_address[1], tcp.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
threading.Thread(target=httpd.serve_forever, daemon=True).start()
deadline = time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline:
    try:
        c, _ = tcp.accept()
        c.close()
    except socket.timeout:
        pass
PY
  server_pid=$!
  wait_until 20 test -s "$WORK/ports" || { say "the probes' server did not start:"; cat "$WORK/server.log" >&2; exit 1; }
  read -r http_port tcp_port <"$WORK/ports"
}

# checks_yaml NHTTP NTCP NDISK: a tend.yaml with those checks at 1 s and no apps.
checks_yaml() {
  local i
  echo "checks:"
  for ((i = 1; i <= $1; i++)); do printf '  - {name: http-%d, http: "http://127.0.0.1:%s/health", interval: 1s, timeout: 500ms}\n' "$i" "$http_port"; done
  for ((i = 1; i <= $2; i++)); do printf '  - {name: tcp-%d, tcp: "127.0.0.1:%s", interval: 1s, timeout: 500ms}\n' "$i" "$tcp_port"; done
  for ((i = 1; i <= $3; i++)); do printf '  - {name: disk-%d, disk: "%s", interval: 1s, timeout: 500ms}\n' "$i" "$WORK"; done
}

# "runs failed_runs" summed over every check, and per kind into $1 (kind runs failed lines).
check_runs() {
  local j; j=$(m_tend_curl /v1/checks) || { echo "0 0"; return; }
  [ -z "${1:-}" ] || jq -r '.checks | group_by(.kind)[] | "\(.[0].kind) \(map(.runs) | add) \(map(.failed_runs) | add)"' <<<"$j" >"$1"
  jq -r '"\(.checks | map(.runs) | add // 0) \(.checks | map(.failed_runs) | add // 0)"' <<<"$j"
}

child_ticks() { local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0; s=${s##*) }; set -- $s; echo $((${14} + ${15})); }
pct() { awk -v d="$1" -v hz="$CLK_TCK" -v us="$2" 'BEGIN {printf "%.3f", d / hz / (us / 1e6) * 100}'; }
stat_cpu() { awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat; }

# measure KEY [checks]: settle, then the daemon's (and keeper's) CPU and RSS over the window;
# with "checks", also the probes done (GET /v1/checks before and after).
measure() {
  local key=$1 pid keepers c0 c1 ch0 ch1 k0 k1 t0 t1 r0 r1 s0 s1 runs0=() runs1=() k
  say "$key: settling ${settle_s} s"
  sleep "$settle_s"
  pid=$(mgr daemon_pid); keepers=$(mgr helper_pids)
  [ -n "$pid" ] && [ -d "/proc/$pid" ] || { record "$M" "${key}_error" "no daemon process"; return 1; }
  [ "${2:-}" != checks ] || read -r -a runs0 < <(check_runs "$RESULTS/$key-kinds0.txt")
  t0=$(now_us); s0=$(stat_cpu)
  c0=$(cpu_ticks "$pid"); ch0=$(child_ticks "$pid"); r0=$(rss_kib "$pid")
  k0=0; for k in $keepers; do k0=$((k0 + $(cpu_ticks "$k"))); done
  say "$key: measuring ${window_s} s (daemon pid $pid)"
  sleep "$window_s"
  c1=$(cpu_ticks "$pid"); ch1=$(child_ticks "$pid"); r1=$(rss_kib "$pid")
  k1=0; for k in $keepers; do k1=$((k1 + $(cpu_ticks "$k"))); done
  s1=$(stat_cpu); t1=$(now_us)
  [ -n "$c1" ] && [ -n "$r1" ] || { record "$M" "${key}_error" "the daemon died during the window"; return 1; }
  record "$M" "${key}_cpu_pct" "$(pct $((c1 - c0)) $((t1 - t0)))"
  record "$M" "${key}_children_cpu_pct" "$(pct $((ch1 - ch0)) $((t1 - t0)))"
  [ -z "$keepers" ] || record "$M" "${key}_keeper_cpu_pct" "$(pct $((k1 - k0)) $((t1 - t0)))"
  record "$M" "${key}_rss0_kib" "$r0"
  record "$M" "${key}_rss1_kib" "$r1"
  record "$M" "${key}_hwm_kib" "$(hwm_kib "$pid")"
  record "$M" "${key}_threads" "$(proc_kib "$pid" Threads)"
  record "$M" "${key}_busy_pct" "$(awk -v a="$s0" -v b="$s1" 'BEGIN {split(a, x, " "); split(b, y, " ");
    bu = y[1] - x[1]; id = y[2] - x[2]; printf "%.0f", (bu + id) ? 100 * bu / (bu + id) : 0}')"
  if [ "${#runs0[@]}" = 2 ]; then
    read -r -a runs1 < <(check_runs "$RESULTS/$key-kinds1.txt")
    local t2; t2=$(now_us)
    record "$M" "${key}_probes_per_s" "$(awk -v n=$((runs1[0] - runs0[0])) -v us=$((t2 - t0)) 'BEGIN {printf "%.1f", n / (us / 1e6)}')"
    record "$M" "${key}_failed_runs" "$((runs1[1] - runs0[1]))"
    record "$M" "${key}_per_kind" "$(join "$RESULTS/$key-kinds0.txt" "$RESULTS/$key-kinds1.txt" |
      awk -v us=$((t2 - t0)) '{printf "%s%s %.1f/s (%d failed)", (NR > 1 ? ", " : ""), $1, ($4 - $2) / (us / 1e6), $5 - $3}')"
  fi
}

# ---- the scenarios --------------------------------------------------------------------------------
sc_idle() {
  mgr init "$WORK/tend-idle"
  mgr daemon_start
  measure idle
}

sc_probes() {   # KEY NHTTP NTCP NDISK
  mgr init "$WORK/tend-$1"
  checks_yaml "$2" "$3" "$4" >"$WORK/tend-$1/tend.yaml"
  quiet "$WORK/tend-$1/cli.log" "$TEND_BIN" up "$WORK/tend-$1/tend.yaml"
  wait_until 20 m_tend_curl /v1/checks || { record tend "$1_error" "GET /v1/checks does not answer"; return 1; }
  [ "$(m_tend_curl /v1/checks | jq '.checks | length')" = $(($2 + $3 + $4)) ] ||
    { record tend "$1_error" "the daemon does not show $(($2 + $3 + $4)) checks"; return 1; }
  measure "$1" checks
}

# fleet_spec DIR TAG: 100 apps, each bench/build/idle (sleeps), as in the fleet figure.
fleet_spec() {
  local i
  for i in $(seq 100); do spec_line "app$i" "$1/logs/app$i-out.log" 0 "$BUILD/idle $2$i $1/started"; done >"$1/spec"
}

sc_metrics() {  # KEY INTERVAL (empty: the default)
  local dir=$WORK/$M-$1 conf
  mgr init "$dir"
  fleet_spec "$dir" "$RUN_TAG-$1-"
  conf=$(mgr config "$dir/spec" autostart)
  [ -z "$2" ] || printf 'metrics:\n  interval: %s\n' "$2" >>"$conf"
  mgr up "$conf"
  wait_until 60 all_running "$dir/started" 100 ||
    { record "$M" "$1_error" "$(wc -l <"$dir/started") of 100 apps running after 60 s"; return 1; }
  measure "$1"
}
# all_running STARTED N (as in mem.sh): N apps have written their start line.
all_running() { local l=(); [ -f "$1" ] && mapfile -t l <"$1"; [ "${#l[@]}" -ge "$2" ]; }

run_sc() {
  local sc=$1 rc; shift
  wait_quiet
  record run "busy_before_${sc}_pct" "$BUSY"
  say "scenario $sc"
  set +e
  ( set -e; trap 'mgr stop' EXIT; "$@" )
  rc=$?
  set -e
  [ $rc -eq 0 ] || record run "${sc}_failed" "exit $rc"
  kill_ours
}

# ---- the run ----------------------------------------------------------------------------------------
# On exit: whatever of ours still runs (the managers by their own stop, the rest by pid, found by
# the run's temp folder or tag: lib.sh's kill_ours), then the temp folder.
cleanup() {
  (M=tend; mgr stop) || true
  (M=pm2; mgr stop) || true
  [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
  kill_ours
  rm -rf "$WORK"
}

measure_run() {
  "$here/setup.sh"    # bench/build/idle, PM2 in bench/node_modules (only installs what is missing)
  command -v jq >/dev/null || { echo "bench/watch.sh: needs jq (apt-get install jq)" >&2; exit 1; }
  command -v python3 >/dev/null || { echo "bench/watch.sh: needs python3 for the probes' server" >&2; exit 1; }

  stamp=$(date +%Y%m%d-%H%M%S)
  export RESULTS=$here/results/watch-$stamp
  mkdir -p "$RESULTS"
  WORK=$(mktemp -d /tmp/tend-watch-bench.XXXXXX)
  RUN_TAG=tendwatch-$$-$RANDOM
  export WORK RUN_TAG
  server_pid=""
  trap cleanup EXIT
  trap 'exit 130' INT TERM

  # tend is rebuilt by others while this runs: measure one snapshot of the binary throughout.
  [ -x "$TEND_BIN" ] || { echo "bench/watch.sh: $TEND_BIN is missing; build it (make tend) or set TEND_BIN" >&2; exit 1; }
  record tend binary "$(sha256sum "$TEND_BIN" | cut -c1-12), built $(date -u -r "$TEND_BIN" +%Y-%m-%dT%H:%MZ)"
  cp "$TEND_BIN" "$WORK/tend"
  TEND_BIN=$WORK/tend
  record tend version "$(m_tend_version)"
  record run date "$(date -u +%Y-%m-%dT%H:%MZ)"
  record run cpu "$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo), $(nproc) cores"
  record run window_s "$window_s"
  record run settle_s "$settle_s"
  record run clk_tck "$CLK_TCK"
  wait_quiet
  record run busy_before_pct "$BUSY"
  record run loadavg_before "$(cut -d' ' -f1-3 /proc/loadavg)"

  for sc in ${scenarios//,/ }; do
    case $sc in
      idle) M=tend; run_sc idle sc_idle ;;
      probes|http|tcp|disk)
        [ -n "$server_pid" ] || start_server
        M=tend
        case $sc in
          probes) run_sc probes sc_probes probes 60 30 10 ;;
          http) run_sc http sc_probes http 100 0 0 ;;
          tcp) run_sc tcp sc_probes tcp 0 100 0 ;;
          disk) run_sc disk sc_probes disk 0 0 100 ;;
        esac ;;
      metrics5) M=tend; run_sc metrics5 sc_metrics metrics5 "" ;;
      metrics1) M=tend; run_sc metrics1 sc_metrics metrics1 1s ;;
      pm2)
        M=pm2
        if mgr available; then
          record pm2 version "$(mgr version)"
          run_sc pm2 sc_metrics pm2 ""
        else
          record pm2 pending "not installed (bench/setup.sh)"
        fi ;;
    esac
  done
  if [ -n "$server_pid" ]; then
    record run server_cpu_s "$(awk -v t="$(cpu_ticks "$server_pid")" -v hz="$CLK_TCK" 'BEGIN {printf "%.1f", t / hz}')"
    kill "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
  record run loadavg_after "$(cut -d' ' -f1-3 /proc/loadavg)"
}

# ---- the table ------------------------------------------------------------------------------------
if [ -n "$report_tsv" ]; then
  tsv=$report_tsv
  [ -f "$tsv" ] || { echo "bench/watch.sh: no file $tsv" >&2; exit 2; }
  scenarios=$(awk -F'\t' '$1 == "run" && $2 ~ /^busy_before_.+_pct$/ {sub(/^busy_before_/, "", $2); sub(/_pct$/, "", $2); printf "%s%s", (n++ ? "," : ""), $2}' "$tsv")
else
  measure_run
  tsv=$RESULTS/values.tsv
fi
v() { awk -F'\t' -v m="$1" -v k="$2" '$1 == m && $2 == k {x = $3} END {print x}' "$tsv"; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
row() {   # MANAGER KEY LABEL
  local m=$1 k=$2 cpu ch kp probes e
  cpu=$(v "$m" "${k}_cpu_pct")
  case ,$scenarios, in *,$k,*) ;; *) return 0 ;; esac   # not a scenario of this run
  if [ -z "$cpu" ]; then
    e=$(v "$m" "${k}_error"); [ -n "$e" ] || e=$(v run "${k}_failed"); [ -n "$e" ] || e=$(v "$m" pending)
    printf '| %s | failed: %s | | | |\n' "$3" "${e:-no result}"
    return 0
  fi
  ch=$(v "$m" "${k}_children_cpu_pct"); kp=$(v "$m" "${k}_keeper_cpu_pct")
  [ "$ch" = 0.000 ] || cpu="$cpu (+ reaped children $ch)"
  [ -z "$kp" ] || [ "$kp" = 0.000 ] || cpu="$cpu (+ keeper $kp)"
  probes=$(v "$m" "${k}_probes_per_s")
  [ -z "$probes" ] || probes="$probes ($(v "$m" "${k}_failed_runs") failed)"
  printf '| %s | %s | %s → %s MiB | %s | %s %% |\n' "$3" "$cpu" "$(mib "$(v "$m" "${k}_rss0_kib")")" \
    "$(mib "$(v "$m" "${k}_rss1_kib")")" "${probes:-—}" "$(v "$m" "${k}_busy_pct")"
}
table=$(
  echo "| scenario | daemon CPU, % of one core | daemon RSS, start → end of the window | probes/s done | machine busy during the window |"
  echo "|---|---|---|---|---|"
  row tend idle "tend, nothing configured"
  row tend probes "tend, 100 checks every 1 s (60 http, 30 tcp, 10 disk), no apps"
  row tend http "tend, 100 http checks every 1 s"
  row tend tcp "tend, 100 tcp checks every 1 s"
  row tend disk "tend, 100 disk checks every 1 s"
  row tend metrics5 "tend, 100 apps, metrics every 5 s (default)"
  row tend metrics1 "tend, 100 apps, \`metrics: {interval: 1s}\`"
  row pm2 pm2 "PM2 $(v pm2 version), the same 100 apps (no interval setting)"
)
echo "$table"
for k in probes http tcp disk; do
  x=$(v tend "${k}_per_kind"); [ -z "$x" ] || say "$k per kind: $x"
done

[ "$write_doc" = 1 ] || exit 0

# The sentences say what was measured; the numbers they quote come from this run.
f() { v tend "$1"; }
# us_per KEY: the daemon's CPU per probe done, in microseconds.
us_per() { awk -v c="$(f "$1_cpu_pct")" -v n="$(f "$1_probes_per_s")" 'BEGIN {if (n > 0) printf "%.0f", c / 100 * 1e6 / n}'; }
mib_diff() { awk -v a="$(f "$1_rss1_kib")" -v b="$(f "$2_rss1_kib")" 'BEGIN {printf "%.1f", (a - b) / 1024}'; }
# notes: what the rows say, one bullet per group of scenarios this run measured.
notes() {
  local k line
  if [ -n "$(f probes_cpu_pct)" ]; then
    line="- 100 probes every second cost the daemon $(f probes_cpu_pct) % of one core against $(f idle_cpu_pct) % idle:"
    line+=$'\n'"  $(us_per probes) µs of CPU per probe ($(f probes_probes_per_s) probes/s done, $(f probes_failed_runs) failed)."
    if [ -n "$(f http_cpu_pct)$(f tcp_cpu_pct)$(f disk_cpu_pct)" ]; then
      line+=$'\n'"  Per probe and kind:"
      for k in http tcp disk; do [ -z "$(f ${k}_cpu_pct)" ] || line+=" $k $(us_per $k) µs,"; done
      line="${line%,}."
    fi
    echo "$line"
    if [ -n "$(f http_rss1_kib)" ] && [ -n "$(f tcp_rss1_kib)" ]; then
      echo "- The first http check loads libcurl (dlopen, src/core/curlx.h) and with it OpenSSL, GnuTLS,
  Kerberos and the rest of Debian's libcurl dependencies: the http rows' RSS is $(mib_diff http tcp) MiB
  above the tcp row's, mostly those libraries' pages (the daemon's \`/proc/PID/smaps\` shows
  libcrypto alone at about 3 MiB)."
    fi
  fi
  if [ -n "$(f metrics1_cpu_pct)" ] && [ -n "$(f metrics5_cpu_pct)" ]; then
    echo "- With 100 sleeping apps, \`metrics: {interval: 1s}\` costs $(f metrics1_cpu_pct) % against $(f metrics5_cpu_pct) % at the
  default 5 s. \`metrics.interval\` sets the host sampling (CPU, memory, load, disks) only: the
  per-app pass over \`/proc\` stays at every 5 s whatever it says (\`sample_interval_ms\` in
  src/supervise/sup.c), so the 1 s row does not sample the apps five times as often."
  fi
  local busy; busy=$(awk -F'\t' '$2 ~ /_busy_pct$/ && $1 != "run" {if ($3 > m) m = $3} END {print m + 0}' "$tsv")
  if [ "$busy" -gt 50 ]; then
    echo "- Other work kept the machine up to $busy % busy during the windows. The figures are the
  daemon's own CPU time, which other work does not add to, but it does slow each probe down
  (caches, the other core's load): on a quiet machine expect them somewhat lower, not higher.
  A figure below one clock tick per window is noise."
  else
    echo "- A figure below one clock tick per window is noise: compare orders of magnitude."
  fi
}

section=$(cat <<EOF
## Monitoring: probes and sampling

Measured by \`bench/watch.sh\` on $(v run date) ($(v run cpu), $(f version)); load average
$(v run loadavg_before) at the start (the machine is shared; the last column shows how busy both
cores were with everything during each window). Each scenario is a fresh daemon: $(v run settle_s) s to
settle, then the daemon's utime + stime from \`/proc/PID/stat\` over $(v run window_s) s, as % of one core
(one clock tick is $(awk -v w="$(v run window_s)" -v hz="$(v run clk_tck)" 'BEGIN {printf "%.3f", 100 / hz / w}') % over the window). "Probes/s done" is the growth
of the checks' \`runs\` counters in \`GET /v1/checks\` over the window; the http checks ask a
small Python server on 127.0.0.1, the tcp checks connect to a listener that accepts and closes,
the disk checks statvfs() a temp folder. The apps are \`bench/build/idle\`, which sleep.

$table

$(notes)
EOF
)

doc=${WATCH_DOC:-$ROOT/docs/benchmarks.md}   # another file only to try the section out
tmp=$(mktemp "$doc.XXXXXX")
# Re-read the file now (others write their own sections): replace ours, from its heading to the
# next "## " heading, or add it before "## Machine".
SECTION=$section awk '
  BEGIN { s = ENVIRON["SECTION"] }
  /^## Monitoring: probes and sampling$/ { print s; print ""; skip = 1; done = 1; next }
  skip && /^## / { skip = 0 }
  skip { next }
  /^## Machine$/ && !done { print s; print ""; done = 1 }
  { print }
  END { if (!done) { print ""; print s } }
' "$doc" >"$tmp"
cat "$tmp" >"$doc" # keeps the file's mode
rm -f "$tmp"
say "wrote the \"Monitoring: probes and sampling\" section of $doc"
