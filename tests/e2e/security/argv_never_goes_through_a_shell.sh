#!/usr/bin/env bash
# No shell unless `cmd`: an `argv` app gets `$(touch X)`, `; touch X`, `| touch X`, backticks,
# `*` and `$HOME` as the exact strings it was given (nothing is run, nothing expanded), and so
# do env values made of the same characters; its /proc/PID/exe is the program itself, not
# /bin/sh. A `cmd` app does run through /bin/sh -c (shell arithmetic works, exe is the shell).
# timeout: 60
. "$(dirname "$0")/../lib.sh"
mkdir -p glob && touch glob/one glob/two
py=$(python3 -c 'import os, sys; print(os.path.realpath(sys.executable))') # not a pyenv shim
# One YAML list, and the same strings one per line for comparing with /proc/PID/cmdline.
args=("\$(touch $W/X1)" "; touch $W/X2" "| touch $W/X3" "\`touch $W/X4\`" "*" "\$HOME" "a  b" "x > $W/X5")
weird="\$(touch $W/X6); \`touch $W/X7\` | * \$HOME && touch $W/X8"
yaml_list=$(printf '"%s", ' "${args[@]}")
cat > tend.yaml <<EOF
apps:
  - name: lit
    argv: [$py, -c, "import time; time.sleep(1000)", ${yaml_list%, }]
    cwd: $W/glob
    env:
      WEIRD: '$weird'
  - name: sh
    cmd: "touch $W/shell-ran-\$((6*7)); sleep 1000; true"
EOF
tend up tend.yaml >/dev/null || fail "tend up failed: $(tend config check tend.yaml 2>&1)"
wait_for 10 all_online lit 1 || fail "lit not online"
wait_for 10 all_online sh 1 || fail "sh not online"
pid=$(inst_field lit 0 pid)

# The app sees exactly what was written, one argument each.
mapfile -d '' -t got < "/proc/$pid/cmdline"
[ "${#got[@]}" = $((3 + ${#args[@]})) ] || fail "argument count ${#got[@]}: $(tr '\0' '|' < "/proc/$pid/cmdline")"
for i in "${!args[@]}"; do
  [ "${got[$((i + 3))]}" = "${args[$i]}" ] || fail "argument $i is \"${got[$((i + 3))]}\", not \"${args[$i]}\""
done
tr '\0' '\n' < "/proc/$pid/environ" | grep -qxF "WEIRD=$weird" \
  || fail "env value changed: $(tr '\0' '\n' < "/proc/$pid/environ" | grep WEIRD)"
for x in X1 X2 X3 X4 X5 X6 X7 X8; do
  [ -e "$W/$x" ] && fail "$x was created: something ran a shell"
done
exe=$(readlink -f "/proc/$pid/exe")
[ "$exe" = "$py" ] || fail "argv app's exe is $exe, not $py"

# cmd: through /bin/sh -c.
wait_for 10 test -e "$W/shell-ran-42" || fail "cmd did not run through a shell"
spid=$(inst_field sh 0 pid)
[ "$(readlink -f "/proc/$spid/exe")" = "$(readlink -f /bin/sh)" ] \
  || fail "cmd app's exe is $(readlink "/proc/$spid/exe"), not /bin/sh"
[ "$(tr '\0' ' ' < "/proc/$spid/cmdline" | cut -d' ' -f1-2)" = "/bin/sh -c" ] \
  || fail "cmd app's cmdline: $(tr '\0' ' ' < "/proc/$spid/cmdline")"
