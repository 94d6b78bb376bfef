#!/usr/bin/env bash
# When the log file cannot be written (here /dev/full: every write fails with ENOSPC), the app
# is not blocked: it keeps running and writing, the bytes are dropped and counted, the count
# shows in status, and a log_drop event is recorded.
# timeout: 60
. "$(dirname "$0")/../e2e/lib.sh"
cat > tend.yaml <<EOF
apps:
  - name: chatty
    cmd: 'i=0; while true; do i=\$((i+1)); echo "line \$i"; echo \$i > $W/progress; [ \$((i % 100)) = 0 ] && sleep 0.01; done'
    log:
      out_file: /dev/full
      max_size: 0
      rotate: none
EOF
tend up tend.yaml >/dev/null || fail "tend up failed"
dropped() { local d; d=$(inst_field chatty 0 log_dropped_bytes); [ "$d" != none ] && [ "$d" -gt 100000 ]; }
wait_for 20 dropped || fail "no dropped bytes counted: $(inst_field chatty 0 log_dropped_bytes)"
progress() { local v=""; while [ -z "$v" ]; do v=$(cat progress); done; echo "$v"; }
p1=$(progress); sleep 0.5; p2=$(progress)
[ "$p2" -gt "$p1" ] || fail "the app is blocked ($p1 -> $p2)"
[ "$(inst_field chatty 0 state)" = online ] || fail "the app is not online"
tend events chatty --json | grep -q '"log_drop"' || fail "no log_drop event"
