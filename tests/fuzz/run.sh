#!/usr/bin/env bash
# tests/fuzz/run.sh BINDIR TARGET...: run each libFuzzer target for $FUZZ_TIME seconds (default
# 60), one after another, then print one table: executions, executions per second, final
# coverage (cov: edges, ft: features), corpus size, and whether it crashed. Called by `make fuzz`.
#
# Seeds are read from tests/fuzz/corpus/<t>/ and tests/fuzz/regressions/<t>/; new inputs and
# crash artifacts go to $FUZZ_WORK/<t>/ (default /tmp/tend-fuzz), never into the repository.
# A dictionary tests/fuzz/<t>.dict is used when present. Extra libFuzzer flags: $FUZZ_FLAGS.
# Exits 1 if any target crashed (the artifact path and the log are printed).
set -u
cd "$(dirname "$0")/../.."
bindir=$1
shift
time=${FUZZ_TIME:-60}
work=${FUZZ_WORK:-/tmp/tend-fuzz}
rows=() crashed=0

for t in "$@"; do
  bin=$bindir/fuzz_$t
  [ -x "$bin" ] || { echo "fuzz: no target $bin"; exit 2; }
  mkdir -p "$work/$t/corpus" "$work/$t/artifacts"
  log=$work/$t/log
  dict=()
  [ -f "tests/fuzz/$t.dict" ] && dict=("-dict=tests/fuzz/$t.dict")
  seeds=()
  for d in tests/fuzz/corpus/$t tests/fuzz/regressions/$t; do [ -d "$d" ] && seeds+=("$d"); done
  echo "fuzz: $t for ${time}s (log $log)"
  # -timeout: an input that takes 10 s is a bug (a loop without bound), reported as a crash.
  "$bin" -max_total_time="$time" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$work/$t/artifacts/" "${dict[@]}" ${FUZZ_FLAGS:-} \
    "$work/$t/corpus" "${seeds[@]}" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  last=$(grep -E '^#[0-9]+' "$log" | grep -E ' cov: ' | tail -n 1)
  cov=$(printf '%s' "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
  ft=$(printf '%s' "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
  corp=$(printf '%s' "$last" | sed -n 's/.* corp: \([0-9]*\/[0-9A-Za-z]*\).*/\1/p')
  result=ok
  if [ $rc -ne 0 ]; then
    result="CRASH (exit $rc)"
    crashed=1
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|artifact_prefix|Test unit written)' "$log" |
      head -n 8
  fi
  rows+=("$(printf '%-8s %12s %8s %7s %7s %12s  %s' "$t" "${execs:--}" "${eps:--}" "${cov:--}" \
    "${ft:--}" "${corp:--}" "$result")")
done

printf '\n%-8s %12s %8s %7s %7s %12s  %s\n' target execs exec/s cov ft corpus result
printf '%s\n' "${rows[@]}"
exit $crashed
