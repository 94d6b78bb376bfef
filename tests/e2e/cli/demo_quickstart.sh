#!/usr/bin/env bash
# The README's quick start: examples/demo runs, both web instances answer, status shows them.
# timeout: 60
. "$(dirname "$0")/../lib.sh"
cp -r "$ROOT/examples/demo" "$W/demo"
sed -i 's/port: 4100/port: 31500/' "$W/demo/tend.yaml"
tend up "$W/demo/tend.yaml" >/dev/null || fail "up"
wait_for 20 all_online web 2 || fail "web not online"
curl -fsS http://127.0.0.1:31500/ | grep -q "instance 0" || fail "instance 0"
curl -fsS http://127.0.0.1:31501/ | grep -q "instance 1" || fail "instance 1"
tend status | grep -q worker || fail "status table"
