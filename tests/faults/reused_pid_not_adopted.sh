#!/usr/bin/env bash
# DESIGN invariant 5: a pid recorded in state.json that now belongs to another process (the
# /proc start time differs) is neither adopted nor signalled; the app is started afresh.
# timeout: 60
. "$(dirname "$0")/../e2e/lib.sh"
cat > tend.yaml <<'EOF'
apps:
  - name: app
    argv: [sleep, "1000"]
EOF
tend up tend.yaml >/dev/null || fail "tend up failed"
wait_for 10 all_online app 1 || fail "not online"
pa=$(inst_field app 0 pid)
kill -9 "$(daemon_pid)"
kill -9 "$pa"
# An unrelated process we start: rewrite the state file so the app's pid points at it.
sleep 1000 & other=$!
echo "$other" >> "$T/pids"
python3 - "$TEND_HOME/state.json" "$pa" "$other" <<'EOF'
import sys, re
p, old, new = sys.argv[1], sys.argv[2], sys.argv[3]
s = open(p).read()
s2 = re.sub(r'("pid"\s*:\s*)' + old + r'\b', r'\g<1>' + new, s)
assert s2 != s, "pid not found in state.json"
open(p, "w").write(s2)
EOF
tend status >/dev/null 2>&1 || fail "status failed"
wait_for 10 all_online app 1 || fail "app not restarted"
[ "$(inst_field app 0 pid)" != "$other" ] || fail "the unrelated process was adopted"
alive "$other" || fail "the unrelated process was signalled"
