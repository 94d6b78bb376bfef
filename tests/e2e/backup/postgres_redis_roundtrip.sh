#!/usr/bin/env bash
# timeout: 180
# PostgreSQL and Redis backups through the real binary against real servers on 127.0.0.1:
# a database with several tables and a few MB of rows is backed up (with `verify: restore`, so a
# drill follows the run), verified, drilled by hand, restored into a new database, and every
# table has the same row count and checksum; a Redis snapshot restores every key. The catalog
# shows the verification and the drill; the events say what happened.
. "$(dirname "$0")/../lib.sh"
S=$ROOT/tests/servers
mkdir -m 0711 -p "$T/pg" "$T/redis"; chmod 0711 "$T"
eval "$("$S/postgres.sh" start "$T/pg")" || fail "cannot start PostgreSQL"
on_exit "$S/postgres.sh" stop "$T/pg"
eval "$("$S/redis.sh" start "$T/redis")" || fail "cannot start Redis"
on_exit "$S/redis.sh" stop "$T/redis"
export PGHOST PGPORT PGUSER
psql() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

psql -d postgres -c "CREATE DATABASE shop" || fail "createdb"
psql -d shop <<'SQL' || fail "fill the database"
CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, email text UNIQUE);
CREATE TABLE orders (id bigserial PRIMARY KEY, customer int REFERENCES customers(id),
                     total numeric(12,2), note text, at timestamptz DEFAULT now());
CREATE TABLE events (id bigint, payload jsonb);
CREATE INDEX ON orders(customer);
INSERT INTO customers(name, email) SELECT 'name ' || g, 'c' || g || '@example.com'
  FROM generate_series(1, 5000) g;
INSERT INTO orders(customer, total, note) SELECT 1 + g % 5000, (g % 997) * 1.25, md5(g::text)
  FROM generate_series(1, 40000) g;
INSERT INTO events SELECT g, jsonb_build_object('k', g, 'v', repeat('x', 40))
  FROM generate_series(1, 20000) g;
SQL
table_sums() { # DB -> "table count md5" lines
  psql -d "$1" -At -c "SELECT 'customers', count(*), md5(string_agg(t::text, ',' ORDER BY id)) FROM customers t
    UNION ALL SELECT 'orders', count(*), md5(string_agg(t::text, ',' ORDER BY id)) FROM orders t
    UNION ALL SELECT 'events', count(*), md5(string_agg(t::text, ',' ORDER BY id)) FROM events t"
}
table_sums shop > before.txt
size=$(psql -d shop -At -c "SELECT pg_database_size('shop')")
note "database shop: $((size / 1024)) KiB"

redis-cli -p "$REDIS_PORT" set greeting hello >/dev/null
redis-cli -p "$REDIS_PORT" rpush queue a b c >/dev/null
redis-cli -p "$REDIS_PORT" hset user:1 name Ana plan pro >/dev/null

cat > tend.yaml <<YAML
backups:
  - name: db
    postgres: {url: "postgresql://tend@127.0.0.1:$PGPORT/shop"}
    targets: [{local: $W/db}]
    keep: {daily: 30}
    verify: restore
  - name: cache
    redis: {url: "$REDIS_URL"}
    targets: [{local: $W/cache}]
YAML
tend up tend.yaml >/dev/null || fail "tend up"

tend backup run db >/dev/null || fail "postgres backup"
id=$(tend backup list db --json | jget '["backups"][0]["id"]')
# verify: restore runs a drill after the run; wait for it to be recorded in the catalog.
drilled() { [ "$(tend backup list db --json | jget '["backups"][0].get("drill",{}).get("ok")')" = True ]; }
wait_for 60 drilled || fail "the drill after the run was not recorded"
tend backup verify db >/dev/null || fail "verify"
tend backup drill db > drill.txt || fail "drill: $(cat drill.txt)"
grep -q "drill passed" drill.txt || fail "drill output: $(cat drill.txt)"
grep -q "= 3" drill.txt || fail "the drill should count 3 tables: $(cat drill.txt)"
[ -z "$(psql -d postgres -At -c "SELECT datname FROM pg_database WHERE datname LIKE 'tend_drill%'")" ] ||
  fail "a drill left its scratch database behind"

psql -d postgres -c "CREATE DATABASE shop_restored" || fail "createdb shop_restored"
tend backup restore db "$id" --to "postgresql://tend@127.0.0.1:$PGPORT/shop_restored" >/dev/null ||
  fail "restore"
table_sums shop_restored > after.txt
diff before.txt after.txt || fail "restored tables differ"
note "restored: $(tr '\n' ' ' < after.txt | cut -c1-80)..."
# Restoring over a database with tables is refused without --yes.
if tend backup restore db --to "postgresql://tend@127.0.0.1:$PGPORT/shop_restored" 2>/dev/null; then
  fail "restore into a non-empty database without --yes"
fi

tend backup run cache >/dev/null || fail "redis backup"
mkdir rdb
tend backup restore cache --to "$W/rdb" >/dev/null || fail "redis restore"
[ -s rdb/dump.rdb ] || fail "no dump.rdb restored"
"$S/redis.sh" stop "$T/redis"
mkdir -m 0711 "$T/redis2"
eval "$("$S/redis.sh" start "$T/redis2" "$W/rdb/dump.rdb")" || fail "cannot start Redis from the restored RDB"
on_exit "$S/redis.sh" stop "$T/redis2"
[ "$(redis-cli -p "$REDIS_PORT" get greeting)" = hello ] || fail "key greeting not restored"
[ "$(redis-cli -p "$REDIS_PORT" lrange queue 0 -1 | tr '\n' ' ')" = "a b c " ] || fail "list not restored"
[ "$(redis-cli -p "$REDIS_PORT" hget user:1 plan)" = pro ] || fail "hash not restored"

ev=$(tend events --limit 50)
for k in backup_done backup_drilled backup_verified backup_restored; do
  grep -q "$k" <<<"$ev" || fail "no $k event"
done
tend backup status | grep -q "^db " || fail "status has no db row"
echo ok
