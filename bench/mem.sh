# bench/mem.sh: figure 1, small fleet. The manager's own resident memory (VmRSS of its
# daemon process; for tend also its keeper) with 4 idle apps, read 5 s after all 4 run.
# The 100-app reading is taken in fleet.sh, in the session that also times start and status.

fig_mem4() {
  local dir=$WORK/$M-mem4 spec conf i tag=$RUN_TAG-mem4-$M-
  mgr init "$dir"
  spec=$dir/spec
  for i in 1 2 3 4; do spec_line "app$i" "$dir/logs/app$i-out.log" 0 "$BUILD/idle $tag$i $dir/started"; done >"$spec"
  conf=$(mgr config "$spec" autostart)
  mgr up "$conf"
  if ! wait_until 30 all_running "$dir/started" 4; then
    record "$M" mem4_error "apps not running after 30 s"; return 1
  fi
  sleep "${SETTLE_S:-5}"
  measure_mem mem4
  mgr stop
}

# measure_mem KEY: daemon RSS, helper (keeper) RSS summed, helper count; and the same as PSS
# (shared pages divided among the processes sharing them), since the daemon and its keeper
# share the tend binary's and the libraries' pages, which their RSS counts twice.
measure_mem() {
  local pid helpers h p=0
  pid=$(mgr daemon_pid); helpers=$(mgr helper_pids)
  record "$M" "$1_daemon_kib" "$(rss_kib "$pid")"
  record "$M" "$1_daemon_pss_kib" "$(pss_kib "$pid")"
  if [ -n "$helpers" ]; then
    record "$M" "$1_helper_kib" "$(sum_kib $helpers)"
    for h in $helpers; do p=$((p + $(pss_kib "$h"))); done
    record "$M" "$1_helper_pss_kib" "$p"
    record "$M" "$1_helper_count" "$(echo $helpers | wc -w)"
  fi
}

# all_running STARTED N: N apps/idle have written their start line into STARTED (no /proc
# scan: pgrep every few ms would take a good part of a core away from the manager measured).
all_running() { local l=(); [ -f "$1" ] && mapfile -t l <"$1"; [ "${#l[@]}" -ge "$2" ]; }
# last_start_us STARTED: when the last app came up (wall clock, microseconds).
last_start_us() { awk '$2 > m {m = $2} END {print m}' "$1"; }
