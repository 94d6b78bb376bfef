# bench/managers/pm2.sh: PM2 (from npm, bench/node_modules) behind the adapter interface of
# lib.sh. Apps are plain binaries run with interpreter "none" in fork mode, so no Node runs
# besides PM2's own daemon and CLI. PM2_HOME is a fresh folder per session.

m_pm2_available() { [ -x "$PM2_BIN" ] && command -v node >/dev/null; }
m_pm2_version() { node -p "require('$BENCH/node_modules/pm2/package.json').version"; }

m_pm2_init() {
  PM2_DIR=$1
  mkdir -p "$PM2_DIR/logs"
  export PM2_HOME=$PM2_DIR/home
}

# Ecosystem JSON from a spec. min_uptime 100 ms: the crash figure's 300 ms runs count as
# stable, so PM2's unstable-restart limit (max_restarts counts only short runs) never stops it.
m_pm2_config() {
  local spec=$1 out=$PM2_DIR/ecosystem.json
  awk -F'\t' -v q='"' '
    function js(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return q s q }
    BEGIN { printf "{\"apps\": [\n" }
    {
      n = split($4, a, " "); args = ""
      for (i = 2; i <= n; i++) args = args (i > 2 ? ", " : "") js(a[i])
      err = $2; sub(/\.log$/, ".err.log", err)
      printf "%s  {\"name\": %s, \"script\": %s, \"args\": [%s], \"interpreter\": \"none\",\n", (NR > 1 ? ",\n" : ""), js($1), js(a[1]), args
      printf "   \"exec_mode\": \"fork\", \"autorestart\": true, \"restart_delay\": 0,\n"
      printf "   \"max_restarts\": 1000000, \"min_uptime\": 100, \"merge_logs\": true,\n"
      printf "   \"out_file\": %s, \"error_file\": %s, \"time\": %s}", js($2), js(err), ($3 == 1 ? "true" : "false")
    }
    END { printf "\n]}\n" }' "$spec" >"$out"
  echo "$out"
}

m_pm2_daemon_start() { quiet "$PM2_DIR/cli.log" "$PM2_BIN" ping; }
m_pm2_up() { quiet "$PM2_DIR/cli.log" "$PM2_BIN" start "$1"; }
m_pm2_start_all() { m_pm2_up "$@"; }
m_pm2_status_cmd() { echo "$PM2_BIN status"; }
m_pm2_json_status_cmd() { echo "$PM2_BIN jlist"; }
m_pm2_online_count() { "$PM2_BIN" jlist 2>/dev/null | grep -o '"status":"online"' | wc -l || true; }
m_pm2_daemon_pid() { cat "$PM2_HOME/pm2.pid" 2>/dev/null || true; }
m_pm2_helper_pids() { :; }
m_pm2_stop() {
  [ -n "${PM2_HOME:-}" ] && [ -d "$PM2_HOME" ] || return 0
  local pid; pid=$(m_pm2_daemon_pid)
  # `pm2 kill` without a daemon would first start one: only ask a live daemon.
  [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 0
  timeout 30 "$PM2_BIN" kill >/dev/null 2>&1 || true
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  return 0
}
m_pm2_stop_all() { quiet "$PM2_DIR/cli.log" "$PM2_BIN" delete all; }
