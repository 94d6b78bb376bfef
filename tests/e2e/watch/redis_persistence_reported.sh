#!/usr/bin/env bash
# timeout: 60
# A `redis:` check against a real redis-server with no persistence (save "", appendonly no):
# the probe is ok (a cache may want that) but its metrics say persistence is off and the message
# says so; after CONFIG SET save "900 1" the next probe reports RDB persistence on, without
# "guessed" (CONFIG GET answers). Memory and client counts are reported too.
. "$(dirname "$0")/../lib.sh"
. "$E2E/watch/helpers.bash"
S=$ROOT/tests/servers
mkdir -m 0711 -p "$T/redis"; chmod 0711 "$T"
eval "$("$S/redis.sh" start "$T/redis")" || fail "cannot start Redis"
on_exit "$S/redis.sh" stop "$T/redis"
rcli() { redis-cli -p "$REDIS_PORT" "$@"; }
[ "$(rcli config get save | sed -n 2p)" = "" ] || fail "redis.sh should start Redis with save \"\""
[ "$(rcli config get appendonly | sed -n 2p)" = no ] || fail "redis.sh should start Redis without AOF"

cat > tend.yaml <<YAML
checks:
  - name: cache
    redis: $REDIS_URL
    interval: 1s
    timeout: 500ms
YAML
tend up tend.yaml >/dev/null || fail "tend up"
wait_for 15 check_is cache ok || fail "check cache not ok: $(check cache message)"
msg=$(check cache message)
note "no persistence: $msg"
[ "$(check cache metrics.persistence)" = 0.0 ] || fail "persistence metric: $(check cache metrics.persistence)"
[ "$(check cache metrics.rdb_enabled)" = 0.0 ] || fail "rdb_enabled: $(check cache metrics.rdb_enabled)"
[ "$(check cache metrics.aof_enabled)" = 0.0 ] || fail "aof_enabled: $(check cache metrics.aof_enabled)"
grep -qi "persistence: *\(none\|off\|no\)" <<<"$msg" || fail "message does not say persistence is off: $msg"
clients=$(check cache metrics.connected_clients)
mem=$(check cache metrics.used_memory)
python3 -c "import sys; sys.exit(not (float('$clients') >= 1 and float('$mem') > 100000))" ||
  fail "clients $clients, used_memory $mem"

rcli config set save "900 1" >/dev/null || fail "CONFIG SET save"
rdb_on() { [ "$(check cache metrics.rdb_enabled)" = 1.0 ]; }
wait_for 10 rdb_on || fail "RDB not reported on after CONFIG SET save: $(check cache message)"
[ "$(check cache metrics.persistence)" = 1.0 ] || fail "persistence metric: $(check cache metrics.persistence)"
[ "$(check cache metrics.aof_enabled)" = 0.0 ] || fail "aof_enabled: $(check cache metrics.aof_enabled)"
check_is cache ok || fail "check not ok with RDB on"
msg=$(check cache message)
note "RDB on: $msg"
grep -q "persistence: RDB" <<<"$msg" || fail "message does not say RDB: $msg"
grep -q "guessed" <<<"$msg" && fail "CONFIG GET answered, yet the message says guessed: $msg"

# And AOF: appendonly yes shows as AOF (with RDB still on).
rcli config set appendonly yes >/dev/null || fail "CONFIG SET appendonly"
aof_on() { [ "$(check cache metrics.aof_enabled)" = 1.0 ]; }
wait_for 10 aof_on || fail "AOF not reported on: $(check cache message)"
grep -q "persistence: RDB and AOF" <<<"$(check cache message)" || fail "message: $(check cache message)"
echo ok
