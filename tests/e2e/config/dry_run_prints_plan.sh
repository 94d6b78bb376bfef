#!/usr/bin/env bash
# `tend up --dry-run` prints what would start, restart, stop or stay, and changes nothing;
# a real `up` then starts added apps, restarts changed ones, stops removed ones and leaves
# unchanged ones alone (same pid).
# timeout: 60
. "$(dirname "$0")/../lib.sh"
cat > tend.yaml <<'EOF'
apps:
  - name: keep
    argv: [sleep, "1000"]
  - name: change
    argv: [sleep, "1001"]
  - name: remove
    argv: [sleep, "1002"]
EOF
tend up tend.yaml >/dev/null || fail "tend up failed"
wait_for 10 all_online remove 1 || fail "not online"
pk=$(inst_field keep 0 pid) pc=$(inst_field change 0 pid)
cat > tend.yaml <<'EOF'
apps:
  - name: keep
    argv: [sleep, "1000"]
  - name: change
    argv: [sleep, "1003"]
  - name: added
    argv: [sleep, "1004"]
EOF
tend up --dry-run tend.yaml > plan.txt || fail "dry run failed"
grep -Eq 'start +added' plan.txt && grep -Eq 'restart +change' plan.txt && grep -Eq 'stop +remove' plan.txt \
  && grep -Eq 'unchanged +keep' plan.txt || fail "plan: $(cat plan.txt)"
[ "$(inst_field added 0 state)" = none ] && [ "$(inst_field remove 0 state)" = online ] || fail "dry run changed something"
tend up tend.yaml >/dev/null || fail "up failed"
wait_for 10 all_online added 1 || fail "added not started"
[ "$(inst_field keep 0 pid)" = "$pk" ] || fail "unchanged app was restarted"
wait_for 10 all_online change 1 && [ "$(inst_field change 0 pid)" != "$pc" ] || fail "changed app not restarted"
gone_remove() { [ "$(inst_field remove 0 state)" = none ]; }
wait_for 10 gone_remove || fail "removed app still there"
