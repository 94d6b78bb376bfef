#!/usr/bin/env bash
# `tend logs APP --lines N` prints the last N lines; `--follow` streams new lines as they come;
# `--err` shows only stderr; `tend flush` empties the files.
# timeout: 60
. "$(dirname "$0")/../lib.sh"
cat > tend.yaml <<'EOF'
apps:
  - name: talk
    cmd: 'for i in $(seq 1 50); do echo "out $i"; done; echo "oops" >&2; i=100; while true; do i=$((i+1)); echo "live $i"; sleep 0.1; done'
EOF
tend up tend.yaml >/dev/null || fail "tend up failed"
wait_for 10 grep -q "live 102" "$TEND_HOME"/logs/talk-out.log || fail "no output: $(ls $TEND_HOME/logs)"
tend logs talk --lines 5 --out > last.txt || fail "logs failed"
[ "$(wc -l < last.txt)" -eq 5 ] || fail "expected 5 lines: $(cat last.txt)"
tend logs talk --err --lines 10 | grep -q oops || fail "--err does not show stderr"
tend logs talk --err --lines 10 | grep -q "out 1" && fail "--err shows stdout"
timeout 3 "$TEND_BIN" logs talk --follow --lines 0 > follow.txt
n=$(grep -c live follow.txt)
[ "$n" -ge 10 ] || fail "--follow streamed $n live lines in 3 s"
tend logs --lines 3 --json | python3 -c '
import json,sys
rows=[json.loads(l) for l in sys.stdin if l.strip()]
assert rows and all(r["app"]=="talk" and "message" in r for r in rows), rows' || fail "--json"
tend flush talk >/dev/null || fail "flush failed"
[ "$(wc -c < "$TEND_HOME"/logs/talk-err*.log)" -eq 0 ] || fail "flush did not empty the error log"
