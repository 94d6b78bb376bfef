#!/usr/bin/env bash
# watch: a change in a watched folder (also in a subfolder) restarts the app once (debounced);
# a change in an ignored folder does not.
# timeout: 60
. "$(dirname "$0")/../lib.sh"
mkdir -p src/deep node_modules
cat > tend.yaml <<'EOF'
apps:
  - name: dev
    argv: [sleep, "1000"]
    watch: true
    watch_ignore: [node_modules]
    watch_debounce: 300ms
EOF
tend up tend.yaml >/dev/null || fail "up"
wait_for 10 all_online dev 1 || fail "not online"
p1=$(inst_field dev 0 pid)
touch node_modules/x; sleep 1
[ "$(inst_field dev 0 pid)" = "$p1" ] || fail "restarted on an ignored change"
for i in 1 2 3 4 5; do echo $i > src/deep/file.js; done
changed() { local p; p=$(inst_field dev 0 pid); [ "$p" != "$p1" ] && [ "$p" != none ] && [ "$p" != None ]; }
wait_for 10 changed || fail "not restarted on a change"
wait_for 10 all_online dev 1
sleep 1
[ "$(tend events dev --json | grep -c '"watch"')" -eq 1 ] || fail "the burst of changes did not restart exactly once"
