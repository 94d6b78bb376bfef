# bench/logs.sh: figures 2 and 5, log capture.
#
# apps/lines writes LOG_LINES numbered 100-byte lines flat out to stdout (default 2,097,152
# lines = 200 MiB), stamping CLOCK_MONOTONIC before the first and after the last write. The
# baseline is the same program with `> file`: its own end - start. Under a manager,
# tools/logwait polls the manager's log file and the capture time is (last growth of that
# file) - (app start); ratio = baseline / capture time (1.0 = as fast as a plain file).
# tools/logcheck then counts lines intact exactly once, missing, doubled and torn.
# Each run has a fresh daemon, so its VmHWM (peak RSS) is the flood's: figure 2.

LOG_LINES=${LOG_LINES:-2097152}

fig_log_baseline() {
  local dir=$WORK/baseline s e
  mkdir -p "$dir"
  for _ in 1 2 3; do
    rm -f "$dir/stamps" "$dir/out.log"
    "$BUILD/lines" "$LOG_LINES" "$dir/stamps" >"$dir/out.log" &
    local pid=$!
    wait_until 120 grep -q '^E' "$dir/stamps"
    kill "$pid"; wait "$pid" 2>/dev/null || true
    s=$(awk '$1 == "S" {print $2}' "$dir/stamps"); e=$(awk '$1 == "E" {print $2}' "$dir/stamps")
    echo $(((e - s) / 1000))
  done >"$RESULTS/baseline-us.txt"
  record file log_baseline_s "$(median <"$RESULTS/baseline-us.txt" | awk '{printf "%.3f", $1 / 1e6}')"
  record file log_lines "$LOG_LINES"
  rm -rf "$dir"
}

# fig_logs TS: TS=0 plain lines, TS=1 a timestamp on every line.
fig_logs() {
  local ts=$1 key=logs$1 dir=$WORK/$M-logs$1 spec conf out expected=0 res
  if [ "$M" = supervisord ] && [ "$ts" = 1 ]; then
    record "$M" "${key}_na" "supervisord cannot timestamp app output"; return 0
  fi
  mgr init "$dir"
  spec=$dir/spec out=$dir/logs/flood-out.log
  spec_line flood "$out" "$ts" "$BUILD/lines $LOG_LINES $dir/stamps" >"$spec"
  conf=$(mgr config "$spec" autostart)
  [ "$ts" = 0 ] && expected=$((LOG_LINES * 100))
  "$BUILD/logwait" "$out" "$dir/stamps" "$expected" "${LOG_STALL_MS:-3000}" "${LOG_TIMEOUT_MS:-180000}" >"$dir/wait.txt" &
  local waiter=$!
  mgr up "$conf"
  wait "$waiter"
  res=$(cat "$dir/wait.txt")
  echo "$res" >"$RESULTS/$M-$key-wait.txt"
  local kv w_status=none w_app_start_ns=0 w_app_end_ns=0 w_last_growth_ns=0 w_size=0 w_shrunk=0
  for kv in $res; do declare "w_${kv%%=*}=${kv#*=}"; done
  # the peak memory of the daemon (and keeper) during the flood, before anything else runs
  local pid helpers h hw=0
  pid=$(mgr daemon_pid); helpers=$(mgr helper_pids)
  record "$M" "${key}_hwm_kib" "$(hwm_kib "$pid")"
  record "$M" "${key}_rss_after_kib" "$(rss_kib "$pid")"
  if [ -n "$helpers" ]; then
    for h in $helpers; do hw=$((hw + $(hwm_kib "$h"))); done
    record "$M" "${key}_helper_hwm_kib" "$hw"
  fi
  record "$M" "${key}_status" "$w_status"
  [ "$w_shrunk" = 0 ] || record "$M" "${key}_error" "log file shrank $w_shrunk times (rotation?)"
  if [ "$w_app_start_ns" -gt 0 ] && [ "$w_last_growth_ns" -gt 0 ]; then
    local secs base
    secs=$(awk -v a="$w_app_start_ns" -v b="$w_last_growth_ns" 'BEGIN {printf "%.3f", (b - a) / 1e9}')
    base=$(awk -F'\t' '$1 == "file" && $2 == "log_baseline_s" {v = $3} END {print v}' "$RESULTS/values.tsv")
    record "$M" "${key}_s" "$secs"
    [ -n "$base" ] && record "$M" "${key}_ratio" "$(awk -v b="$base" -v s="$secs" 'BEGIN {printf "%.3f", b / s}')"
    record "$M" "${key}_app_s" "$(awk -v a="$w_app_start_ns" -v b="$w_app_end_ns" 'BEGIN {printf "%.3f", (b - a) / 1e9}')"
  fi
  mgr stop
  local check
  check=$("$BUILD/logcheck" "$out" "$LOG_LINES" "$RESULTS/$M-$key-torn-samples.txt")
  echo "$check" >"$RESULTS/$M-$key-check.txt"
  local w
  for w in $check; do record "$M" "${key}_${w%%=*}" "${w#*=}"; done
  record "$M" "${key}_bytes" "$w_size"
  rm -rf "$dir/logs"
}
