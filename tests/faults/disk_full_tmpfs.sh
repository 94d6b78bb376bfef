#!/usr/bin/env bash
# DESIGN invariant 3 on a really full disk: an app's log folder is a 2 MiB tmpfs, the app writes
# flat out, and the test fills the tmpfs. The app is not blocked (its own counter keeps going),
# the lost bytes are counted in `status --json` and raised as a log_drop event; when space
# returns logging resumes by itself and size rotation goes on (rotated files appear, `keep` is
# honoured, the current file grows again); every line in every file is whole and the numbers
# only increase from file to file (lines may be missing, never torn, doubled or out of order).
# timeout: 120
. "$(dirname "$0")/../e2e/lib.sh"
[ "$(id -u)" = 0 ] || { echo "# skipped: mounting a tmpfs needs root"; exit 0; }
mkdir -p "$W/logs"
mount -t tmpfs -o size=2m tmpfs "$W/logs" || fail "cannot mount a tmpfs on $W/logs"
on_exit umount -l "$W/logs"
cat > flood.py <<'EOF'
import os, sys, time
prog, pad, i, last = sys.argv[1], "x" * 80, 0, 0.0
while True:
    i += 1
    sys.stdout.write("line %d %s\n" % (i, pad))
    if i % 200 == 0:
        sys.stdout.flush()
        time.sleep(0.005)
        now = time.time()
        if now - last > 0.1:  # its own progress, outside the full disk
            with open(prog + ".tmp", "w") as f:
                f.write(str(i))
            os.rename(prog + ".tmp", prog)
            last = now
EOF
cat > tend.yaml <<EOF
apps:
  - name: flood
    argv: [python3, $W/flood.py, $W/progress]
    log:
      dir: $W/logs
      max_size: 256K
      keep: 2
      compress: false
      rotate: none
EOF
tend up tend.yaml >/dev/null || fail "tend up failed"
cur=$W/logs/flood-out.log
wait_for 20 test -s "$cur" || fail "no log file"
progress() { cat "$W/progress" 2>/dev/null || echo 0; }
rotated() { ls "$W/logs" | grep -cE '^flood-out\.[0-9]{4}-[0-9]{2}-[0-9]{2}\.[0-9]+\.log$'; }
wait_for 20 bash -c "[ \$(ls '$W/logs' | grep -c '^flood-out\\..*\\.log\$') -ge 1 ]" \
  || fail "no rotation before the disk filled"

# Fill the disk: a filler file takes every block left.
dd if=/dev/zero of="$W/logs/filler" bs=64k 2>/dev/null
note "tmpfs after filling: $(df -k "$W/logs" | tail -n 1)"
dropped() { inst_field flood 0 log_dropped_bytes; }
drops_grow() { local d; d=$(dropped); [ "$d" != none ] && [ "$d" -gt "${1:-0}" ]; }
wait_for 20 drops_grow 100000 || fail "no dropped bytes counted while the disk is full: $(dropped)"
d1=$(dropped) p1=$(progress)
wait_for 10 bash -c "[ \$(cat '$W/progress') -gt $((p1 + 5000)) ]" \
  || fail "the app is blocked while the disk is full ($p1 -> $(progress))"
wait_for 10 drops_grow "$d1" || fail "the drop count stopped growing while the disk is full"
[ "$(inst_field flood 0 state)" = online ] || fail "the app is not online"
tend events flood --json | grep -q '"log_drop"' || fail "no log_drop event"
note "dropped while full: $(dropped) bytes; app progress $p1 -> $(progress)"

# Space returns: new lines (numbered after the app's progress now) reach the files again.
rm -f "$W/logs/filler"
p2=$(progress)
newest() { cat "$W"/logs/flood-out*.log 2>/dev/null | sed -n 's/.*: line \([0-9]*\) x*$/\1/p' | sort -n | tail -n 1; }
resumed() { local n; n=$(newest); [ -n "$n" ] && [ "$n" -gt $((p2 + 20000)) ]; }
wait_for 20 resumed || fail "logging did not resume after space returned (newest line $(newest), app at $p2)"
# Rotation still works after the incident: a new rotated file appears.
r0=$(ls "$W/logs" | grep -E '^flood-out\..*\.log$' | sort | tail -n 1)
new_rotation() { [ "$(ls "$W/logs" | grep -E '^flood-out\..*\.log$' | sort | tail -n 1)" != "$r0" ]; }
wait_for 20 new_rotation || fail "no rotation after space returned"
tend stop flood >/dev/null || fail "stop failed"

# Every file: whole lines only, numbers strictly increasing, and on from one file to the next
# (rotated files oldest first, by day then number, then the current file); keep 2 honoured.
python3 - "$W/logs" <<'EOF' || fail "log files are not whole lines in order"
import os, re, sys
d = sys.argv[1]
line = re.compile(r"^\S+: line (\d+) x{80}$")
rot = re.compile(r"^flood-out\.(\d{4}-\d{2}-\d{2})\.(\d+)\.log$")
names = sorted((m.group(1), int(m.group(2)), n) for n in os.listdir(d) for m in [rot.match(n)] if m)
if len(names) > 2:
    sys.exit("%d rotated files kept, keep is 2: %s" % (len(names), names))
files = [n for _, _, n in names] + ["flood-out.log"]
prev, total = 0, 0
for n in files:
    with open(os.path.join(d, n), "rb") as f:
        data = f.read().decode()
    if data and not data.endswith("\n"):
        sys.exit("%s ends in half a line" % n)
    for k, l in enumerate(data.splitlines()):
        m = line.match(l)
        if not m:
            sys.exit("%s:%d is not a whole line: %r" % (n, k + 1, l[:120]))
        v = int(m.group(1))
        if v <= prev:
            sys.exit("%s:%d: line %d after line %d" % (n, k + 1, v, prev))
        prev, total = v, total + 1
print("# %d whole lines in order in %s" % (total, files))
EOF
