# bench/managers/tend.sh: tend (./tend from `make tend`) behind the adapter interface of
# lib.sh. TEND_HOME is a fresh folder per session. tend's keeper (`tend __keeper`, which holds
# the read ends of the apps' pipes so apps outlive the daemon: DESIGN invariant 5) is counted
# as a helper: the memory figures show the daemon alone and daemon + keeper.

# A TEND_HOME of our own even here: `tend version` asks a running daemon for its version.
m_tend_available() { [ -x "$TEND_BIN" ] && TEND_HOME=$WORK/no-daemon "$TEND_BIN" --version >/dev/null 2>&1; }
m_tend_version() { TEND_HOME=$WORK/no-daemon "$TEND_BIN" --version 2>&1 | head -1; }

m_tend_init() {
  TEND_DIR=$1
  mkdir -p "$TEND_DIR/logs"
  export TEND_HOME=$TEND_DIR/home
}

# tend.yaml from a spec. min_uptime 0 and a huge max_restarts: the crash figure's 300 ms runs
# never make the app errored. max_size 0 and rotate none: no rotation during a figure.
m_tend_config() {
  local spec=$1 mode=${2:-autostart} out=$TEND_DIR/tend.yaml
  {
    echo "apps:"
    while IFS=$'\t' read -r name log ts argv; do
      local words=() w list=""
      read -r -a words <<<"$argv"
      for w in "${words[@]}"; do list+="${list:+, }\"$w\""; done
      local stamp=false; [ "$ts" = 1 ] && stamp=true
      cat <<YAML
  - name: $name
    argv: [$list]
    instances: 1
    restart: always
    restart_delay: 0
    backoff: false
    min_uptime: 0
    max_restarts: 1000000
    log: {timestamp: $stamp, out_file: "$log", err_file: "$(err_log_of "$log")", max_size: 0, rotate: none}
YAML
    done <"$spec"
  } >"$out"
  echo "$out"
}

m_tend_curl() { curl -sf --max-time 10 --unix-socket "$TEND_HOME/tend.sock" "http://tend$1"; }
# A daemon with no apps, for the "start 100 apps into a running daemon" figure.
m_tend_daemon_start() {
  quiet "$TEND_DIR/cli.log" "$TEND_BIN" ping
  wait_until 20 m_tend_curl /v1/ping
}
m_tend_up() { quiet "$TEND_DIR/cli.log" "$TEND_BIN" up "$1"; }
m_tend_start_all() { m_tend_up "$@"; }
m_tend_status_cmd() { echo "$TEND_BIN status"; }
m_tend_json_status_cmd() { echo "$TEND_BIN status --json"; }
m_tend_online_count() { m_tend_curl /v1/status 2>/dev/null | grep -o '"state": *"online"' | wc -l || true; }
m_tend_daemon_pid() {
  local pid
  pid=$(m_tend_curl /v1/ping 2>/dev/null | grep -o '"pid": *[0-9]*' | grep -o '[0-9]*$' || true)
  [ -n "$pid" ] || pid=$(cat "$TEND_HOME/tend.pid" 2>/dev/null || true)
  echo "$pid"
}
# Keeper processes of this TEND_HOME: `tend __keeper $TEND_HOME/keeper.sock`.
m_tend_helper_pids() {
  local f
  for f in $(grep -lsa -e __keeper /proc/[0-9]*/cmdline); do
    tr '\0' ' ' 2>/dev/null <"$f" | grep -q -- "__keeper $TEND_HOME/" && { f=${f#/proc/}; echo "${f%%/*}"; }
  done
  return 0
}
m_tend_stop() {
  [ -n "${TEND_HOME:-}" ] && [ -d "$TEND_HOME" ] || return 0
  local pid keepers; pid=$(m_tend_daemon_pid); keepers=$(m_tend_helper_pids)
  [ -n "$pid$keepers" ] || return 0
  [ -n "$pid" ] && timeout 30 "$TEND_BIN" kill >/dev/null 2>&1 || true
  for _ in $(seq 100); do [ -n "$pid" ] && [ -d "/proc/$pid" ] || break; sleep 0.1; done
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  # The keeper outlives the daemon by design; it is ours, so it goes too.
  for _ in $(seq 30); do
    keepers=$(for k in $keepers; do [ ! -d "/proc/$k" ] || echo "$k"; done)
    [ -n "$keepers" ] || return 0
    sleep 0.1
  done
  kill $keepers 2>/dev/null || true
  return 0
}
m_tend_stop_all() { quiet "$TEND_DIR/cli.log" "$TEND_BIN" delete all; }
