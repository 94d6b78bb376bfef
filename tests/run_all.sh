#!/usr/bin/env bash
# tests/run_all.sh: run every unit test binary given as arguments, then every end-to-end test,
# and end with the suite's closing line "N passed, N failed" (the sum of all of them).
# TEND_BIN selects the binary under test (default ./tend); E2E=0 skips the end-to-end tests.
set -u
cd "$(dirname "$0")/.."
passed=0 failed=0 failures=()
# The system's python3 (where scripts/deps.sh installs modules) ahead of any pyenv-style shim,
# for the test servers the unit tests start (tests/e2e/lib.sh does the same for each e2e test).
if [ -x /usr/bin/python3 ] && [ "$(command -v python3)" != /usr/bin/python3 ]; then
  pybin=$(mktemp -d /tmp/tend-py.XXXXXX) && ln -s /usr/bin/python3 "$pybin/python3"
  export PATH=$pybin:$PATH
  trap 'rm -rf "$pybin"' EXIT
fi

for bin in "$@"; do
  out=$("$bin" 2>&1); rc=$?
  line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
  if [ -z "$line" ]; then
    printf '%s\n' "$out"
    echo "FAIL $bin: exited $rc without a closing line"
    failed=$((failed + 1)); failures+=("$bin"); continue
  fi
  p=${line%% passed*}; f=${line#*, }; f=${f%% failed*}
  passed=$((passed + p)); failed=$((failed + f))
  if [ "$f" -ne 0 ] || [ $rc -ne 0 ]; then
    printf '%s\n' "$out" | grep -v -E '^[0-9]+ passed' ; failures+=("$bin")
    [ "$f" -eq 0 ] && failed=$((failed + 1))
  fi
  printf '%-48s %s\n' "${bin#*/unit/}" "$line"
done

if [ "${E2E:-1}" != 0 ]; then
  e2e=$(tests/run_e2e.sh); rc=$?
  printf '%s\n' "$e2e" | grep -v -E '^e2e: [0-9]+ passed'
  line=$(printf '%s\n' "$e2e" | grep -E '^e2e: [0-9]+ passed, [0-9]+ failed' | tail -n 1)
  if [ -n "$line" ]; then
    line=${line#e2e: }; p=${line%% passed*}; f=${line#*, }; f=${f%% failed*}
    passed=$((passed + p)); failed=$((failed + f))
  else
    failed=$((failed + 1)); failures+=("e2e runner (exit $rc)")
  fi
fi

# Under `make asan` every tend process writes sanitizer reports to $ASAN_LOG_DIR: a daemon or
# keeper that hit an error or leaked fails the run even if no test noticed.
if [ -n "${ASAN_LOG_DIR:-}" ] && [ -n "$(ls -A "$ASAN_LOG_DIR" 2>/dev/null)" ]; then
  for f in "$ASAN_LOG_DIR"/*; do echo "--- sanitizer report $f"; head -n 40 "$f"; done
  failed=$((failed + 1)); failures+=("sanitizer reports in $ASAN_LOG_DIR")
fi

[ ${#failures[@]} -gt 0 ] && printf 'failed: %s\n' "${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
