#!/usr/bin/env bash
# An app that crashes more than max_restarts times within restart_window goes `errored` (it is
# not restarted forever like PM2), an "errored" event is recorded, and other apps are unaffected.
# timeout: 60
. "$(dirname "$0")/../lib.sh"
cat > tend.yaml <<'EOF'
apps:
  - name: loop
    cmd: 'exit 1'
    max_restarts: 3
    restart_window: 60s
    backoff: false
    errored_retry: 10m
  - name: steady
    argv: [sleep, "1000"]
EOF
tend up tend.yaml >/dev/null || fail "tend up failed"
is_errored() { [ "$(inst_field loop 0 state)" = errored ]; }
wait_for 20 is_errored || fail "loop did not go errored"
r=$(inst_field loop 0 restarts)
[ "$r" -le 4 ] || fail "loop restarted $r times, more than max_restarts"
# it stays errored: no more restarts happen
sleep 1.5
[ "$(inst_field loop 0 restarts)" = "$r" ] || fail "loop kept restarting after errored"
[ "$(inst_field steady 0 state)" = online ] || fail "steady was affected"
tend events loop --json | grep -q '"errored"' || fail "no errored event"
# starting it by hand leaves errored
tend start loop >/dev/null 2>&1
