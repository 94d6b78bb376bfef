#!/usr/bin/env bash
# tests/servers/nginx.sh: a throwaway nginx on 127.0.0.1 in front of a test app, for tests of
# access-log analysis.
#
#   nginx.sh start DIR UPSTREAM_PORT...  start nginx with its config, pid, logs and temp files in
#                                        DIR, on a free loopback port, proxying / to the
#                                        upstream ports (round robin); prints NGINX_PORT=,
#                                        NGINX_URL= and NGINX_LOG= lines (shell syntax)
#   nginx.sh stop DIR                    stop it, by the pid in DIR/nginx.pid
#
# The access log uses tend's `timed` format plus $upstream_addr, so both ways of mapping
# requests to apps (upstream port, location) can be tested:
#   $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
#   "$http_referer" "$http_user_agent" $request_time $upstream_response_time $upstream_addr
# (export NGINX_LOG_FORMAT before `start` to use another one). One process, no workers
# (master_process off), so it never switches user, even as root; /nginx-ok answers 200 from nginx
# itself, without the upstream. Idempotent like postgres.sh and redis.sh.
set -euo pipefail
cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start DIR UPSTREAM_PORT... | stop DIR" >&2; exit 2; }
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx" ] || { echo "nginx.sh: nginx not found (apt-get install nginx-light)" >&2; exit 1; }
pid_alive() { [ -f "$dir/nginx.pid" ] && kill -0 "$(cat "$dir/nginx.pid")" 2>/dev/null; }
print_info() {
  local port; port=$(cat "$dir/port")
  echo "NGINX_PORT=$port"
  echo "NGINX_URL=http://127.0.0.1:$port"
  echo "NGINX_LOG=$dir/access.log"
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
default_format='$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $upstream_response_time $upstream_addr'

case "$cmd" in
start)
  shift 2
  [ $# -gt 0 ] || { echo "nginx.sh: start needs at least one upstream port" >&2; exit 2; }
  mkdir -p "$dir/tmp"; dir=$(cd "$dir" && pwd)
  if pid_alive; then print_info; exit 0; fi
  servers=""
  for p in "$@"; do servers+="    server 127.0.0.1:$p max_fails=0;"$'\n'; done
  format=${NGINX_LOG_FORMAT:-$default_format}
  for attempt in 1 2 3 4 5; do
    port=$(free_port); echo "$port" >"$dir/port"
    rm -f "$dir/nginx.pid"
    cat >"$dir/nginx.conf" <<EOF
daemon on;
master_process off;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 256; }
http {
  log_format tendtest '$format';
  access_log $dir/access.log tendtest;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  upstream app {
$servers  }
  server {
    listen 127.0.0.1:$port;
    location = /nginx-ok { return 200 "ok\n"; }
    location / { proxy_pass http://app; proxy_next_upstream off; }
  }
}
EOF
    "$nginx" -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" >/dev/null 2>&1 || true
    for _ in $(seq 1 50); do
      if pid_alive && python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/nginx-ok', timeout=1)" 2>/dev/null; then
        : >"$dir/access.log" # the readiness request is not part of any test
        print_info; exit 0
      fi
      sleep 0.1
    done
    [ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null || true
  done
  echo "nginx.sh: cannot start nginx in $dir:" >&2; tail -n 20 "$dir/error.log" >&2; exit 1 ;;
stop)
  [ -d "$dir" ] || exit 0
  pid_alive || exit 0
  pid=$(cat "$dir/nginx.pid")
  kill -QUIT "$pid" 2>/dev/null || true # graceful: finish requests, flush the log
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true ;;
*) echo "usage: $0 start DIR UPSTREAM_PORT... | stop DIR" >&2; exit 2 ;;
esac
