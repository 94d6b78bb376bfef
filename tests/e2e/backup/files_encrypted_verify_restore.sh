#!/usr/bin/env bash
# timeout: 90
# A files backup through the real binary: `tend up` names the scheduled job; encrypted with age, restored bit-identical with
# permissions, decryptable with `age -d` and `tar` alone (tend gone), a flipped byte caught by
# `tend backup verify` (exit 1, clear message, event), the catalog rebuilt by `backup sync`,
# and a full target disk failing the run with a clear error and an event while the older
# backup stays intact.
. "$(dirname "$0")/../lib.sh"
command -v age >/dev/null || fail "age is not installed (scripts/deps.sh installs it)"

mkdir -p data/sub/deep out
printf 'hello\n' > data/a.txt && chmod 640 data/a.txt
head -c 300000 /dev/urandom > data/sub/b.bin && chmod 600 data/sub/b.bin
printf '#!/bin/sh\necho hi\n' > data/sub/deep/run.sh && chmod 755 data/sub/deep/run.sh
ln -s ../a.txt data/sub/link
age-keygen -o key.txt 2>/dev/null
recipient=$(sed -n 's/^# public key: //p' key.txt)

cat > tend.yaml <<YAML
backups:
  - name: uploads
    files: {paths: [$W/data]}
    targets: [{local: $W/out}]
    encrypt: {recipients: [$recipient], identity: $W/key.txt}
    keep: {last: 5}
YAML
tend up tend.yaml > up.txt || fail "tend up"
# A file with only backups says what is now scheduled, not "nothing to do".
grep -q "backup   uploads: on demand" up.txt || fail "tend up printed: $(cat up.txt)"
! grep -q "nothing to do" up.txt || fail "tend up said nothing to do: $(cat up.txt)"

tend backup run uploads > run1.txt || fail "backup run: $(cat run1.txt)"
grep -q "^backup uploads-" run1.txt || fail "run printed: $(cat run1.txt)"
id1=$(tend backup list uploads --json | jget '["backups"][0]["id"]')
file1=$(tend backup list uploads --json | jget '["backups"][0]["file"]')
[ -f "out/$file1" ] && [ -f "out/$file1.json" ] || fail "no backup file and manifest in out/"
case $file1 in *.tar.zst.age) ;; *) fail "unexpected file name $file1";; esac
note "backup $id1 made"

# A second run in the same second gets its own name: nothing is overwritten.
tend backup run uploads >/dev/null || fail "second run"
[ "$(ls out/*.json | wc -l)" -eq 2 ] || fail "two runs should leave two backups: $(ls out)"

# Restore through tend: identical bytes and modes.
tend backup restore uploads "$id1" --to "$W/restored" >/dev/null || fail "restore"
diff -r data restored/data || fail "restored tree differs"
for f in a.txt sub/b.bin sub/deep/run.sh; do
  [ "$(stat -c %a "data/$f")" = "$(stat -c %a "restored/data/$f")" ] || fail "mode of $f not kept"
done
[ "$(readlink restored/data/sub/link)" = "../a.txt" ] || fail "symlink not kept"

# Restoring over a non-empty folder is refused without --yes.
if tend backup restore uploads --to "$W/restored" 2>err.txt; then fail "overwrite without --yes"; fi
grep -q -- "--yes" err.txt || fail "refusal does not say how: $(cat err.txt)"

# Without tend: age -d, zstd -d, tar x.
mkdir byhand
age -d -i key.txt "out/$file1" | zstd -dq | tar -x -C byhand || fail "manual restore failed"
diff -r data byhand/data || fail "manual restore differs"

# Flip one byte in the middle: verify must fail with a clear message and an event.
tend backup verify uploads "$id1" >/dev/null || fail "verify of an intact backup failed"
python3 - "out/$file1" <<'PY'
import sys
p = sys.argv[1]
with open(p, "r+b") as f:
    f.seek(1000); b = f.read(1); f.seek(1000); f.write(bytes([b[0] ^ 0xFF]))
PY
if tend backup verify uploads "$id1" 2>verify.txt; then fail "verify passed a corrupted backup"; fi
grep -q "damaged" verify.txt || fail "verify message: $(cat verify.txt)"
tend events | grep -q "backup_verify_failed" || fail "no verify_failed event"
[ "$(tend backup list uploads --json | python3 -c '
import json,sys
for m in json.load(sys.stdin)["backups"]:
    if m["id"]==sys.argv[1]: print(m.get("verified",{}).get("ok"))' "$id1")" = "False" ] ||
  fail "catalog does not show the failed verification"

# The catalog is a cache: rebuilt from the manifests on the target.
tend kill >/dev/null || fail "tend kill"
rm -f "$TEND_HOME"/tend.db*
tend up tend.yaml >/dev/null 2>&1 || fail "tend up after losing tend.db"
[ "$(tend backup list uploads --json | jget '["backups"].__len__()')" -eq 0 ] || fail "catalog not empty"
tend backup sync >/dev/null || fail "sync"
[ "$(tend backup list uploads --json | jget '["backups"].__len__()')" -eq 2 ] || fail "sync lost backups"
note "catalog rebuilt"

# A full target disk: the run fails with a clear error and an event; older backups stay.
if [ "$(id -u)" -eq 0 ]; then
  mkdir small && mount -t tmpfs -o size=400k tmpfs small || fail "cannot mount a tmpfs"
  on_exit umount "$W/small"
  cat > tend.yaml <<YAML
backups:
  - name: uploads
    files: {paths: [$W/data]}
    targets: [{local: $W/small}]
    compress: gzip
YAML
  tend up tend.yaml >/dev/null || fail "tend up (small target)"
  tend backup run uploads >/dev/null || fail "first backup to the small disk"
  old=$(ls small/*.json)
  head -c 250000 /dev/urandom > data/sub/c.bin
  if tend backup run uploads 2>full.txt; then fail "a backup that cannot fit succeeded"; fi
  grep -qi "no space" full.txt || fail "disk-full message: $(cat full.txt)"
  tend events | grep -q "backup_failed" || fail "no backup_failed event"
  [ "$(ls small/*.json)" = "$old" ] || fail "the old backup's manifest changed: $(ls small)"
  ls -a small | grep -q partial && fail "a partial file was left: $(ls -a small)"
  tend backup verify uploads >/dev/null || fail "the older backup no longer verifies"

fi
echo ok
