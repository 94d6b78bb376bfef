#!/usr/bin/env bash
# timeout: 90
# A `postgres:` check against a real PostgreSQL on 127.0.0.1: ok with its connection count; when
# the server stops, the check is failing within one interval plus the timeout (and some slack for
# a loaded machine) with a message that names the server and the reason; when the server is back
# on the same port, the check is ok again. The events record check_failing, then check_ok.
. "$(dirname "$0")/../lib.sh"
. "$E2E/watch/helpers.bash"
S=$ROOT/tests/servers
mkdir -m 0711 -p "$T/pg"; chmod 0711 "$T"
eval "$("$S/postgres.sh" start "$T/pg")" || fail "cannot start PostgreSQL"
on_exit "$S/postgres.sh" stop "$T/pg"
# postgres.sh start picks a new port each time; the check must find the server where it was, so
# the restart below reuses the port (same options as postgres.sh).
pg_start_again() {
  local run=(); [ "$(id -u)" -eq 0 ] && run=(runuser -u postgres --)
  "${run[@]}" "$PG_BIN/pg_ctl" -D "$T/pg/data" -l "$T/pg/server.log" -w -t 30 \
    -o "-p $PGPORT -k $T/pg -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
}

# timeout must be shorter than interval: 2 s / 1 s is the tightest pair that is not flaky on a
# loaded machine (a fresh libpq connection plus a query within 1 s).
cat > tend.yaml <<YAML
checks:
  - name: db
    postgres: postgresql://tend@127.0.0.1:$PGPORT/postgres
    interval: 2s
    timeout: 1s
YAML
tend up tend.yaml >/dev/null || fail "tend up"
wait_for 15 check_is db ok || fail "check db not ok: $(check db message)"
conns=$(check db metrics.connections)
max=$(check db metrics.max_connections)
python3 -c "import sys; c,m=float('$conns'),float('$max'); sys.exit(not (1 <= c < m))" ||
  fail "connections metric: $conns of $max"
msg=$(check db message)
grep -q "connections" <<<"$msg" || fail "ok message says nothing of connections: $msg"
note "ok: $msg"

"$S/postgres.sh" stop "$T/pg"
t0=$(date +%s%N)
wait_for 8 check_is db failing || fail "check db not failing 8 s after PostgreSQL stopped"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
msg=$(check db message)
note "failing after ${ms} ms: $msg"
# The message names where it tried. A probe that ran during the shutdown may say "server closed
# the connection unexpectedly"; once the server is gone, the next ones say refused.
grep -q "127.0.0.1:$PGPORT" <<<"$msg" || fail "failing message does not name the server: $msg"
says_refused() { check db message | grep -qi "refused"; }
wait_for 8 says_refused || fail "failing message does not say the connection was refused: $(check db message)"
# The failure lasts while the server is down: later probes fail too.
runs=$(check db runs)
ran_again() { [ "$(check db runs)" -gt "$runs" ]; }
wait_for 8 ran_again || fail "no probe ran after the first failure"
check_is db failing || fail "check db not failing while PostgreSQL is down"

pg_start_again || fail "cannot start PostgreSQL again on port $PGPORT"
wait_for 10 check_is db ok || fail "check db not ok after PostgreSQL came back: $(check db message)"

ev=$(events_tsv | grep -E "^check_(ok|failing)" | cut -f1,4)
note "events: $(tr '\n' '|' <<<"$ev")"
python3 -c '
import sys
kinds=[l.split("\t")[0] for l in sys.stdin.read().splitlines() if l.split("\t")[1].startswith("db:")]
assert kinds[-3:]==["check_ok","check_failing","check_ok"], kinds' <<<"$ev" ||
  fail "events are not ok, failing, ok: $ev"
grep -q "^check_failing	db: failing: .*127.0.0.1:$PGPORT" <<<"$ev" || fail "check_failing event has no reason: $ev"
echo ok
