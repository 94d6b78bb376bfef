#!/usr/bin/env bash
# bench/backup.sh: backing up (and restoring) a 1 GB PostgreSQL database with tend, pg_dump and
# pgBackRest, on this machine, in one run.
#
#   bench/backup.sh                 a 1024 MB database; prints a table and writes the
#                                   "Backups: 1 GB PostgreSQL" section of docs/benchmarks.md
#                                   (other sections are left alone)
#   bench/backup.sh --size 128      a smaller database (a quicker run), same methods
#   bench/backup.sh --no-doc        the table only
#   ROUNDS=1 bench/backup.sh        each backup once instead of 3 times (the median is shown)
#   bench/backup.sh --report bench/results/backup-<time>/values.tsv
#                                   the table and the section again from a kept run's numbers
#
# A throwaway cluster (tests/servers/postgres.sh, fsync=off) in a temp folder gets a database
# shaped like a web product's (users, orders, events with jsonb payloads, indexes), generated
# deterministically in SQL. Each logical backup runs ROUNDS (3) times, round by round, and the
# median counts; restores and pgBackRest run once. For each method: wall time, CPU of every
# process of the method (tools) and of the PostgreSQL server, output size, ratio (database size /
# output size), and the time to restore into a fresh database, whose row counts and indexes
# must equal the original's:
#   - tend: `tend backup run` (pg_dump --format=custom --compress=0 | zstd -3 in the daemon),
#     `tend backup restore --to URL --yes`; and a second job with `compress: {level: 6}`;
#   - `pg_dump -Fc -Z0 | zstd -3 -T1`: what tend runs, by hand, to show what tend adds;
#   - `pg_dump -Fc` (zlib level 6), `pg_restore -d`;
#   - `pg_dump | gzip` (plain SQL), `gunzip -c | psql`;
#   - pgBackRest (Debian package, installed when missing): archive_mode=on with archive-push,
#     `backup --type=full`, then `restore` into a new data folder and a second cluster started
#     on it, timed until it accepts writes.
# Everything started is stopped by pid on exit; raw numbers go to bench/results/backup-<time>/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")

size_mb=1024
write_doc=1
report_tsv=""
while [ $# -gt 0 ]; do
  case $1 in
    --size) size_mb=${2:-}; shift 2 || true ;;
    --no-doc) write_doc=0; shift ;;
    --report) report_tsv=${2:-}; shift 2 || true ;;
    -h|--help) sed -n '2,31p' "$0"; exit 0 ;;
    *) echo "bench/backup.sh: unknown option \"$1\"" >&2; echo "  hint: bench/backup.sh --help" >&2; exit 2 ;;
  esac
done
case $size_mb in
  ''|*[!0-9]*) echo "bench/backup.sh: --size takes a number of MB (16 or more), not \"$size_mb\"" >&2; exit 2 ;;
esac
[ "$size_mb" -ge 16 ] || { echo "bench/backup.sh: --size $size_mb is too small; use 16 MB or more" >&2; exit 2; }

export QUIET_BUDGET_S=${QUIET_BUDGET_S:-60}
. "$here/lib.sh"   # say, record, busy_pct, wait_quiet, now_us, CLK_TCK; LC_ALL=C
S=$root/tests/servers
STEP_TIMEOUT=${STEP_TIMEOUT:-900}   # no single step (load, backup, restore) may take longer

# ---- the report: from values.tsv only, so --report can rebuild it from a kept run ------------------
v() { awk -F'\t' -v m="$1" -v k="$2" '$1 == m && $2 == k {x = $3} END {print x}' "$tsv"; }
mib() { awk -v b="$1" 'BEGIN {printf "%.1f MiB", b / 1048576}'; }
sec() { [ -n "$1" ] && awk -v s="$1" 'BEGIN {printf "%.1f s", s}' || echo "—"; }
cpu() { [ -n "$1" ] && awk -v t="$1" -v s="${2:-0}" 'BEGIN {printf "%.1f + %.1f s", t, s}' || echo "—"; }
ratio() { awk -v a="$(v run db_bytes)" -v b="$1" 'BEGIN {printf "%.2f×", a / b}'; }
row() {   # M LABEL
  local m=$1 e out chk restore
  e=$(v "$m" error)
  out=$(v "$m" out_bytes)
  if [ -z "$out" ]; then
    printf '| %s | failed: %s | | | | | |\n' "$2" "${e:-no result}"
    return
  fi
  chk=$(v "$m" restore_check)
  restore=$(sec "$(v "$m" restore_s)")
  [ "$m" != zstd ] && [ "$m" != tend6 ] || restore="not timed (tend's format)"
  case $chk in ok|"") ;; *) restore="$restore, $chk" ;; esac
  [ -z "$e" ] || [ -n "$(v "$m" restore_s)" ] || restore="failed: $e"
  local wall lo hi
  wall=$(sec "$(v "$m" wall_s)"); lo=$(v "$m" wall_min_s); hi=$(v "$m" wall_max_s)
  [ -z "$lo" ] || wall="$wall$(awk -v a="$lo" -v b="$hi" 'BEGIN {x = sprintf("%.1f", a); y = sprintf("%.1f", b); if (x != y) printf " (%s–%s)", x, y}')"
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$2" "$wall" \
    "$(cpu "$(v "$m" cpu_s)" "$(v "$m" server_cpu_s)")" "$(mib "$out")" "$(ratio "$out")" "$restore" \
    "$(cpu "$(v "$m" restore_tools_cpu_s)" "$(v "$m" restore_server_cpu_s)")"
}
f() { v "$1" "$2"; }
# The interpretation follows the measured numbers (which method was faster, smaller, cheaper).
interp() {
  local k m args=()
  for m in tend tend6 zstd fc gzip pgbr; do
    for k in wall_s cpu_s server_cpu_s out_bytes restore_s restore_tools_cpu_s restore_server_cpu_s; do
      args+=(-v "${m}_${k}=$(f "$m" "$k")")
    done
  done
  awk "${args[@]}" -v q="'" '
  function mib(b) { return sprintf("%.0f MiB", b / 1048576) }
  function pc(a, b) { return sprintf("%.0f %% %s", 100 * (a > b ? a / b - 1 : 1 - a / b), a > b ? "larger" : "smaller") }
  BEGIN {
    if (!tend_wall_s || !fc_wall_s) { print "tend or `pg_dump -Fc` did not finish; see the run" q "s commands.log."; exit }
    printf "**Backup.** tend took %.1f s and %.1f s of CPU outside the server where `pg_dump -Fc` took %.1f s and %.1f s: zstd level 3 is %s than zlib level 6", \
      tend_wall_s, tend_cpu_s, fc_wall_s, fc_cpu_s, (tend_cpu_s < 0.9 * fc_cpu_s ? "cheaper" : "no cheaper")
    printf ", but on this data its file is %s (%s against %s): zstd" q "s levels up to 4 probe one hash entry per position where zlib" q "s level 6 searches chains of earlier matches, and rows of short repeated words and numbers reward the search", \
      pc(tend_out_bytes, fc_out_bytes), mib(tend_out_bytes), mib(fc_out_bytes)
    if (tend6_out_bytes)
      printf "; with `level: 6` (one line of tend.yaml) tend" q "s file is %s than `-Fc`" q "s, for %.1f s of CPU", \
        pc(tend6_out_bytes, fc_out_bytes), tend6_cpu_s
    printf ". "
    if (zstd_wall_s) {
      d = tend_cpu_s - zstd_cpu_s
      printf "The same pipeline by hand (`pg_dump -Fc -Z0 | zstd -3`) took %.1f s and %.1f s of CPU", zstd_wall_s, zstd_cpu_s
      if (d > 0.05 * zstd_cpu_s)
        printf ": tend adds %.1f s of CPU (%.0f %%; the SHA-256 of the output, the copies through the daemon" q "s thread). ", d, 100 * d / zstd_cpu_s
      else
        printf ": tend" q "s own work (the copies through its thread, the SHA-256) adds no measurable CPU%s. ", (tend_wall_s > 1.3 * zstd_wall_s || zstd_wall_s > 1.3 * tend_wall_s) ? \
          " (the wall times differ by more than that: the machine" q "s other load, which changed from one minute to the next)" : ""
    }
    if (gzip_wall_s)
      printf "Plain SQL through gzip took %.1f s and %.1f s of CPU for a file %s than tend" q "s.", gzip_wall_s, gzip_cpu_s, pc(gzip_out_bytes, tend_out_bytes)
    printf "\n\n"
    if (tend_restore_s && fc_restore_s) {
      tc = tend_restore_tools_cpu_s + tend_restore_server_cpu_s; fc = fc_restore_tools_cpu_s + fc_restore_server_cpu_s
      printf "**Restore.** tend runs pg_restore on the decompressed stream: %.1f s of CPU (tools + server) against %.1f s for `pg_restore` of the `-Fc` file", tc, fc
      w = tend_restore_s / fc_restore_s
      if ((w > 1.2 || w < 0.83) && tc < 1.15 * fc && tc > 0.87 * fc)
        printf "; the wall times (%.1f s against %.1f s) differ more than the CPU does, which is the machine" q "s other load, not the restore", tend_restore_s, fc_restore_s
      else
        printf ", %.1f s against %.1f s of wall time", tend_restore_s, fc_restore_s
      if (tend_restore_tools_cpu_s > fc_restore_tools_cpu_s + 0.3)
        printf "; tend" q "s %.1f s more outside the server are zstd decompression and the SHA-256 check", tend_restore_tools_cpu_s - fc_restore_tools_cpu_s
      if (gzip_restore_s) printf "; replaying plain SQL through psql took %.1f s", gzip_restore_s
      printf ". The server does %.0f %% of a logical restore" q "s work: writing every row again and building every index, one at a time. ", 100 * fc_restore_server_cpu_s / fc
    }
    if (pgbr_restore_s && pgbr_out_bytes)
      printf "pgBackRest copies the data files (indexes included, and the rest of the cluster), so its repository is %.1f× tend" q "s file and its backup took %.1f s (%.1f s of CPU, gz level 6 on one process); its restore, a file copy plus a little WAL replay, gave a writable server in %.1f s against tend" q "s %.1f s. It needs WAL archiving (a restart), and restores a whole cluster of the same major version; tend" q "s dump restores one database into any server.\n", \
        pgbr_out_bytes / tend_out_bytes, pgbr_wall_s, pgbr_cpu_s, pgbr_restore_s, tend_restore_s
  }'
  [ -z "$(f pgbr error)" ] || echo "pgBackRest could not be measured: $(f pgbr error)."
}

# write_report: the table (printed) and, unless --no-doc, this benchmark's section of the doc.
write_report() {
  local table section doc tmp
  table=$(cat <<EOF
| method | backup wall | backup CPU: tools + server | output | ratio | restore wall (checked) | restore CPU: tools + server |
|---|---|---|---|---|---|---|
$(row tend "tend \`backup run\` (custom format, zstd 3)")
$(row tend6 "tend, \`compress: {method: zstd, level: 6}\`")
$(row zstd "\`pg_dump -Fc -Z0 \\| zstd -3 -T1\` (tend's pipeline by hand)")
$(row fc "\`pg_dump -Fc\` (zlib 6)")
$(row gzip "\`pg_dump \\| gzip\` (plain SQL)")
$(row pgbr "pgBackRest \`backup --type=full\` (gz 6, 1 process)")
EOF
  )
  echo "$table"
  [ "$write_doc" = 1 ] || return 0

  section=$(cat <<EOF
## Backups: 1 GB PostgreSQL

Measured by \`bench/backup.sh\` on $(f machine date) ($(f machine cpu), $(f machine cores) cores shared
with other work, $(f machine ram); load average $(f machine loadavg_start) at the start,
$(f machine loadavg_end) at the end). Each logical backup ran $(f run rounds) times, round by round
(tend, tend at level 6, the pipeline by hand, \`-Fc\`, gzip, then again): the table shows the
median, and the backup wall's range in brackets; restores and pgBackRest ran once. Every step
started after a checkpoint and a sync of the file system. A throwaway PostgreSQL cluster
(\`tests/servers/postgres.sh\`, \`fsync=off\`) on 127.0.0.1 holds one database shaped like a
web product's, generated deterministically in SQL: users (names, emails, plans, a bio for some),
orders (numeric amounts, three timestamps, addresses), events (one row per page view, click,
search..., with a jsonb payload: path, referrer, user agent, screen, properties) and 8 indexes.
Database size (\`pg_database_size\`): **$(mib "$(f run db_bytes)")** ($(f run tables)); rows and
indexes: $(f run counts).

$table

- **backup wall**: from the command to the file on disk. **CPU: tools + server**: user + sys
  of every process of the method: for the shell pipelines \`/usr/bin/time\` around \`bash -c
  '...'\` (pg_dump, the compressor, psql); for tend, utime + stime + cutime + cstime of the daemon
  from \`/proc/PID/stat\` before and after (its compression thread, and pg_dump or pg_restore,
  which the daemon reaps so their time lands in its cutime) plus the \`tend backup\` command
  itself; for pgBackRest, the command and its local worker. Then the PostgreSQL cluster's CPU
  meanwhile, read the same way (the postmaster, its live processes and the backends it reaped:
  the \`COPY\` that serves pg_dump, the inserts and index builds of a restore, the checkpoint
  and WAL archiving for pgBackRest; for pgBackRest's restore, all of the new cluster's CPU from
  its start to its promotion). The machine is shared with other work (the load averages
  above): wall times are inflated and noisy, CPU times much less so.
- **ratio**: database size / output size. tend's pg_dump stream was $(mib "$(f tend raw_bytes)") before
  zstd. pgBackRest's output is its whole repository: the backup of the whole cluster
  ($(mib "$(f pgbr cluster_bytes)") with the system databases) and the archived WAL it needs.
- **restore wall**: into a fresh database on the same server (\`tend backup restore bench --to
  URL --yes\`; \`pg_restore --no-owner --no-privileges -d\`; \`gunzip -c | psql\`), or for
  pgBackRest \`pgbackrest restore --type=immediate --target-action=promote\` into a new data
  folder ($(sec "$(f pgbr restore_files_s)") of copying), then a second cluster started on it, until
  \`pg_is_in_recovery()\` is false. "checked": every restore was followed by row counts of the
  three tables and the number of indexes, equal to the original's (any difference is printed
  in the cell).
- Versions: $(f version pg_dump); zstd $(f version zstd_lib) (the library tend links; the CLI:
  $(f version zstd)); $(f version gzip); $(f version pgbackrest); $(f version tend).

$(interp)
EOF
  )

  doc=${BENCH_DOC:-$root/docs/benchmarks.md}   # BENCH_DOC: another file, for trying the script
  # Re-read right before writing: other benchmarks write their own sections of the same file.
  # Replace this section (from its heading to the next "## " heading) or add it before "## Machine".
  tmp=$(mktemp "$doc.XXXXXX")
  SECTION=$section awk '
    BEGIN { s = ENVIRON["SECTION"] }
    /^## Backups: 1 GB PostgreSQL$/ { print s; print ""; skip = 1; done = 1; next }
    skip && /^## / { skip = 0 }
    skip { next }
    /^## Machine$/ && !done { print s; print ""; done = 1 }
    { print }
    END { if (!done) { print ""; print s } }
  ' "$doc" >"$tmp"
  cat "$tmp" >"$doc" # keeps the file's mode
  rm -f "$tmp"
  say "wrote the \"Backups: 1 GB PostgreSQL\" section of $doc (raw numbers: $(dirname "$tsv"))"
}

if [ -n "$report_tsv" ]; then
  [ -f "$report_tsv" ] || { echo "bench/backup.sh: no file $report_tsv" >&2; exit 2; }
  tsv=$report_tsv
  write_report
  exit 0
fi

# ---- room and tools ---------------------------------------------------------------------------
# The database, three restored copies one at a time, the backups, WAL and a restored cluster.
need_mb=$((size_mb * 7 > 8192 ? size_mb * 7 : 8192))
free_mb=$(df -Pk /tmp | awk 'NR == 2 {printf "%d", $4 / 1024}')
if [ "$free_mb" -lt "$need_mb" ]; then
  echo "bench/backup.sh: /tmp has $free_mb MB free; a $size_mb MB run needs $need_mb MB" \
       "(the database, a restored copy, the backups, WAL, a restored cluster)." >&2
  echo "  hint: free space in /tmp, or run a smaller database: bench/backup.sh --size 256" >&2
  exit 1
fi
missing=()
[ -x /usr/bin/time ] || missing+=(time)
command -v pgbackrest >/dev/null 2>&1 || missing+=(pgbackrest)
command -v zstd >/dev/null 2>&1 || missing+=(zstd)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  say "installing ${missing[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } ||
    say "apt-get failed; methods without their tool are skipped"
fi
[ -x /usr/bin/time ] || { echo "bench/backup.sh: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }
command -v zstd >/dev/null 2>&1 || { echo "bench/backup.sh: zstd is missing (apt-get install zstd)" >&2; exit 1; }
[ -x "$TEND_BIN" ] || { echo "bench/backup.sh: no tend binary at $TEND_BIN (make tend, or TEND_BIN=path)" >&2; exit 1; }

stamp=$(date +%Y%m%d-%H%M%S)
export RESULTS=$here/results/backup-$stamp
mkdir -p "$RESULTS"
LOG=$RESULTS/commands.log
work=$(mktemp -d /tmp/tend-backup-bench.XXXXXX)
chmod 0711 "$work"   # the postgres user must reach the clusters and pgBackRest's folders in it
export TEND_HOME=$work/home
mkdir -m 0700 "$TEND_HOME"

# pgBackRest runs as the owner of the data folder (postgres, when we are root).
if [ "$(id -u)" -eq 0 ]; then as_pg=(runuser -u postgres --); else as_pg=(); fi
daemon_pid() { cat "$TEND_HOME/tend.pid" 2>/dev/null || true; }
cleanup() {
  local dp k
  dp=$(daemon_pid)
  if [ -n "$dp" ] && kill -0 "$dp" 2>/dev/null; then
    timeout 20 "$TEND_BIN" kill >/dev/null 2>&1 || true
    for _ in $(seq 50); do kill -0 "$dp" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$dp" 2>/dev/null || true
  fi
  # The keeper of our TEND_HOME (tend's pipe holder) outlives the daemon by design: ours too.
  for k in $(grep -lsa -- "__keeper $TEND_HOME/" /proc/[0-9]*/cmdline 2>/dev/null); do
    k=${k#/proc/}; kill "${k%%/*}" 2>/dev/null || true
  done
  "$S/postgres.sh" stop "$work/pg2" >/dev/null 2>&1 || true
  "$S/postgres.sh" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# tend is rebuilt by others while we run: measure one snapshot of the binary throughout.
cp "$TEND_BIN" "$work/tend"
tend_sha=$(sha256sum "$work/tend" | cut -c1-12)
TEND=$work/tend

# ---- machine and versions ---------------------------------------------------------------------
record machine cpu "$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
record machine cores "$(nproc)"
record machine ram "$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
record machine os "$(. /etc/os-release && echo "$PRETTY_NAME")"
record machine date "$(date -u +%Y-%m-%dT%H:%MZ)"
record machine loadavg_start "$(cut -d' ' -f1-3 /proc/loadavg)"
record machine busy_start_pct "$(busy_pct 1)"
record run size_mb "$size_mb"

# ---- the cluster and the database --------------------------------------------------------------
mkdir -m 0711 "$work/pg"
pg_env=$("$S/postgres.sh" start "$work/pg") || { echo "bench/backup.sh: cannot start PostgreSQL" >&2; exit 1; }
eval "$pg_env"
export PGHOST PGPORT PGUSER
psql() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
record version pg_dump "$("$PG_BIN/pg_dump" --version)"
record version zstd "$(zstd --version | sed 's/^\*\*\* //; s/, by .*//')"
record version gzip "$(gzip --version | head -1)"
record version pgbackrest "$(pgbackrest version 2>/dev/null || echo 'not installed')"
record version tend "$(TEND_HOME=$work/nod "$TEND" --version 2>&1 | head -1) (binary sha256 $tend_sha)"

# Row counts per MB of database, measured: events (with their jsonb) are about 3/4 of it.
nu=$((size_mb * 150)); no=$((size_mb * 900)); ne=$((size_mb * 1900))
say "generating a $size_mb MB database: $nu users, $no orders, $ne events"
t0=$(now_us)
psql -d postgres -c "CREATE DATABASE shop"
timeout "$STEP_TIMEOUT" "$PG_BIN/psql" -X -q -d shop -v nu="$nu" -v no="$no" -v ne="$ne" >>"$LOG" 2>&1 <<'SQL' || { say "generating the database failed:"; tail -n 5 "$LOG" >&2; exit 1; }
\set ON_ERROR_STOP 1
SET synchronous_commit = off;
SET maintenance_work_mem = '256MB';
-- Words the text columns are made of: real text repeats itself, so it compresses as real text.
CREATE TEMP TABLE w AS SELECT
  ARRAY['James','Mary','Wei','Fatima','Carlos','Anna','Yuki','Olga','Ahmed','Priya','John','Sofia','Lucas','Emma','Noah','Li','Mohammed','Elena','David','Aisha','Pedro','Chloe','Ivan','Mei','Omar','Laura','Hiro','Zoe','Raj','Nina'] AS first,
  ARRAY['Smith','Wang','Garcia','Müller','Kim','Silva','Ivanova','Khan','Tanaka','Rossi','Brown','Nguyen','Lopez','Chen','Dubois','Patel','Kowalski','Jensen','Okafor','Costa'] AS last,
  ARRAY['gmail.com','yahoo.com','outlook.com','hotmail.com','qq.com','163.com','icloud.com','proton.me','example.org','company.io'] AS domain,
  ARRAY['US','US','US','CN','CN','DE','GB','FR','IN','BR','JP','CA','ES','IT','NL','AU','PL','SE','MX','KR'] AS country,
  ARRAY['free','free','free','free','free','free','pro','pro','team','enterprise'] AS plan,
  ARRAY['Coffee lover','Software engineer','Runner','Photographer','Student','Small business owner','Designer','Parent of two','Traveler','Gamer','Teacher','Data analyst'] AS bio1,
  ARRAY['based in','living in','from','working remotely in','moving to'] AS bio2,
  ARRAY['Berlin','Shanghai','New York','London','Paris','São Paulo','Tokyo','Toronto','Madrid','Mumbai','Sydney','Seoul'] AS city,
  ARRAY['delivered','delivered','delivered','delivered','delivered','delivered','delivered','shipped','shipped','paid','cancelled','refunded'] AS status,
  ARRAY['USD','USD','USD','EUR','EUR','GBP','CNY','CNY','JPY','BRL'] AS currency,
  ARRAY['Main St','Oak Ave','Park Rd','High St','Church Ln','Maple Dr','Station Rd','Elm St','Lake View','Hill Rd'] AS street,
  ARRAY['page_view','page_view','page_view','page_view','page_view','page_view','click','click','search','add_to_cart','checkout','login'] AS etype,
  ARRAY['/','/products','/products/%s','/products/%s','/products/%s','/cart','/checkout','/search','/account','/blog/%s','/help','/pricing'] AS path,
  ARRAY['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
        'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
        'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
        'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36',
        'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0'] AS ua,
  ARRAY[NULL,NULL,NULL,'https://www.google.com/','https://www.google.com/','https://www.bing.com/','https://t.co/','https://www.facebook.com/','https://news.ycombinator.com/','https://www.baidu.com/'] AS ref,
  ARRAY['1920x1080','1366x768','1440x900','390x844','412x915','2560x1440','1536x864','375x667'] AS screen,
  ARRAY['running shoes','laptop stand','usb c cable','coffee grinder','wireless earbuds','yoga mat','desk lamp','backpack','water bottle','phone case','monitor','keyboard'] AS query;

-- h(g, salt): a deterministic pseudo-random non-negative int for row g; pick: a word by it.
CREATE FUNCTION h(g bigint, salt int) RETURNS int LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT hashint8(g * 7919 + salt) & 2147483647 $$;
CREATE FUNCTION pick(a text[], g bigint, salt int) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT a[1 + h(g, salt) % cardinality(a)] $$;

CREATE TABLE users (
  id integer PRIMARY KEY, email text NOT NULL, name text NOT NULL, country char(2) NOT NULL,
  plan text NOT NULL, created_at timestamptz NOT NULL, last_login_at timestamptz,
  marketing_opt_in boolean NOT NULL, bio text);
INSERT INTO users
SELECT g, lower(f) || '.' || lower(l) || g || '@' || pick(w.domain, g, 3), f || ' ' || l,
  pick(w.country, g, 4), pick(w.plan, g, 5),
  timestamptz '2019-01-01 00:00:00+00' + (g * interval '11 minutes') + h(g, 6) % 600 * interval '1 second',
  CASE WHEN h(g, 7) % 10 < 8 THEN timestamptz '2025-06-01 00:00:00+00' + h(g, 8) % 15552000 * interval '1 second' END,
  h(g, 9) % 3 = 0,
  CASE WHEN h(g, 10) % 10 < 3 THEN pick(w.bio1, g, 11) || ', ' || pick(w.bio2, g, 12) || ' ' || pick(w.city, g, 13) || '.' END
FROM w, generate_series(1, :nu) g, LATERAL (SELECT pick(w.first, g, 1) f, pick(w.last, g, 2) l) n;

CREATE TABLE orders (
  id bigint PRIMARY KEY, user_id integer NOT NULL, status text NOT NULL, currency char(3) NOT NULL,
  items smallint NOT NULL, subtotal numeric(12,2) NOT NULL, tax numeric(12,2) NOT NULL,
  total numeric(12,2) NOT NULL, coupon text, shipping_address text NOT NULL,
  created_at timestamptz NOT NULL, paid_at timestamptz, shipped_at timestamptz);
INSERT INTO orders
SELECT g, u, st, pick(w.currency, u, 22), 1 + h(g, 23) % 6, sub, round(sub * 0.08, 2),
  sub + round(sub * 0.08, 2),
  CASE WHEN h(g, 24) % 10 = 0 THEN 'SAVE' || (5 + h(g, 25) % 4 * 5) END,
  (1 + h(u, 26) % 999) || ' ' || pick(w.street, u, 27) || ', ' || pick(w.city, u, 28),
  t, t + (30 + h(g, 29) % 600) * interval '1 second',
  CASE WHEN st IN ('delivered', 'shipped') THEN t + (1 + h(g, 31) % 72) * interval '1 hour' END
FROM w, generate_series(1, :no) g,
  LATERAL (SELECT 1 + h(g, 20) % :nu AS u, pick(w.status, g, 21) AS st,
                  ((99 + h(g, 32) % 49900) / 100.0)::numeric(12,2) AS sub,
                  timestamptz '2021-01-01 00:00:00+00' + g * (interval '1 second' * (157680000 / :no)) AS t) x;

-- Visits of about 40 events by one user (a fifth anonymous), a year of them.
CREATE TABLE events (
  id bigint PRIMARY KEY, user_id integer, session_id text NOT NULL, type text NOT NULL,
  at timestamptz NOT NULL, payload jsonb NOT NULL);
INSERT INTO events
SELECT g, u, md5(coalesce(u, 0)::text || '/' || (g / 40)::text), et, t,
  jsonb_strip_nulls(jsonb_build_object(
    'path', format(pick(w.path, g, 42), 1 + h(g, 43) % 5000),
    'referrer', pick(w.ref, g, 44),
    'ua', pick(w.ua, g / 40, 45),
    'screen', pick(w.screen, g / 40, 46),
    'ms', 20 + h(g, 47) % 900,
    'props', CASE et
      WHEN 'search' THEN jsonb_build_object('query', pick(w.query, g, 48), 'results', h(g, 49) % 200)
      WHEN 'add_to_cart' THEN jsonb_build_object('product_id', 1 + h(g, 43) % 5000, 'qty', 1 + h(g, 50) % 3,
                                                 'price', ((99 + h(g, 51) % 49900) / 100.0)::numeric(12,2))
      WHEN 'checkout' THEN jsonb_build_object('order_id', 1 + h(g, 52) % :no, 'step', 1 + h(g, 53) % 4)
      WHEN 'click' THEN jsonb_build_object('target', 'button#' || pick(w.etype, g, 54))
    END))
FROM w, generate_series(1, :ne) g,
  LATERAL (SELECT CASE WHEN h(g, 40) % 10 < 2 THEN NULL ELSE 1 + (g / 40 + h(g / 40, 41)::bigint) % :nu END AS u,
                  pick(w.etype, g, 55) AS et,
                  timestamptz '2025-01-01 00:00:00+00' + g * (interval '1 millisecond' * (31536000000 / :ne)) AS t) x;

CREATE UNIQUE INDEX ON users (email);
CREATE INDEX ON orders (user_id);
CREATE INDEX ON orders (created_at);
CREATE INDEX ON events (user_id, at);
CREATE INDEX ON events (type, at);
DROP FUNCTION pick(text[], bigint, int);
DROP FUNCTION h(bigint, int);
VACUUM ANALYZE;
SQL
record run generate_s "$(awk -v a="$t0" -v b="$(now_us)" 'BEGIN {printf "%.0f", (b - a) / 1e6}')"
db_bytes=$(psql -d shop -At -c "SELECT pg_database_size('shop')")
record run db_bytes "$db_bytes"
record run tables "$(psql -d shop -At -F ' ' -c "SELECT relname || '=' || pg_size_pretty(pg_total_relation_size(oid))
  FROM pg_class WHERE relname IN ('users', 'orders', 'events') ORDER BY 1" | paste -sd ' ')"

# counts DB [PORT]: "users=N orders=N events=N indexes=N": what a restore must give back.
counts() {
  psql -d "$1" ${2:+-p "$2"} -At -c "SELECT 'users=' || (SELECT count(*) FROM users) ||
    ' orders=' || (SELECT count(*) FROM orders) || ' events=' || (SELECT count(*) FROM events) ||
    ' indexes=' || (SELECT count(*) FROM pg_indexes WHERE schemaname = 'public')"
}
want=$(counts shop)
record run counts "$want"

# ---- measuring ---------------------------------------------------------------------------------
# CPU ticks of a cluster: the postmaster and its live children (utime + stime + cutime +
# cstime), plus, through the postmaster's cutime, every backend it has reaped. Read with the
# shell's `read` (no fork per process); the comm field may hold spaces: fields after ") ".
pg_ticks() {
  local pm f s t=0
  pm=$(head -n 1 "$1/data/postmaster.pid")
  for f in /proc/[0-9]*/stat; do
    read -r s 2>/dev/null <"$f" || continue
    s=${s##*) }
    # shellcheck disable=SC2086
    set -- $s
    if [ "$2" = "$pm" ] || [ "${f//[^0-9]/}" = "$pm" ]; then t=$((t + ${12} + ${13} + ${14} + ${15})); fi
  done
  echo "$t"
}
# The same for one process and the children it reaped (the tend daemon reaps pg_dump).
# shellcheck disable=SC2086
proc_ticks() { local s; read -r s <"/proc/$1/stat"; s=${s##*) }; set -- $s; echo $((${12} + ${13} + ${14} + ${15})); }
secs() { awk -v t="$1" -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", t / hz}'; }

# timed KEY CMD...: run CMD (bounded) under /usr/bin/time; sets WALL and CPU (user + sys of CMD
# and of every child it waited for, in s) and SRV (the cluster's CPU meanwhile, in s).
timed() {
  local key=$1 s0 rc=0 w u y; shift
  s0=$(pg_ticks "$work/pg")
  echo "== $key: $*" >>"$LOG"
  timeout "$STEP_TIMEOUT" /usr/bin/time -f '%e %U %S' -o "$work/$key.time" "$@" >>"$LOG" 2>&1 || rc=$?
  SRV=$(secs $(($(pg_ticks "$work/pg") - s0)))
  if [ $rc -ne 0 ]; then
    say "$key failed (exit $rc): $*"; tail -n 5 "$LOG" >&2
    return $rc
  fi
  read -r w u y <"$work/$key.time"
  WALL=$w
  CPU=$(awk -v u="$u" -v s="$y" 'BEGIN {printf "%.2f", u + s}')
}

# check KEY DB [PORT]: the restored database has the original's rows and indexes.
check() {
  local got; got=$(counts "$2" "${3:-}" 2>&1) || got="cannot count: $got"
  if [ "$got" = "$want" ]; then record "$1" restore_check ok
  else record "$1" restore_check "MISMATCH: $got (want $want)"; fi
}

# before METHOD: note how busy the machine was (sampled by `method`) as METHOD starts.
before() { record "$1" busy_before_pct "$BUSY"; record "$1" loadavg_before "$(cut -d' ' -f1-3 /proc/loadavg)"; say "$1"; }

URL=postgresql://tend@127.0.0.1:$PGPORT

# ---- the logical backups: tend and pg_dump ---------------------------------------------------
# Each backup runs ROUNDS times, round by round (tend, tend at level 6, the pipeline by hand,
# -Fc, gzip, then again), so that a minute of other work on the machine does not land on one
# method only; the table shows the median. bk_* M ROUND: one backup, its figures recorded with
# the round's number; the last round's output is what the restores read.
ROUNDS=${ROUNDS:-3}

# tend_backup KEY JOB ROUND: one `tend backup run JOB`, measured; its file in $FILE.
tend_backup() {
  local key=$1 job=$2 r=$3 dp d0 d1
  dp=$(daemon_pid)
  [ -n "$dp" ] || { record "$key" error "no tend daemon pid in $TEND_HOME/tend.pid"; return 1; }
  rm -f "$work/backups-$job"/*   # the previous round's backup and manifest
  before "$key"
  d0=$(proc_ticks "$dp")
  timed "$key" "$TEND" backup run "$job" --json
  d1=$(proc_ticks "$dp")
  record "$key" "wall_s_$r" "$WALL"
  record "$key" "cpu_s_$r" "$(awk -v a="$CPU" -v b="$(secs $((d1 - d0)))" 'BEGIN {printf "%.2f", a + b}')"
  record "$key" "server_cpu_s_$r" "$SRV"
  FILE=$(ls "$work/backups-$job"/"$job"-*.dump.zst)
  record "$key" out_bytes "$(stat -c %s "$FILE")"
  record "$key" raw_bytes "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["size_raw"])' "$FILE.json")"
}

start_tend() {
  cat >"$work/tend.yaml" <<YAML
backups:
  - name: bench
    postgres: {url: "$URL/shop"}
    targets: [{local: $work/backups-bench}]
    timeout: 30m
  - name: bench6
    postgres: {url: "$URL/shop"}
    targets: [{local: $work/backups-bench6}]
    compress: {method: zstd, level: 6}
    timeout: 30m
YAML
  "$TEND" up "$work/tend.yaml" >>"$LOG" 2>&1
}

bk_tend() {
  tend_backup tend bench "$1"
  record version zstd_lib "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tools"]["zstd"])' "$FILE.json")"
}
bk_tend6() { tend_backup tend6 bench6 "$1"; }   # one line of tend.yaml changed: zstd level 6

# sh_backup KEY ROUND OUTPUT SCRIPT: one pipeline of the shell, measured; OUTPUT is what it wrote.
sh_backup() {
  before "$1"
  timed "$1" bash -c "$4"
  record "$1" "wall_s_$2" "$WALL"; record "$1" "cpu_s_$2" "$CPU"; record "$1" "server_cpu_s_$2" "$SRV"
  record "$1" out_bytes "$(stat -c %s "$3")"
}
# What tend runs, by hand: the same stream, zstd -3 on one thread.
bk_zstd() {
  sh_backup zstd "$1" "$work/shop.dump.zst" "'$PG_BIN/pg_dump' --format=custom --compress=0 --no-password -d '$URL/shop' |
    zstd -q -f -3 -T1 -o '$work/shop.dump.zst'"
}
bk_fc() { sh_backup fc "$1" "$work/shop.dump" "'$PG_BIN/pg_dump' -Fc --no-password -d '$URL/shop' -f '$work/shop.dump'"; }
bk_gzip() { sh_backup gzip "$1" "$work/shop.sql.gz" "'$PG_BIN/pg_dump' --no-password -d '$URL/shop' | gzip > '$work/shop.sql.gz'"; }

# medians M: the median of the rounds of wall_s, cpu_s and server_cpu_s; the wall's min and max.
medians() {
  local k x
  for k in wall_s cpu_s server_cpu_s; do
    x=$(awk -F'\t' -v m="$1" -v k="$k" '$1 == m && index($2, k "_") == 1 && $2 ~ /_[0-9]+$/ {print $3}' "$RESULTS/values.tsv")
    [ -n "$x" ] || continue
    record "$1" "$k" "$(median <<<"$x")"
    [ "$k" != wall_s ] || { record "$1" wall_min_s "$(minimum <<<"$x")"; record "$1" wall_max_s "$(maximum <<<"$x")"; }
  done
}

# restore KEY DB CMD...: CMD restores into the fresh database DB, measured and checked.
restore() {
  local key=$1 db=$2; shift 2
  psql -d postgres -c "CREATE DATABASE $db"
  before "${key}_restore"
  timed "${key}_restore" "$@"
  record "$key" restore_s "$WALL"; record "$key" restore_tools_cpu_s "$CPU"; record "$key" restore_server_cpu_s "$SRV"
  check "$key" "$db"
  psql -d postgres -c "DROP DATABASE $db"
}
rs_tend() {   # pg_restore runs in the daemon: its CPU is in the daemon's cutime
  local dp d0 d1
  dp=$(daemon_pid)
  d0=$(proc_ticks "$dp")
  restore tend r_tend "$TEND" backup restore bench --to "$URL/r_tend" --yes
  d1=$(proc_ticks "$dp")
  record tend restore_tools_cpu_s "$(awk -v a="$(v tend restore_tools_cpu_s)" -v b="$(secs $((d1 - d0)))" 'BEGIN {printf "%.2f", a + b}')"
}
rs_fc() {
  restore fc r_fc "$PG_BIN/pg_restore" --no-owner --no-privileges --exit-on-error -d "$URL/r_fc" "$work/shop.dump"
}
rs_gzip() {
  restore gzip r_sql bash -c "gunzip -c '$work/shop.sql.gz' |
    '$PG_BIN/psql' -X -q -v ON_ERROR_STOP=1 -d '$URL/r_sql' -o /dev/null"
}

# ---- pgBackRest ----------------------------------------------------------------------------------
# A physical backup of the whole cluster: WAL archiving on (archive_command = archive-push; a
# restart), a stanza whose repository is in the temp folder, a full backup with a fast
# checkpoint; the restore goes into a new data folder and a second cluster recovers from it to
# the backup's consistent point and is promoted. pgBackRest's defaults otherwise: gz level 6,
# one process.
run_pgbr() {
  command -v pgbackrest >/dev/null 2>&1 || { record pgbr error "pgbackrest is not installed (apt-get install pgbackrest)"; return 0; }
  local br=$work/pgbr conf=$work/pgbr/pgbackrest.conf t0
  mkdir -p "$br/log" "$br/lock" "$br/spool" "$br/repo"
  [ "$(id -u)" -ne 0 ] || chown -R postgres: "$br"
  psql -d postgres -c "ALTER SYSTEM SET archive_mode = on" \
    -c "ALTER SYSTEM SET archive_command = 'pgbackrest --config=$conf --stanza=bench archive-push %p'"
  "$S/postgres.sh" stop "$work/pg"
  pg_env=$("$S/postgres.sh" start "$work/pg") || { record pgbr error "the cluster did not restart with archive_mode=on"; return 1; }
  eval "$pg_env"
  cat >"$conf" <<CONF
[global]
repo1-path=$br/repo
repo1-retention-full=1
log-path=$br/log
lock-path=$br/lock
spool-path=$br/spool
log-level-console=warn
log-level-file=off
start-fast=y

[bench]
pg1-path=$work/pg/data
pg1-port=$PGPORT
pg1-socket-path=$work/pg
pg1-user=tend
CONF
  [ "$(id -u)" -ne 0 ] || chown postgres: "$conf"
  "${as_pg[@]}" pgbackrest --config="$conf" --stanza=bench stanza-create >>"$LOG" 2>&1 &&
    "${as_pg[@]}" pgbackrest --config="$conf" --stanza=bench check >>"$LOG" 2>&1 ||
    { record pgbr error "stanza-create or check failed: $(tail -n 2 "$LOG" | tr '\n' ' ')"; return 1; }
  before pgbr
  timed pgbr "${as_pg[@]}" pgbackrest --config="$conf" --stanza=bench backup --type=full ||
    { record pgbr error "backup failed: $(tail -n 2 "$LOG" | tr '\n' ' ')"; return 1; }
  record pgbr wall_s "$WALL"; record pgbr cpu_s "$CPU"; record pgbr server_cpu_s "$SRV"
  record pgbr out_bytes "$(du -sb "$br/repo" | cut -f1)"
  record pgbr cluster_bytes "$(psql -d postgres -At -c "SELECT sum(pg_database_size(datname)) FROM pg_database")"
  mkdir -m 0755 "$work/pg2"
  [ "$(id -u)" -ne 0 ] || chown postgres: "$work/pg2"
  t0=$(now_us)
  timed pgbr_restore "${as_pg[@]}" pgbackrest --config="$conf" --stanza=bench restore --pg1-path="$work/pg2/data" \
      --type=immediate --target-action=promote ||
    { record pgbr error "restore failed: $(tail -n 2 "$LOG" | tr '\n' ' ')"; return 1; }
  record pgbr restore_files_s "$WALL"
  record pgbr restore_tools_cpu_s "$CPU"
  # The copy must not archive into the same stanza once promoted.
  echo "archive_mode = 'off'" >>"$work/pg2/data/postgresql.auto.conf"
  local env2 port2 deadline
  env2=$("$S/postgres.sh" start "$work/pg2") || { record pgbr error "the restored cluster did not start: $(tail -n 3 "$work/pg2/server.log" | tr '\n' ' ')"; return 1; }
  port2=$(sed -n 's/^PGPORT=//p' <<<"$env2")
  # Polled every 0.1 s: a tighter loop would take CPU from the recovery it waits for.
  deadline=$(($(now_us) + 300000000))
  until [ "$(psql -p "$port2" -d postgres -At -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ]; do
    [ "$(now_us)" -lt "$deadline" ] || { record pgbr error "the restored cluster was still in recovery after 300 s"; return 1; }
    sleep 0.1
  done
  record pgbr restore_s "$(awk -v a="$t0" -v b="$(now_us)" 'BEGIN {printf "%.2f", (b - a) / 1e6}')"
  # The new cluster's CPU from its start (recovery, promotion): all of it is the restore's.
  record pgbr restore_server_cpu_s "$(secs "$(pg_ticks "$work/pg2")")"
  check pgbr shop "$port2"
  "$S/postgres.sh" stop "$work/pg2"
}

# method NAME FN [ARGS]: FN in a subshell with errexit (so a failing method costs its own row, not the
# run); a failure without a reason recorded points at the log. Before it, wait (within
# QUIET_BUDGET_S for the whole run) while the machine is busy with other work; here, not in the
# subshell, so that the budget is spent only once. Each method starts from the same state: no
# dirty pages of the one before (the load, a restore's WAL) being written back while it runs: a
# checkpoint, then the file system synced.
method() {
  local rc
  psql -d postgres -c CHECKPOINT >/dev/null 2>&1 || true
  sync -f "$work" 2>/dev/null || true
  wait_quiet
  set +e
  ( set -e; "${@:2}" )
  rc=$?
  set -e
  [ $rc -eq 0 ] || [ -n "$(awk -F'\t' -v m="$1" '$1 == m && $2 == "error"' "$RESULTS/values.tsv")" ] ||
    record "$1" error "exit $rc, see $LOG"
}
tsv=$RESULTS/values.tsv   # v() reads it
record run rounds "$ROUNDS"
method tend start_tend
for ((round = 1; round <= ROUNDS; round++)); do
  for m in tend tend6 zstd fc gzip; do
    [ -z "$(v "$m" error)" ] || continue   # a method that failed once is not retried
    method "$m" "bk_$m" "$round"
  done
done
for m in tend tend6 zstd fc gzip; do medians "$m"; done
for m in tend fc gzip; do
  [ -z "$(v "$m" error)" ] || continue
  method "$m" "rs_$m"
done
method pgbr run_pgbr
record machine loadavg_end "$(cut -d' ' -f1-3 /proc/loadavg)"

write_report
