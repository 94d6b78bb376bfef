#!/usr/bin/env bash
# `tend up` applied again and again while apps crash-loop (each run lasts 0-200 ms): instance
# counts go up and down, an app is removed, apps are added, env changes. Every apply returns,
# and the end state matches the last config exactly: the set of apps and instance counts in
# status, one process group per instance (none left from a larger count or a removed app), and
# the environment of every running process is the last config's (a removed key is gone).
# timeout: 150
. "$(dirname "$0")/../e2e/lib.sh"
mark=crash-apply-$$-$RANDOM
# CRASH=0: a stable instance (exec: one process, pid = instance pid); otherwise it exits with
# code 1 after a random 0-200 ms.
loop='if [ "$CRASH" = 0 ]; then exec sleep 100000; fi; sleep $(printf 0.%03d $((RANDOM % 200))); exit 1'
app() { # app NAME INSTANCES GEN CRASH [EXTRA_ENV]
  cat <<EOF
  - name: $1
    argv: [bash, -c, '$loop']
    instances: $2
    env: {FAULT_MARK: $mark, GEN: "$3", CRASH: "$4"${5:+, $5}}
    restart_delay: 20ms
    backoff: false
    max_restarts: 100000
    restart_window: 10s
    kill_timeout: 2s
EOF
}
apply() { # apply GEN APP-LINES...: write tend.yaml and apply it (it must return)
  { echo "apps:"; cat; } > tend.yaml
  local t0; t0=$(date +%s%N)
  timeout 60 "$TEND_BIN" up tend.yaml > "up.$1.out" 2>&1
  local rc=$?
  [ $rc -eq 124 ] && fail "tend up of generation $1 did not return"
  note "generation $1 applied in $(( ($(date +%s%N) - t0) / 1000000 )) ms (exit $rc)"
}
{ app a 2 1 1; app b 3 1 1; app c 1 1 1 "OLD: x"; } | apply 1
restarts() { status_json | python3 -c '
import json,sys
print(sum(x["restarts"] for a in json.load(sys.stdin)["apps"] for x in a["instances"]))'; }
crashing() { [ "$(restarts)" -ge 20 ]; }
wait_for 20 crashing || fail "the apps are not crash-looping"
{ app a 4 2 1 "OLD: x"; app b 1 2 1; } | apply 2                      # c removed, a up, b down
{ app a 1 3 1 "OLD: x"; app b 3 3 1; app d 2 3 1; } | apply 3         # d added, a down, b up
{ app a 3 4 1; app d 2 4 1 "OLD: y"; app e 1 4 1; } | apply 4         # b removed, e added
{ app b 2 5 1; app a 2 5 1 "OLD: z"; app d 3 5 0; app e 2 5 1; } | apply 5
{ app a 2 6 0; app c 2 6 0; app d 3 6 0; app e 1 6 1; } | apply 6     # the last config

# What the last config says: app -> instances; a, c and d stable, e crash-looping.
declare -A want=([a]=2 [c]=2 [d]=3 [e]=1)
# Every live process of this test as "pid pgid app instance GEN OLD", from /proc.
procs() { python3 - "$mark" <<'PY'
import os, sys
want = "FAULT_MARK=" + sys.argv[1]
for p in os.listdir("/proc"):
    if not p.isdigit():
        continue
    try:
        env = open("/proc/%s/environ" % p, "rb").read().decode(errors="replace").split("\0")
        stat = open("/proc/%s/stat" % p).read().rsplit(")", 1)[1].split()
    except OSError:
        continue
    if want not in env or stat[0] == "Z":
        continue
    e = dict(kv.split("=", 1) for kv in env if "=" in kv)
    print(p, stat[2], e.get("TEND_APP"), e.get("TEND_INSTANCE"), e.get("GEN"), e.get("OLD", "-"))
PY
}
status_set() { status_json | python3 -c '
import json,sys
for a in json.load(sys.stdin)["apps"]:
    print(a["name"], len(a["instances"]), sum(x["state"] == "online" for x in a["instances"]))'; }
converged() {
  status_set > "$T/status"
  # status: exactly a c d e with the right counts; the stable ones all online
  [ "$(awk '{print $1, $2}' "$T/status" | sort | tr '\n' ' ')" = "a 2 c 2 d 3 e 1 " ] || return 1
  awk '$1 != "e" && $2 != $3 {exit 1}' "$T/status" || return 1
  procs > "$T/procs"
  # no process of another app, of a removed instance number, or of an older generation
  awk -v a=2 -v c=2 -v d=3 -v e=1 '
    { n = ($3 == "a") ? a : ($3 == "c") ? c : ($3 == "d") ? d : ($3 == "e") ? e : -1
      if (n < 0 || $4 >= n || $5 != 6 || $6 != "-") exit 1 }' "$T/procs" || return 1
  # one process group per instance
  [ -z "$(awk '{print $3 ":" $4, $2}' "$T/procs" | sort -u | awk '{print $1}' | uniq -d)" ]
}
if ! wait_for 40 converged; then
  note "status:"; sed 's/^/#   /' "$T/status"
  note "processes (pid pgid app instance GEN OLD):"; sed 's/^/#   /' "$T/procs"
  fail "the running state does not match the last config"
fi
# The stable instances are the very pids status lists (their own group), with the last env.
for name in a c d; do
  for ((i = 0; i < want[$name]; i++)); do
    pid=$(inst_field "$name" "$i" pid)
    grep -q "^$pid $pid $name $i 6 -$" "$T/procs" || fail "$name:$i (pid $pid) is not running with the last config"
  done
done
note "restarts counted by the last instances: $(restarts)"
tend status >/dev/null || fail "the daemon does not answer"
