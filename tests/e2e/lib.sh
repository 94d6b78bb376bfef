# tests/e2e/lib.sh: shared helpers for end-to-end tests (sourced, not run).
#
# Each test gets a fresh $TEND_HOME and work folder, runs the real binary ($TEND_BIN), waits by
# polling with a deadline (never `sleep N` as a wait), and on exit stops only what it started:
# the daemon and keeper whose pids are in its own $TEND_HOME, then the apps it recorded.
set -u
E2E=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$E2E/../.." && pwd)
APPS=$E2E/apps
TEND_BIN=${TEND_BIN:-$ROOT/tend}
T=$(mktemp -d /tmp/tend-t.XXXXXX)
export TEND_HOME=$T/home
mkdir -p "$TEND_HOME" && chmod 700 "$TEND_HOME"
W=$T/work
mkdir -p "$W"
# The system's python3 (where scripts/deps.sh installs modules) ahead of any pyenv-style shim:
# a shim costs a bash start-up per call, which is seconds on a loaded CI machine.
if [ -x /usr/bin/python3 ] && [ "$(command -v python3)" != /usr/bin/python3 ]; then
  mkdir -p "$T/bin" && ln -sf /usr/bin/python3 "$T/bin/python3" && export PATH=$T/bin:$PATH
fi
cd "$W" || exit 1

tend() { "$TEND_BIN" "$@"; }

fail() { echo "FAIL: $*" >&2; dump_state; exit 1; }
note() { echo "# $*"; }

dump_state() {
  echo "--- tend status" >&2; "$TEND_BIN" status 2>&1 | head -n 40 >&2 || true
  echo "--- daemon log (tail)" >&2; tail -n 40 "$TEND_HOME/tend.log" >&2 || true
}

# wait_for SECONDS COMMAND...: poll every 50 ms until COMMAND succeeds or the deadline passes.
wait_for() {
  local limit=$1; shift
  local deadline=$(( $(date +%s%N) / 1000000 + limit * 1000 ))
  while ! "$@" >/dev/null 2>&1; do
    [ $(( $(date +%s%N) / 1000000 )) -gt $deadline ] && return 1
    sleep 0.05
  done
}

# jq-free JSON access through python3 (always present where the tests run: scripts/deps.sh).
jget() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval("d"+sys.argv[1]))' "$1"; }
status_json() { "$TEND_BIN" status --json; }
# instance STATE or PID: inst_field APP I FIELD
inst_field() {
  status_json | python3 -c '
import json,sys
app,i,f=sys.argv[1],int(sys.argv[2]),sys.argv[3]
for a in json.load(sys.stdin)["apps"]:
    if a["name"]==app:
        for x in a["instances"]:
            if x["instance"]==i: print(x.get(f)); sys.exit(0)
print("none")' "$1" "$2" "$3"
}
count_state() { # count_state APP STATE -> number of instances of APP in STATE
  status_json | python3 -c '
import json,sys
app,st=sys.argv[1],sys.argv[2]
print(sum(1 for a in json.load(sys.stdin)["apps"] if a["name"]==app for x in a["instances"] if x["state"]==st))' "$1" "$2"
}
all_online() { [ "$(count_state "$1" online)" = "$2" ]; }

daemon_pid() { cat "$TEND_HOME/tend.pid" 2>/dev/null; }
alive() { kill -0 "$1" 2>/dev/null; }

# on_exit COMMAND...: run at exit, before the work folder goes (stop a server, unmount).
EXIT_HOOKS=()
on_exit() { EXIT_HOOKS+=("$*"); }

cleanup() {
  local rc=$?
  local dp; dp=$(daemon_pid)
  if [ -n "$dp" ] && alive "$dp"; then
    "$TEND_BIN" kill >/dev/null 2>&1 || true
    wait_for 10 bash -c "! kill -0 $dp" || kill -9 "$dp" 2>/dev/null
  fi
  local kp; for kp in $(pgrep -f "__keeper $TEND_HOME/" 2>/dev/null); do kill "$kp" 2>/dev/null; done
  # Apps this test started, recorded by pid in $T/pids (one per line), and their groups.
  if [ -f "$T/pids" ]; then
    while read -r p; do [ -n "$p" ] && kill -9 -- "-$p" "$p" 2>/dev/null; done < "$T/pids"
  fi
  local h; for h in "${EXIT_HOOKS[@]}"; do eval "$h" >/dev/null 2>&1 || true; done
  [ "${KEEP_T:-0}" = 1 ] || rm -rf "$T"
  exit $rc
}
# INT and TERM too: the runner's timeout sends TERM, and bash would die without the EXIT trap.
trap cleanup EXIT
trap 'exit 143' INT TERM
