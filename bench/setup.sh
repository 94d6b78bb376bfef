#!/usr/bin/env bash
# bench/setup.sh: install (idempotently) what the side-by-side benchmark needs:
# supervisord and hyperfine from Debian, PM2 from npm into bench/node_modules, and the tiny
# test apps compiled into bench/build/. Runs apt-get / npm only when something is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

missing=()
for p in supervisor hyperfine procps gcc nodejs npm; do
  case $p in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
  esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench/setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# On a machine with systemd the Debian package also starts a system-wide supervisord; the
# benchmark never talks to it: it runs its own instances with their own config and socket.

if [ ! -x "$here/node_modules/.bin/pm2" ]; then
  echo "bench/setup: npm install pm2 into bench/node_modules" >&2
  if [ -f "$here/package-lock.json" ]; then
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
  else
    (cd "$here" && npm install --no-audit --no-fund --loglevel=error --save-exact pm2@7.0.4)
  fi
fi

# Always rebuilt (well under a second): a binary left from an older checkout must never be
# measured in place of its source.
mkdir -p "$here/build"
for src in "$here"/apps/*.c "$here"/tools/*.c; do
  ${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -o "$here/build/$(basename "$src" .c)" "$src"
done
