#!/usr/bin/env bash
# bench/alog.sh: access-log lines parsed per second, tend's parser and GoAccess, same file.
#
#   bench/alog.sh            2,000,000 lines; prints a table and writes the "Access-log parsing"
#                            section of docs/benchmarks.md (other sections are left alone)
#   bench/alog.sh --no-doc   the table only
#   ALOG_LINES=500000 ALOG_RUNS=3 bench/alog.sh --no-doc     a quicker run
#
# tools/alog_bench generates a deterministic, realistic combined log (and the same lines with
# " $request_time $upstream_response_time", tend's `timed` format) in a temp folder, then
# times, each on one core (taskset) with the file already in memory:
#   - parse: alog_parse() on every line (the figure with the 1,000,000 lines/s target),
#   - feed: the whole path of a tailed log: lines split from 64 KiB chunks, parsed, routed to
#     two apps by location, counted into windows and histograms,
#   - GoAccess (Debian's, installed here when missing) on the same combined file with
#     --process-and-exit: its parsing and aggregation without writing a report.
# tend's figures are the median of ALOG_RUNS runs; GoAccess runs once (it takes a minute).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
export LC_ALL=C

lines=${ALOG_LINES:-2000000}
runs=${ALOG_RUNS:-5}
write_doc=1
case ${1:-} in
  --no-doc) write_doc=0 ;;
  "") ;;
  -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
  *) echo "bench/alog.sh: unknown option \"$1\"" >&2; echo "  hint: bench/alog.sh --help" >&2; exit 2 ;;
esac

say() { printf '%s alog: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

missing=()
command -v goaccess >/dev/null 2>&1 || missing+=(goaccess)
[ -x /usr/bin/time ] || missing+=(time)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  say "installing ${missing[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

work=$(mktemp -d /tmp/tend-alog-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

# The program links tend's own sources (the parser, the statistics, core/), as they are now.
say "building tools/alog_bench"
# shellcheck disable=SC2046
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -DTEND_ALOG_BENCH -I"$root/src" \
  -o "$work/alog_bench" "$here/tools/alog_bench.c" \
  "$root"/src/watch/{alog_parse,alog_tail,hist}.c "$root"/src/core/{err,clock,util,buf,str,tlog}.c \
  $(pkg-config --cflags --libs libuv jansson) -lm

say "generating $lines lines"
"$work/alog_bench" gen "$lines" "$work/combined.log"
"$work/alog_bench" gen "$lines" "$work/timed.log" timed
bytes=$(stat -c %s "$work/combined.log")

core=$(($(nproc) - 1))
one_core() { taskset -c "$core" "$@"; }

# rates MODE FORMAT FILE: "CPU WALL", the medians over $runs runs of lines per CPU-second and
# lines per wall-clock second (malformed lines must be 0).
rates() {
  local i out cpu wall
  for ((i = 0; i < runs; i++)); do
    out=$(one_core "$work/alog_bench" "$1" "$2" "$3")
    case $out in *" malformed=0 "*) ;; *) say "malformed lines in $1 $2: $out"; exit 1 ;; esac
    cpu=${out##*lines_per_cpu_s=}; wall=${out##*lines_per_s=}
    echo "${cpu%% *} ${wall%% *}"
  done >"$work/rates"
  echo "$(cut -d' ' -f1 "$work/rates" | median) $(cut -d' ' -f2 "$work/rates" | median)"
}
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
say "tend parse (combined), $runs runs"
read -r parse_combined parse_combined_wall < <(rates parse combined "$work/combined.log")
say "tend parse (timed), $runs runs"
read -r parse_timed parse_timed_wall < <(rates parse timed "$work/timed.log")
say "tend feed (combined, the tailer's whole path), $runs runs"
read -r feed_combined feed_combined_wall < <(rates feed combined "$work/combined.log")
say "tend feed (timed), $runs runs"
read -r feed_timed feed_timed_wall < <(rates feed timed "$work/timed.log")

say "GoAccess on the same combined file (once)"
ga_version=$(goaccess --version 2>/dev/null | head -1 | sed 's/^GoAccess - //; s/\.$//')
cat "$work/combined.log" >/dev/null # in the page cache, as for tend
/usr/bin/time -f "%e %U %S" -o "$work/goaccess.time" \
  taskset -c "$core" goaccess "$work/combined.log" --log-format=COMBINED --process-and-exit \
  --no-progress >/dev/null 2>"$work/goaccess.err" || { say "goaccess failed:"; cat "$work/goaccess.err" >&2; exit 1; }
read -r ga_wall_s ga_user_s ga_sys_s <"$work/goaccess.time"
ga_rate=$(awk -v u="$ga_user_s" -v s="$ga_sys_s" -v n="$lines" 'BEGIN {printf "%.0f", n / (u + s)}')
ga_wall=$(awk -v w="$ga_wall_s" -v n="$lines" 'BEGIN {printf "%.0f", n / w}')
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

fmt() { printf '%.0f' "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.0f×", a / b}'; }
mbs() { awk -v r="$1" -v n="$lines" -v b="$bytes" 'BEGIN {printf "%.0f", r * b / n / 1e6}'; }

table=$(cat <<EOF
| what is timed (one core) | lines per CPU-second | MB per CPU-second | vs GoAccess | lines per wall-clock second |
|---|---|---|---|---|
| tend \`alog_parse()\`, combined (target ≥ 1,000,000) | $(fmt "$parse_combined") | $(mbs "$parse_combined") | $(ratio "$parse_combined" "$ga_rate") | $(fmt "$parse_combined_wall") |
| tend \`alog_parse()\`, timed (combined + \`\$request_time \$upstream_response_time\`) | $(fmt "$parse_timed") | — | — | $(fmt "$parse_timed_wall") |
| tend, whole tailer path (split, parse, route, windows, histograms), combined | $(fmt "$feed_combined") | $(mbs "$feed_combined") | $(ratio "$feed_combined" "$ga_rate") | $(fmt "$feed_combined_wall") |
| tend, whole tailer path, timed | $(fmt "$feed_timed") | — | — | $(fmt "$feed_timed_wall") |
| GoAccess $ga_version \`--log-format=COMBINED --process-and-exit\` | $(fmt "$ga_rate") | $(mbs "$ga_rate") | 1× | $(fmt "$ga_wall") ($ga_wall_s s) |
EOF
)
echo "$table"

[ "$write_doc" = 1 ] || exit 0

cpu=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
section=$(cat <<EOF
## Access-log parsing

Measured by \`bench/alog.sh\` on $(date -u +%Y-%m-%dT%H:%MZ) ($cpu, $(nproc) cores; load average
$load_before before, $load_after after). One file of $(fmt "$lines") generated lines
($(awk -v b="$bytes" 'BEGIN {printf "%.0f MB", b / 1e6}') in the combined format: mixed IPs, paths with ids and query strings, 82 % 200 and
some 304/404/302/5xx/499, half with a referer, eight real user agents), read from memory, each
program pinned to one core. tend's figures are the median of $runs runs; GoAccess ran once.

$table

- **parse** is \`alog_parse()\` alone: the line is split with memchr() into slices of itself,
  no allocation, no copy; the time is converted, the request split, numbers parsed.
- **whole tailer path** is what \`watch\` does with a followed file: 64 KiB chunks split into
  lines, parsed, mapped to an app (two location prefixes here), counted by status class and
  into each window's ring and the Prometheus buckets.
- **GoAccess** builds a dozen report panels (visitors, hosts, browsers and OSes, referrers,
  404s, ...) in hash tables: it does more per line than tend, which keeps only what watch and
  alerts use. The comparison says what it costs each tool to digest the same log, not that the
  work is the same. \`--process-and-exit\` skips writing a report.
- **per CPU-second** divides by the CPU time the process used, which holds when other work
  shares the core; per wall-clock second is lower by the share that other work took.
EOF
)

doc=$root/docs/benchmarks.md
tmp=$(mktemp "$doc.XXXXXX")
# Replace the section (from its heading to the next "## " heading) or add it before "## Machine".
SECTION=$section awk '
  BEGIN { s = ENVIRON["SECTION"] }
  /^## Access-log parsing$/ { print s; print ""; skip = 1; done = 1; next }
  skip && /^## / { skip = 0 }
  skip { next }
  /^## Machine$/ && !done { print s; print ""; done = 1 }
  { print }
  END { if (!done) { print ""; print s } }
' "$doc" >"$tmp"
cat "$tmp" >"$doc" # keeps the file's mode
rm -f "$tmp"
say "wrote the \"Access-log parsing\" section of docs/benchmarks.md"
