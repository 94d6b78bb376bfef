#!/usr/bin/env bash
# Secrets in files other users can read are reported, with the file and the fix: an env_file of
# mode 0644 holding DB_PASSWORD, and a tend.yaml of mode 0644 with a secret-looking env: value,
# each produce a warning on `tend config check` and on `tend up` naming the file and
# `chmod 600 FILE` (a warning: the apps still start). Once both files are 0600 neither warns.
# The same holds for a tend.yaml written by `tend import ... > tend.yaml` under the usual umask:
# import prints values verbatim (the output is the user's config), then the check warns.
# timeout: 60
. "$(dirname "$0")/../lib.sh"
umask 022
printf 'DB_PASSWORD=hunter2-from-file\nLOG_LEVEL=info\n' > app.env
cat > tend.yaml <<'EOF'
apps:
  - name: a
    argv: [sleep, "1000"]
    env_file: app.env
    env:
      API_TOKEN: tok-from-yaml-abcdef
      PLAIN: visible
EOF
[ "$(stat -c %a app.env)" = 644 ] && [ "$(stat -c %a tend.yaml)" = 644 ] || fail "umask did not give 0644"
envw="warning: env_file \"$W/app.env\" is readable by other users (mode 0644); run chmod 600 $W/app.env"
ymlw="warning: \"API_TOKEN\" looks like a secret and tend.yaml is readable by other users (mode 0644); run chmod 600 tend.yaml"
out=$(tend config check tend.yaml 2>&1) || fail "config check failed: $out"
echo "$out" | grep -qF "tend.yaml:4:15: $envw" || fail "config check: no env_file warning: $out"
echo "$out" | grep -qF "tend.yaml:6:7: $ymlw" || fail "config check: no tend.yaml warning: $out"
echo "$out" | grep -q "is valid (1 app, 2 warnings)" || fail "config check verdict: $out"
out=$(tend up tend.yaml 2>&1) || fail "tend up failed: $out"
echo "$out" | grep -qF "$envw" || fail "tend up: no env_file warning: $out"
echo "$out" | grep -qF "run chmod 600 $W/tend.yaml" || fail "tend up: no tend.yaml warning: $out"
wait_for 10 all_online a 1 || fail "a warning stopped the app"

chmod 600 app.env tend.yaml
out=$(tend config check tend.yaml 2>&1) || fail "config check failed: $out"
echo "$out" | grep -q "warning" && fail "0600 files still warn: $out"
out=$(tend up tend.yaml 2>&1) || fail "tend up failed: $out"
echo "$out" | grep -q "warning\|chmod" && fail "tend up warns for 0600 files: $out"

# import: verbatim values on stdout; the new file, readable by others, is then warned about.
cat > ecosystem.json <<'EOF'
{"apps": [{"name": "b", "script": "server.js", "env": {"DB_PASSWORD": "pw-from-ecosystem-123"}}]}
EOF
tend import ecosystem.json > imported.yaml 2>/dev/null || fail "import failed"
grep -q 'DB_PASSWORD: "*pw-from-ecosystem-123' imported.yaml || fail "import masked a value: $(cat imported.yaml)"
out=$(tend config check imported.yaml 2>&1)
echo "$out" | grep -qF "\"DB_PASSWORD\" looks like a secret and imported.yaml is readable by other users (mode 0644); run chmod 600 imported.yaml" \
  || fail "no warning for the imported file: $out"
