#!/usr/bin/env bash
# DESIGN invariant 1: a config that fails validation changes nothing that is running. Every
# error is reported with file:line:col and a did-you-mean; the exit status is 1.
# timeout: 60
. "$(dirname "$0")/../lib.sh"
cat > tend.yaml <<'EOF'
apps:
  - name: a
    argv: [sleep, "1000"]
  - name: b
    argv: [sleep, "1001"]
EOF
tend up tend.yaml >/dev/null || fail "tend up failed"
wait_for 10 all_online a 1 && wait_for 10 all_online b 1 || fail "not online"
pa=$(inst_field a 0 pid) pb=$(inst_field b 0 pid)
cat > tend.yaml <<'EOF'
apps:
  - name: a
    argv: [sleep, "1000"]
    instnaces: 2
  - name: c
    cmd: sleep 5
    max_memory: lots
EOF
if tend up tend.yaml > out.txt 2>&1; then fail "a bad config was accepted"; fi
grep -q 'tend.yaml:4:5: unknown key "instnaces"' out.txt || fail "no file:line:col for the unknown key: $(cat out.txt)"
grep -q 'did you mean "instances"' out.txt || fail "no did-you-mean: $(cat out.txt)"
grep -q 'tend.yaml:7:17: .*max_memory' out.txt || fail "the second error is missing: $(cat out.txt)"
grep -q 'nothing was changed' out.txt || fail "does not say nothing changed: $(cat out.txt)"
[ "$(inst_field a 0 pid)" = "$pa" ] && [ "$(inst_field b 0 pid)" = "$pb" ] || fail "running apps were touched"
[ "$(inst_field c 0 state)" = none ] || fail "app c was started"
if tend config check tend.yaml > chk.txt 2>&1; then fail "config check accepted a bad file"; fi
grep -q 'tend.yaml:4:5' chk.txt || fail "config check output: $(cat chk.txt)"
# a usage error exits 2
tend up --no-such-flag >/dev/null 2>&1; [ $? -eq 2 ] || fail "usage error did not exit 2"
