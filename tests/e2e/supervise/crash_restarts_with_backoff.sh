#!/usr/bin/env bash
# An app that crashes is restarted, its restart count grows, each exit is an event with its
# code, and backoff spaces the restarts out (the third restart comes later than the first).
# timeout: 60
. "$(dirname "$0")/../lib.sh"
cat > tend.yaml <<'EOF'
apps:
  - name: crashy
    cmd: 'echo "run $$"; sleep 0.2; exit 3'
    max_restarts: 100
    restart_window: 60s
    min_uptime: 5s
    backoff: true
    backoff_max: 2s
EOF
tend up tend.yaml >/dev/null || fail "tend up failed"
restarts_at_least() { local r; r=$(inst_field crashy 0 restarts); [ "$r" != none ] && [ "$r" -ge "$1" ]; }
wait_for 20 restarts_at_least 3 || fail "crashy was not restarted 3 times"
tend events crashy --json > ev.json || fail "tend events failed"
python3 - <<'EOF' || fail "events do not show the exits with code 3 and growing delays"
import json
ev = json.load(open("ev.json"))["events"]
exits = [e for e in ev if e["kind"] == "exit"]
assert len(exits) >= 3, ev
assert all("3" in e["message"] for e in exits), exits
starts = [e["time"] for e in ev if e["kind"] == "start"]
gaps = [b - a for a, b in zip(starts, starts[1:])]
# every run lasts ~200 ms; backoff adds 100, 200, 400 ms ...: the gaps must grow
assert len(gaps) >= 3 and gaps[2] > gaps[0] + 150, gaps
EOF
# every line of every run was captured
wait_for 5 grep -q "run " "$TEND_HOME"/logs/crashy-out*.log || fail "no output captured"
