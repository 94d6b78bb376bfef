#!/usr/bin/env bash
# `tend save` records the running set; after `tend kill` a new daemon brings it back by itself
# (and `tend resurrect` does too); save refuses to replace a saved set with an empty one unless
# --force (PM2 lesson 6).
# timeout: 60
. "$(dirname "$0")/../lib.sh"
cat > tend.yaml <<'EOF'
apps:
  - name: one
    argv: [sleep, "1000"]
    instances: 2
EOF
tend up tend.yaml >/dev/null || fail "up"
wait_for 10 all_online one 2 || fail "not online"
tend save >/dev/null || fail "save"
[ -s "$TEND_HOME/dump.json" ] || fail "no dump.json"
tend kill >/dev/null || fail "kill"
wait_for 10 bash -c "! test -S $TEND_HOME/tend.sock || ! curl -s --unix-socket $TEND_HOME/tend.sock http://t/v1/ping" || fail "daemon still up"
pgrep -f "^sleep 1000$" -s 0 >/dev/null 2>&1
tend status >/dev/null 2>&1 || fail "status"
wait_for 10 all_online one 2 || fail "apps not resurrected at daemon start"
tend delete one >/dev/null || fail "delete"
if tend save >/dev/null 2>err.txt; then fail "save replaced the saved set with an empty one"; fi
grep -q -- --force err.txt || fail "no hint about --force: $(cat err.txt)"
tend save --force >/dev/null || fail "save --force"
tend resurrect >/dev/null || fail "resurrect of an empty set"
