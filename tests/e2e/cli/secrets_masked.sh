#!/usr/bin/env bash
# DESIGN invariant 7: values of env vars that look secret are masked in `env`, `describe` and the
# API; `env` shows where each value came from; env_file is re-read at every start.
# timeout: 60
. "$(dirname "$0")/../lib.sh"
echo 'DB_PASSWORD=hunter2-very-secret' > .env
echo 'FROM_FILE=one' >> .env
cat > tend.yaml <<'EOF'
apps:
  - name: app
    argv: [sleep, "1000"]
    env_file: .env
    env:
      API_TOKEN: tok-abcdefghijklmnop
      DATABASE_URL: postgres://edp:pa55word-xyz@127.0.0.1/edp
      PLAIN: visible
EOF
tend up tend.yaml >/dev/null || fail "tend up failed"
wait_for 10 all_online app 1 || fail "not online"
for v in "tend env app" "tend env app --json" "tend describe app" "tend describe app --json"; do
  out=$($v) || fail "$v failed"
  echo "$out" | grep -Eq 'hunter2|abcdefghijklmnop|pa55word' && fail "$v shows a secret: $out"
  true
done
tend env app | grep -q 'PLAIN.*visible' || fail "plain value hidden"
tend env app | grep -Eq 'FROM_FILE.*one.*(file|env_file)' || fail "source of FROM_FILE not shown: $(tend env app)"
grep -q "$(cat /proc/$(inst_field app 0 pid)/environ | tr '\0' '\n' | grep ^DB_PASSWORD)" .env || fail "app did not get the secret"
echo 'FROM_FILE=two' > .env
tend restart app >/dev/null || fail "restart failed"
tr '\0' '\n' < /proc/$(inst_field app 0 pid)/environ | grep -qx FROM_FILE=two || fail "env_file not re-read"
tr '\0' '\n' < /proc/$(inst_field app 0 pid)/environ | grep -q DB_PASSWORD && fail "a removed key survived"
true
