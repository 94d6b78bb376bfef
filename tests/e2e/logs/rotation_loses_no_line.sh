#!/usr/bin/env bash
# 1,000,000 sequence-numbered lines written flat out, through size rotation (many rotations,
# gzip of the rotated files): every number arrives exactly once, stamped, none torn.
# timeout: 240
. "$(dirname "$0")/../lib.sh"
cat > tend.yaml <<EOF
apps:
  - name: seq
    cmd: 'seq 1 1000000; exec sleep 1000'
    log:
      dir: $W/logs
      max_size: 2M
      keep: 1000
      compress: true
      buffer: 64M
EOF
tend up tend.yaml >/dev/null || fail "tend up failed"
count() { local n; n=$( { cat logs/seq-out*.log 2>/dev/null; zcat -f logs/seq-out*.gz 2>/dev/null; } | wc -l); [ "$n" -ge 1000000 ]; }
wait_for 180 count || fail "not all lines arrived"
rotated() { ls logs | grep -c 'seq-out.*\.gz$'; }
wait_for 20 bash -c "! ls $W/logs | grep -q 'seq-out.*[0-9]\.log$\|\.tmp$'" # compression finished
[ "$(rotated)" -ge 10 ] || fail "expected many rotated .gz files, got: $(ls logs)"
{ cat logs/seq-out*.log; zcat -f logs/seq-out*.gz; } | python3 -c '
import sys, re
seen = bytearray(1000001); bad = 0; n = 0
stamp = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")
for line in sys.stdin:
    n += 1
    parts = line.split()
    if not parts or not stamp.match(line) or not parts[-1].isdigit():
        bad += 1; continue
    v = int(parts[-1])
    if v > 1000000 or seen[v]: bad += 1; continue
    seen[v] = 1
missing = 1000000 - sum(seen[1:])
print(f"lines={n} bad={bad} missing={missing}")
sys.exit(1 if bad or missing or n != 1000000 else 0)' || fail "lines lost, duplicated or torn"
[ "$(inst_field seq 0 log_dropped_bytes)" = 0 ] || fail "bytes were dropped"
