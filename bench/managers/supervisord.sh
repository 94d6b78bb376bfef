# bench/managers/supervisord.sh: supervisord (Debian's `supervisor`) behind the adapter
# interface of lib.sh. Each session has its own config, unix socket, pid file and log folder
# in a temp dir; supervisord daemonizes itself and supervisorctl talks to that socket only.

m_supervisord_available() { command -v supervisord >/dev/null && command -v supervisorctl >/dev/null; }
m_supervisord_version() { supervisord --version; }

m_supervisord_init() {
  SV_DIR=$1
  mkdir -p "$SV_DIR/logs"
  SV_CONF=$SV_DIR/supervisord.conf
}

# startsecs=0: a program counts as RUNNING as soon as it is spawned (what "online" means for
# the others) and a 300 ms run is not a failed start; stdout_logfile_maxbytes=0: no rotation.
# supervisord has no timestamps on app output: the spec's TIMESTAMP column is ignored.
m_supervisord_config() {
  local spec=$1 mode=${2:-autostart}
  {
    cat <<CONF
[unix_http_server]
file=$SV_DIR/supervisor.sock
chmod=0700

[supervisord]
logfile=$SV_DIR/supervisord.log
pidfile=$SV_DIR/supervisord.pid
childlogdir=$SV_DIR/logs
user=root
minfds=4096

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://$SV_DIR/supervisor.sock
CONF
    local auto=true; [ "$mode" = noautostart ] && auto=false
    while IFS=$'\t' read -r name out ts argv; do
      cat <<CONF

[program:$name]
command=$argv
autostart=$auto
autorestart=true
startsecs=0
startretries=1000000
stdout_logfile=$out
stdout_logfile_maxbytes=0
stdout_logfile_backups=0
stderr_logfile=$(err_log_of "$out")
stderr_logfile_maxbytes=0
stderr_logfile_backups=0
CONF
    done <"$spec"
  } >"$SV_CONF"
  echo "$SV_CONF"
}

m_supervisord_ctl() { supervisorctl -c "$SV_CONF" "$@"; }
m_supervisord_daemon_start() {
  quiet "$SV_DIR/cli.log" supervisord -c "$SV_CONF"
  wait_until 20 m_supervisord_ctl pid
}
# Cold start: supervisord itself starts every autostart program.
m_supervisord_up() { quiet "$SV_DIR/cli.log" supervisord -c "$SV_CONF"; }
m_supervisord_start_all() { quiet "$SV_DIR/cli.log" m_supervisord_ctl start all; }
m_supervisord_status_cmd() { echo "supervisorctl -c $SV_CONF status"; }
m_supervisord_json_status_cmd() { :; }
m_supervisord_online_count() { m_supervisord_ctl status 2>/dev/null | grep -c ' RUNNING ' || true; }
m_supervisord_daemon_pid() { cat "$SV_DIR/supervisord.pid" 2>/dev/null || true; }
m_supervisord_helper_pids() { :; }
m_supervisord_stop() {
  [ -n "${SV_CONF:-}" ] && [ -f "$SV_CONF" ] || return 0
  local pid; pid=$(m_supervisord_daemon_pid)
  [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 0
  timeout 30 supervisorctl -c "$SV_CONF" shutdown >/dev/null 2>&1 || true
  for _ in $(seq 100); do [ -d "/proc/$pid" ] || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}
m_supervisord_stop_all() { quiet "$SV_DIR/cli.log" m_supervisord_ctl stop all; }
