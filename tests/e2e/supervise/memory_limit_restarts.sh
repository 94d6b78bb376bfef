#!/usr/bin/env bash
# max_memory: an instance whose process tree grows past the limit is restarted, with a "memory"
# event; the memory is counted over the whole tree (here a shell whose child allocates).
# timeout: 60
. "$(dirname "$0")/../lib.sh"
cat > tend.yaml <<'EOF'
apps:
  - name: hog
    cmd: |
      python3 -c "import time
      b=[]
      while True:
          b.append(bytearray(8*1024*1024)); time.sleep(0.05)"; echo done
    max_memory: 60M
    backoff: false
EOF
tend up tend.yaml >/dev/null || fail "up"
restarted() { local r; r=$(inst_field hog 0 restarts); [ "$r" != none ] && [ "$r" -ge 1 ]; }
wait_for 30 restarted || fail "hog was not restarted"
tend events hog --json | grep -q '"memory"' || fail "no memory event"
