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
  # policy-rc.d keeps Debian's supervisor package from starting a system-wide supervisord:
  # the benchmark runs its own instance with its own config.
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The Debian package enables a system supervisord; it is not ours to measure, and it is not
# started by this script (in containers without systemd it is not running either).

if [ ! -x "$here/node_modules/.bin/pm2" ]; then
  echo "bench/setup: npm install pm2 into bench/node_modules" >&2
  if [ -f "$here/package-lock.json" ]; then
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
  else
    (cd "$here" && npm install --no-audit --no-fund --loglevel=error pm2@5)
  fi
fi

mkdir -p "$here/build"
for src in "$here"/apps/*.c "$here"/tools/*.c; do
  bin="$here/build/$(basename "$src" .c)"
  if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ]; then
    ${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -o "$bin" "$src"
  fi
done
