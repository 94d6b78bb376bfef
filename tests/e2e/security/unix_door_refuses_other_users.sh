#!/usr/bin/env bash
# DESIGN invariant 7, the unix door: $TEND_HOME is 0700, the socket 0600 and the token 0600, all
# owned by the daemon's user, so a client running as another user cannot even reach the socket
# (the CLI says "Permission denied" and why). Behind that, the daemon checks SO_PEERCRED: with
# the folder and socket loosened on purpose, another uid gets a 403 naming the rule (and tend.log
# records the refusal) while root still gets in. A home other users may enter is reported at
# start, in tend.log and in `tend events`, with the chmod that fixes it.
# timeout: 60
. "$(dirname "$0")/../lib.sh"
[ "$(id -u)" = 0 ] || { note "skipped: needs root to run a client as another user"; exit 0; }
id nobody >/dev/null 2>&1 || { note "skipped: no user nobody"; exit 0; }
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; }
me=$(id -un)
cat > tend.yaml <<'EOF2'
apps:
  - name: a
    argv: [sleep, "1000"]
EOF2
tend up tend.yaml >/dev/null || fail "tend up failed"
for f in "$TEND_HOME:700" "$TEND_HOME/tend.sock:600" "$TEND_HOME/token:600"; do
  p=${f%:*} want=${f##*:}
  [ "$(stat -c %a "$p")" = "$want" ] || fail "$p has mode $(stat -c %a "$p"), not $want"
  [ "$(stat -c %U "$p")" = "$me" ] || fail "$p is owned by $(stat -c %U "$p"), not $me"
done

# Another user: the 0700 home stops it before the socket.
chmod 755 "$T"
out=$(as_nobody env TEND_HOME="$TEND_HOME" "$TEND_BIN" status 2>&1) && fail "nobody could run status: $out"
echo "$out" | grep -q "Permission denied" || fail "unclear refusal for nobody: $out"
as_nobody curl -s --max-time 5 --unix-socket "$TEND_HOME/tend.sock" http://tend/v1/status \
  && fail "nobody reached the API through a 0700 home"

# Loosened on purpose: the kernel lets nobody connect, the daemon's SO_PEERCRED check does not.
chmod 711 "$TEND_HOME"; chmod 666 "$TEND_HOME/tend.sock"
# (curl runs as nobody, which may not write in $W: the answer comes back on stdout)
as_nobody curl -s -w '\n%{http_code}' --max-time 5 --unix-socket "$TEND_HOME/tend.sock" \
  http://tend/v1/status > "$W/ans"
code=$(tail -n 1 "$W/ans")
[ "$code" = 403 ] || fail "a client of uid nobody got $code, not 403: $(cat "$W/ans")"
grep -q '"code":"forbidden"' "$W/ans" && grep -q "uid $(id -u nobody) may not use this daemon" "$W/ans" \
  || fail "the 403 does not say why: $(cat "$W/ans")"
grep -q '"name": *"a"' "$W/ans" && fail "the 403 carried the status"
out=$(as_nobody env TEND_HOME="$TEND_HOME" "$TEND_BIN" status 2>&1) && fail "nobody ran status: $out"
echo "$out" | grep -q "may not use this daemon" || fail "the CLI does not say why: $out"
grep -q "warn api: refused a client on $TEND_HOME/tend.sock: uid $(id -u nobody)" "$TEND_HOME/tend.log" \
  || fail "no refusal in tend.log"
tend status | grep -q online || fail "root was locked out"

# A home other users may enter is reported when the daemon starts.
tend kill >/dev/null || fail "tend kill"
chmod 755 "$TEND_HOME"
tend ping >/dev/null || fail "the daemon did not start again"
grep -q "warn daemon: $TEND_HOME is open to other users (mode 0755); run chmod 700 $TEND_HOME" \
  "$TEND_HOME/tend.log" || fail "no warning about the open home: $(tail -n 5 "$TEND_HOME/tend.log")"
tend events --json | grep -q '"kind": *"home_exposed"' || fail "no home_exposed event"
