# tests/e2e/watch/helpers.bash: helpers for the monitoring end-to-end tests (sourced after
# ../lib.sh; not a test itself, so its name does not end in .sh and run_e2e.sh skips it).
#
# The monitoring API is read with curl on the daemon's unix socket, not with a CLI verb, so these
# tests check the daemon's answers themselves.

# The system python3 when there is one, for lib.sh's helpers too: a version manager's shim
# (pyenv) first in PATH costs about a second per call on a loaded machine, and only the system
# python sees Debian's python3-prometheus-client.
if [ -x /usr/bin/python3 ]; then python3() { /usr/bin/python3 "$@"; }; fi
PY3=$(command -v /usr/bin/python3 || command -v python3)

# api PATH: the body of GET PATH on the unix socket.
api() { curl -s --max-time 10 --unix-socket "$TEND_HOME/tend.sock" "http://tend$1"; }
# api_code PATH: the HTTP status of GET PATH on the unix socket (body in $W/last_body).
api_code() {
  curl -s --max-time 10 -o "$W/last_body" -w '%{http_code}' --unix-socket "$TEND_HOME/tend.sock" \
    "http://tend$1"
}

# check NAME FIELD: one field of check NAME from /v1/checks ("status", "message", "runs",
# "metrics.connections"...); "none" when there is no such check or field.
check() {
  api /v1/checks | python3 -c '
import json,sys
name,field=sys.argv[1],sys.argv[2]
for c in json.load(sys.stdin)["checks"]:
    if c["name"]==name:
        v=c
        for k in field.split("."):
            v=v.get(k) if isinstance(v,dict) else None
        print("none" if v is None else v); sys.exit(0)
print("none")' "$1" "$2"
}
check_is() { [ "$(check "$1" status)" = "$2" ]; }   # check_is NAME ok|failing|pending

# events_tsv: the last 200 events, one a line: "kind<TAB>app<TAB>instance<TAB>message".
events_tsv() {
  "$TEND_BIN" events --limit 200 --json | python3 -c '
import json,sys
d=json.load(sys.stdin)
for e in (d["events"] if isinstance(d,dict) else d):
    print("%s\t%s\t%s\t%s" % (e.get("kind"), e.get("app"), e.get("instance"), e.get("message")))'
}
