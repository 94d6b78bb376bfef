#!/usr/bin/env bash
# tests/servers/postgres.sh: a throwaway PostgreSQL cluster on 127.0.0.1 for tests.
#
#   postgres.sh start DIR   create (once) and start a cluster in DIR on a free loopback port;
#                           prints PGHOST= PGPORT= PGUSER= PG_URL= lines (shell syntax)
#   postgres.sh stop DIR    stop the cluster started in DIR, by the pid in its postmaster.pid
#
# Idempotent: start on a running cluster prints its info again; stop on a stopped one is a no-op.
# initdb refuses to run as root, so as root every server command runs as the `postgres` user
# that Debian's postgresql package creates (runuser), and DIR is handed to that user (its
# parent folders must be searchable by it: make the temp folder with mode 0711). Auth is
# `trust` for the superuser "tend" on loopback only; the socket lives in DIR, never /var/run.
set -euo pipefail
cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -x "$bin/initdb" ] || { echo "postgres.sh: no initdb under /usr/lib/postgresql (apt-get install postgresql)" >&2; exit 1; }

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
pid_alive() { [ -f "$dir/data/postmaster.pid" ] && kill -0 "$(head -n 1 "$dir/data/postmaster.pid")" 2>/dev/null; }
print_info() {
  local port; port=$(cat "$dir/port")
  echo "PGHOST=127.0.0.1"
  echo "PGPORT=$port"
  echo "PGUSER=tend"
  echo "PG_URL=postgresql://tend@127.0.0.1:$port/postgres"
  echo "PG_BIN=$bin"
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

case "$cmd" in
start)
  mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
  if pid_alive; then print_info; exit 0; fi
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$dir"; chmod 0755 "$dir"
    runuser -u postgres -- test -w "$dir" || {
      echo "postgres.sh: user postgres cannot reach $dir; its parent folders must be searchable (chmod o+x)" >&2; exit 1; }
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_pg "$bin/initdb" -D "$dir/data" -U tend --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
  fi
  for attempt in 1 2 3 4 5; do
    port=$(free_port); echo "$port" > "$dir/port.tmp"; mv "$dir/port.tmp" "$dir/port"
    if as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
         -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null 2>&1; then
      print_info; exit 0
    fi
  done
  echo "postgres.sh: cannot start PostgreSQL in $dir:" >&2; tail -n 20 "$dir/server.log" >&2; exit 1 ;;
stop)
  [ -d "$dir" ] || exit 0
  pid_alive || exit 0
  pid=$(head -n 1 "$dir/data/postmaster.pid")
  kill -INT "$pid" 2>/dev/null || true          # fast shutdown
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
