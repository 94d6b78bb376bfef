#!/usr/bin/env bash
# cron_restart: the app is restarted when its cron expression fires (here every minute, so the
# test waits at most ~60 s), with a "cron" event; an app without cron_restart is left alone.
# timeout: 100
. "$(dirname "$0")/../lib.sh"
cat > tend.yaml <<'EOF'
apps:
  - name: nightly
    argv: [sleep, "1000"]
    cron_restart: "* * * * *"
  - name: plain
    argv: [sleep, "1001"]
EOF
tend up tend.yaml >/dev/null || fail "up"
wait_for 10 all_online nightly 1 || fail "not online"
p1=$(inst_field nightly 0 pid) q1=$(inst_field plain 0 pid)
changed() { local p; p=$(inst_field nightly 0 pid); [ "$p" != "$p1" ] && [ "$p" != None ] && [ "$p" != none ]; }
wait_for 75 changed || fail "cron_restart did not fire within a minute"
tend events nightly --json | grep -q '"cron"' || fail "no cron event"
[ "$(inst_field plain 0 pid)" = "$q1" ] || fail "plain was restarted"
