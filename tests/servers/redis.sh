#!/usr/bin/env bash
# tests/servers/redis.sh: a throwaway redis-server on 127.0.0.1 for tests.
#
#   redis.sh start DIR [RDB]  start redis-server with its files in DIR on a free loopback port
#                             (loading RDB as its dump first, when given); prints REDIS_PORT=
#                             and REDIS_URL= lines (shell syntax)
#   redis.sh stop DIR         stop it, by the pid in DIR/redis.pid
#
# Idempotent like postgres.sh. No persistence of its own (save ""), so a test controls every
# snapshot; safe as root (redis-server does not refuse it).
set -euo pipefail
cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR [RDB]" >&2; exit 2; }
command -v redis-server >/dev/null || { echo "redis.sh: redis-server not found (apt-get install redis-server)" >&2; exit 1; }
pid_alive() { [ -f "$dir/redis.pid" ] && kill -0 "$(cat "$dir/redis.pid")" 2>/dev/null; }
print_info() {
  local port; port=$(cat "$dir/port")
  echo "REDIS_PORT=$port"
  echo "REDIS_URL=redis://127.0.0.1:$port/0"
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

case "$cmd" in
start)
  mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
  if pid_alive; then print_info; exit 0; fi
  [ -n "${3:-}" ] && cp "$3" "$dir/dump.rdb"
  for attempt in 1 2 3 4 5; do
    port=$(free_port); echo "$port" > "$dir/port"
    rm -f "$dir/redis.pid"
    redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --dbfilename dump.rdb --save "" \
      --appendonly no --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >/dev/null
    for _ in $(seq 1 50); do
      if redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then print_info; exit 0; fi
      sleep 0.1
    done
    [ -f "$dir/redis.pid" ] && kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
  done
  echo "redis.sh: cannot start redis-server in $dir:" >&2; tail -n 20 "$dir/redis.log" >&2; exit 1 ;;
stop)
  [ -d "$dir" ] || exit 0
  pid_alive || exit 0
  pid=$(cat "$dir/redis.pid")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true ;;
*) echo "usage: $0 start|stop DIR [RDB]" >&2; exit 2 ;;
esac
