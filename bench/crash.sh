# bench/crash.sh: figure 4, crash to restarted with no restart delay.
#
# apps/crasher stamps CLOCK_MONOTONIC when it starts and right before it exits 1 after
# CRASH_RUN_MS; the latency of crash n is start(n+1) - exit(n): noticing the exit, deciding,
# forking and exec'ing the next run. Median (and min, p90, max) over CRASHES crashes.

fig_crash() {
  local dir=$WORK/$M-crash spec conf want=$((${CRASHES:-20} + 1))
  mgr init "$dir"
  spec=$dir/spec
  spec_line crasher "$dir/logs/crasher-out.log" 0 "$BUILD/crasher $dir/stamps ${CRASH_RUN_MS:-300}" >"$spec"
  conf=$(mgr config "$spec" autostart)
  mgr up "$conf"
  if ! wait_until $((want * 2 + 30)) starts_at_least "$dir/stamps" "$want"; then
    record "$M" crash_error "only $(grep -c '^S' "$dir/stamps" 2>/dev/null) starts in $((want * 2 + 30)) s"
  fi
  mgr stop
  cp "$dir/stamps" "$RESULTS/$M-crash-stamps.txt" 2>/dev/null || return 0
  # Pair each exit with the next start; times in ms with two decimals.
  awk '$1 == "E" {e = $2} $1 == "S" && e {printf "%.3f\n", ($2 - e) / 1e6; e = 0}' "$dir/stamps" |
    head -n "${CRASHES:-20}" >"$RESULTS/$M-crash-ms.txt"
  local f=$RESULTS/$M-crash-ms.txt
  record "$M" crash_n "$(wc -l <"$f")"
  record "$M" crash_ms "$(median <"$f")"
  record "$M" crash_min_ms "$(minimum <"$f")"
  record "$M" crash_p90_ms "$(sort -g "$f" | awk '{a[NR]=$1} END {i=int(NR*0.9+0.999); if (i<1) i=1; print a[i]}')"
  record "$M" crash_max_ms "$(maximum <"$f")"
}

starts_at_least() { [ "$(grep -c '^S' "$1" 2>/dev/null)" -ge "$2" ]; }
