#!/usr/bin/env bash
# Exit codes mean something: 0 ok, 1 failed, 2 usage; unknown commands get a did-you-mean;
# every read verb takes --json; version and ping work.
# timeout: 60
. "$(dirname "$0")/../lib.sh"
tend sttaus >/dev/null 2>err.txt; [ $? -eq 2 ] || fail "unknown verb did not exit 2"
grep -q 'did you mean "status"' err.txt || fail "no did-you-mean: $(cat err.txt)"
tend version | grep -q '0\.' || fail "version"
tend ping >/dev/null || fail "ping"
tend status --json | python3 -c 'import json,sys; json.load(sys.stdin)["apps"]' || fail "status --json"
tend restart nosuchapp >/dev/null 2>err.txt; [ $? -eq 1 ] || fail "unknown app did not exit 1"
grep -q 'nosuchapp' err.txt || fail "error does not name the app: $(cat err.txt)"
tend events --json | python3 -c 'import json,sys; json.load(sys.stdin)["events"]' || fail "events --json"
