#!/usr/bin/env bash
# tests/servers/s3.sh: a throwaway S3-compatible server on 127.0.0.1 for tests.
#
#   s3.sh start DIR   start a server keeping its objects in DIR/data, on a free loopback port
#                     (the kernel picks it), with one empty bucket; prints S3_ENDPOINT= S3_BUCKET=
#                     S3_KEY= S3_SECRET= S3_REGION= lines (shell syntax)
#   s3.sh stop DIR    stop the server started in DIR, by the pid in DIR/pid
#
# The server is @20minutes/s3rver (s3rver's maintained fork, an npm package pinned in
# tests/servers/package.json): it checks SigV4 signatures against its one account, so a wrong
# secret fails as on AWS (s3rver 3.7 from npm checks only the key id and would not catch that),
# and it does ListObjectsV2 with continuation tokens and multipart uploads. It is installed with
# `npm ci` into tests/servers/node_modules the first time. Idempotent: start on a running server
# prints its info again; stop on a stopped one is a no-op.
set -euo pipefail
cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
pkg="$here/node_modules/@20minutes/s3rver"
bucket=tend-test

pid_alive() { [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; }
print_info() {
  echo "S3_ENDPOINT=http://127.0.0.1:$(cat "$dir/port")"
  echo "S3_BUCKET=$bucket"
  echo "S3_KEY=S3RVER"        # the server's built-in account (lib/models/account.js)
  echo "S3_SECRET=S3RVER"
  echo "S3_REGION=us-east-1"
}

case "$cmd" in
start)
  command -v node >/dev/null || { echo "s3.sh: node is missing (apt-get install nodejs npm)" >&2; exit 1; }
  if [ ! -f "$pkg/lib/s3rver.js" ]; then
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
      { echo "s3.sh: cannot install the test S3 server (cd tests/servers && npm ci)" >&2; exit 1; }
  fi
  mkdir -p "$dir/data"; dir=$(cd "$dir" && pwd)
  if pid_alive; then print_info; exit 0; fi
  rm -f "$dir/port"
  # Port 0: the kernel picks a free port; the server writes it to DIR/port once listening.
  # --openssl-legacy-provider: the server makes ListObjectsV2 continuation tokens with DES, which
  # OpenSSL 3 (node 17+) offers only through its legacy provider (without it: 500 on page 2).
  nohup node --openssl-legacy-provider -e '
    const [mod, data, bucket, portFile] = process.argv.slice(1);
    const fs = require("fs"), S3rver = require(mod);
    new S3rver({ directory: data, address: "127.0.0.1", port: 0, silent: true,
                 configureBuckets: [{ name: bucket, configs: [] }] })
      .run().then(({ port }) => {
        fs.writeFileSync(portFile + ".tmp", String(port));
        fs.renameSync(portFile + ".tmp", portFile);
      }, (e) => { console.error(e); process.exit(1); });
  ' "$pkg/lib/s3rver.js" "$dir/data" "$bucket" "$dir/port" >"$dir/server.log" 2>&1 &
  echo $! > "$dir/pid"
  for _ in $(seq 1 300); do
    [ -f "$dir/port" ] && { print_info; exit 0; }
    pid_alive || break
    sleep 0.05
  done
  echo "s3.sh: cannot start the S3 server in $dir:" >&2; tail -n 20 "$dir/server.log" >&2
  pid_alive && kill "$(cat "$dir/pid")"
  exit 1 ;;
stop)
  [ -d "$dir" ] || exit 0
  pid_alive || exit 0
  pid=$(cat "$dir/pid")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.05; done
  kill -KILL "$pid" 2>/dev/null || true ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
