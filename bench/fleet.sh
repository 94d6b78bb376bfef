# bench/fleet.sh: the 100-app figures, one daemon session per manager:
#   figure 6  start 100 apps into a running, empty daemon: from the command until the command
#             has returned and all 100 apps run (each app stamps the wall clock when it
#             starts); the manager's own status is then checked to say 100 online. Median of
#             START_RUNS (3), all apps removed again between runs;
#   figure 1  daemon RSS with 100 apps after the idle window (the table's reading is taken in
#             fig_cold: a fresh daemon, 5 s after its 100 apps run);
#   figure 3  `status` wall time: hyperfine, 3 warm-ups, median of STATUS_RUNS runs;
#   figure 7  daemon CPU while idle: utime+stime over IDLE_S seconds, % of one core.
# fig_cold times the same start from nothing (the command also starts the daemon), then reads
# figure 1's daemon RSS with 100 apps.

fig_fleet() {
  local n=${FLEET_N:-100} dir=$WORK/$M-fleet spec conf i tag=$RUN_TAG-fleet-$M- t0 t1 t2
  mgr init "$dir"
  spec=$dir/spec
  for i in $(seq "$n"); do spec_line "app$i" "$dir/logs/app$i-out.log" 0 "$BUILD/idle $tag$i $dir/started"; done >"$spec"
  conf=$(mgr config "$spec" noautostart)
  mgr daemon_start
  sleep 3   # let the fresh daemon finish starting up before the clock runs
  local r runs=${START_RUNS:-3}
  for r in $(seq "$runs"); do
    if [ "$r" -gt 1 ]; then   # again from an empty, running daemon
      mgr stop_all "$conf"
      wait_until 60 none_running "$tag" || { record "$M" start100_error "apps still running after stop all"; return 1; }
      : >"$dir/started"
      sleep 2
    fi
    t0=$(now_us)
    mgr start_all "$conf"
    t1=$(now_us)
    if ! wait_until 60 all_running "$dir/started" "$n"; then
      record "$M" start100_error "$(wc -l <"$dir/started") of $n apps running after 60 s"; return 1
    fi
    t2=$(last_start_us "$dir/started")
    echo "$((((t1 > t2 ? t1 : t2) - t0) / 1000)) $(((t1 - t0) / 1000))" >>"$RESULTS/$M-start100-ms.txt"
    wait_until 30 online_is "$n" || { record "$M" start100_error "status shows $(mgr online_count) of $n online"; return 1; }
  done
  record "$M" start100_ms "$(cut -d' ' -f1 "$RESULTS/$M-start100-ms.txt" | median)"
  record "$M" start100_cmd_ms "$(cut -d' ' -f2 "$RESULTS/$M-start100-ms.txt" | median)"
  record "$M" start100_runs "$runs"

  sleep "${SETTLE_S:-5}"
  time_status "$(mgr status_cmd)" status
  local json; json=$(mgr json_status_cmd)
  [ -n "$json" ] && time_status "$json" status_json

  sleep "${SETTLE_S:-5}"
  local pid helpers c0 c1 h0 h1
  pid=$(mgr daemon_pid); helpers=$(mgr helper_pids)
  c0=$(cpu_ticks "$pid"); h0=$(for h in $helpers; do cpu_ticks "$h"; done | paste -sd+ | bc)
  sleep "${IDLE_S:-60}"
  c1=$(cpu_ticks "$pid"); h1=$(for h in $helpers; do cpu_ticks "$h"; done | paste -sd+ | bc)
  record "$M" idle_cpu_pct "$(awk -v d=$((c1 - c0)) -v hz="$CLK_TCK" -v s="${IDLE_S:-60}" 'BEGIN {printf "%.3f", d / hz / s * 100}')"
  [ -n "$helpers" ] && record "$M" idle_cpu_helper_pct "$(awk -v d=$((h1 - h0)) -v hz="$CLK_TCK" -v s="${IDLE_S:-60}" 'BEGIN {printf "%.3f", d / hz / s * 100}')"
  record "$M" idle_s "${IDLE_S:-60}"
  measure_mem mem100_after_idle
  record "$M" fleet_online "$(mgr online_count)"
  mgr stop
}

online_is() { [ "$(mgr online_count)" -ge "$1" ]; }
none_running() { ! pgrep -f -- "$1" >/dev/null; }

# time_status "CMD" KEY: hyperfine without a shell (-N), output discarded, exit codes ignored
# (supervisorctl exits non-zero when a program is not RUNNING; that is not a timing matter).
time_status() {
  local out=$RESULTS/$M-$2.json
  if hyperfine -N -i --style none --warmup 3 --runs "${STATUS_RUNS:-20}" --export-json "$out" "$1" >/dev/null 2>&1; then
    record "$M" "$2_ms" "$(jq -r '.results[0].median * 1000 | . * 10 | round / 10' "$out")"
    record "$M" "$2_min_ms" "$(jq -r '.results[0].min * 1000 | . * 10 | round / 10' "$out")"
  else
    record "$M" "$2_error" "hyperfine failed: $1"
  fi
}

fig_cold() {
  local n=${FLEET_N:-100} dir=$WORK/$M-cold spec conf i tag=$RUN_TAG-cold-$M- t0 t1 t2
  mgr init "$dir"
  spec=$dir/spec
  for i in $(seq "$n"); do spec_line "app$i" "$dir/logs/app$i-out.log" 0 "$BUILD/idle $tag$i $dir/started"; done >"$spec"
  conf=$(mgr config "$spec" autostart)
  t0=$(now_us)
  mgr up "$conf"
  t1=$(now_us)
  if ! wait_until 60 all_running "$dir/started" "$n"; then
    record "$M" start100_cold_error "$(wc -l <"$dir/started") of $n apps running after 60 s"; mgr stop; return 1
  fi
  t2=$(last_start_us "$dir/started")
  record "$M" start100_cold_ms "$((((t1 > t2 ? t1 : t2) - t0) / 1000))"
  wait_until 30 online_is "$n" || record "$M" start100_cold_error "status shows $(mgr online_count) of $n online"
  sleep "${SETTLE_S:-5}"
  measure_mem mem100
  mgr stop
}
