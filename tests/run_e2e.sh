#!/usr/bin/env bash
# tests/run_e2e.sh: run each tests/e2e/<module>/<behaviour>.sh and each fault-injection test
# tests/faults/<fault>.sh (DESIGN.md's invariants under attack) as its own process under a
# timeout (libuv's runner), with a fresh $TEND_HOME each, in parallel pairs to fit CI's time.
# A test passes by exiting 0; its output is shown only when it fails. Ends with
# "e2e: N passed, N failed". ONLY=pattern runs the matching tests, SKIP=pattern leaves some out.
set -u
cd "$(dirname "$0")/.."
export TEND_BIN=${TEND_BIN:-$PWD/tend}
case $TEND_BIN in /*) ;; *) TEND_BIN=$PWD/$TEND_BIN ;; esac
jobs=${E2E_JOBS:-2}
tmp=$(mktemp -d /tmp/tend-e2e.XXXXXX)
# Longest first (by their "# timeout:"), so two long tests do not end up last, one core idle.
mapfile -t tests < <({ find tests/e2e -mindepth 2 -name '*.sh'; find tests/faults -name '*.sh'; } |
  grep -E "${ONLY:-.}" | grep -vE "${SKIP:-^$}" | while read -r t; do
    lim=$(sed -n 's/^# timeout: *\([0-9]*\).*/\1/p' "$t" | head -n 1); echo "${lim:-120} $t"; done |
  sort -k1,1nr -k2 | awk '{print $2}')

run_one() {
  local t=$1 name=${1#tests/} limit
  name=${name#e2e/}
  limit=$(sed -n 's/^# timeout: *\([0-9]*\).*/\1/p' "$t" | head -n 1)
  local log="$tmp/${name//\//_}.log" start=$(date +%s%N)
  timeout -k 5 "${limit:-120}" bash "$t" >"$log" 2>&1
  local rc=$? ms=$(( ($(date +%s%N) - start) / 1000000 ))
  if [ $rc -eq 0 ]; then echo "ok   $name (${ms} ms)"; else
    [ $rc -eq 124 ] && echo "  (timed out after ${limit:-120} s)" >>"$log"
    echo "FAIL $name (exit $rc, ${ms} ms)"; sed 's/^/    /' "$log" | tail -n 60
  fi
}
export -f run_one; export tmp

printf '%s\n' "${tests[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one {}' > "$tmp/results"
cat "$tmp/results"
p=$(grep -c '^ok ' "$tmp/results"); f=$(grep -c '^FAIL ' "$tmp/results")
rm -rf "$tmp"
echo "e2e: $p passed, $f failed"
[ "$f" -eq 0 ]
