#!/usr/bin/env bash
# scripts/deps.sh: install (idempotently) every Debian package the build, the tests and the
# quick start need. Runs apt-get only when something is missing; uses sudo when not root.
set -euo pipefail

pkgs=(
  build-essential pkg-config clang libclang-rt-14-dev
  libuv1-dev libjansson-dev libyaml-dev libsqlite3-dev zlib1g-dev libhttp-parser-dev
  libcurl4-openssl-dev
  curl procps python3 valgrind
)
# backup/: zstd is linked and libcrypto loaded on first use; the tools it runs (and the test servers on
# 127.0.0.1) come from these packages: pg_dump/pg_restore/psql/initdb, redis-server/redis-cli,
# age, zstd for restoring by hand.
pkgs+=(libzstd-dev libssl-dev postgresql redis-server age zstd)
# watch/ and alert/: hiredis is linked (small, no dependencies); libpq is loaded on first use
# like libcurl. The end-to-end tests put nginx in front of a test app for access-log analysis;
# the Prometheus page is checked with the reference Python parser.
pkgs+=(libhiredis-dev libpq-dev nginx-light openssl python3-prometheus-client)
# backup/ S3 target: expat (loaded on first use) reads the S3 XML answers; the S3-compatible
# test server is an npm package (tests/servers/s3.sh).
pkgs+=(libexpat1 libexpat1-dev)
command -v npm >/dev/null 2>&1 || pkgs+=(npm)
# node runs PM2 ecosystem.config.js files (tend import / tend up) and the tests of that path.
command -v node >/dev/null 2>&1 || pkgs+=(nodejs)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Packages such as postgresql and redis-server would start system-wide servers on install; the
# tests start their own on 127.0.0.1, so keep the package scripts from starting any (Debian's
# policy-rc.d protocol: 101 = action forbidden), unless the machine already has a policy.
policy=/usr/sbin/policy-rc.d
if [ ! -e $policy ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee $policy >/dev/null
  $sudo chmod 755 $policy
  trap '$sudo rm -f $policy' EXIT
fi
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
