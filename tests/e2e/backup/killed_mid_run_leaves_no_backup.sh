#!/usr/bin/env bash
# timeout: 90
# The daemon SIGKILLed in the middle of a backup: what it was writing never looks like a backup
# (no manifest, only a hidden .partial), `tend backup list`/`sync` do not show it, and the next
# run removes the leftover and makes a valid backup.
. "$(dirname "$0")/../lib.sh"
mkdir -p data out
head -c 60000000 /dev/urandom > data/big.bin   # incompressible: zstd -19 is slow on it
cat > tend.yaml <<YAML
backups:
  - name: slow
    files: {paths: [$W/data]}
    targets: [{local: $W/out}]
    compress: {method: zstd, level: 19}
YAML
tend up tend.yaml >/dev/null || fail "tend up"
tend backup run slow --json >/dev/null 2>&1 &
partial() { ls -a out | grep -q '^\.slow-.*\.partial$'; }
wait_for 20 partial || fail "the run never started writing"
sleep 0.5
dp=$(daemon_pid)
kill -9 "$dp"
wait_for 10 bash -c "! kill -0 $dp" || fail "daemon survived SIGKILL"
wait
note "daemon killed mid-run: $(ls -a out | tr '\n' ' ')"
ls out/*.json 2>/dev/null && fail "a manifest exists for a backup that never finished"
ls out | grep -v '^\.' | grep -q . && fail "a visible file was left: $(ls out)"

# The next daemon: nothing in the catalog, nothing on the target, then a good run cleans up.
tend up tend.yaml >/dev/null 2>&1 || fail "tend up after the kill"
tend backup sync >/dev/null || fail "sync"
[ "$(tend backup list slow --json | jget '["backups"].__len__()')" -eq 0 ] || fail "a partial backup is listed"
sed -i 's/level: 19/level: 1/' tend.yaml && tend up tend.yaml >/dev/null
tend backup run slow >/dev/null || fail "the run after the kill"
partial && fail "the leftover .partial was not removed: $(ls -a out)"
tend backup verify slow >/dev/null || fail "verify after the kill"
echo ok
