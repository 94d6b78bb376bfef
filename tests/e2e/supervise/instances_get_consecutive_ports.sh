#!/usr/bin/env bash
# Seed 000: an API in 4 instances on ports 3000-3003 (here 31000-31003): instance i gets
# PORT=port+i, NODE_APP_INSTANCE=i and TEND_INSTANCE=i, and each answers on its own port.
# timeout: 60
. "$(dirname "$0")/../lib.sh"
cat > tend.yaml <<EOF
apps:
  - name: api
    argv: [python3, $APPS/web.py]
    instances: 4
    port: 31000
    ready: port
EOF
tend up tend.yaml >/dev/null || fail "tend up failed"
wait_for 20 all_online api 4 || fail "4 instances not online"
for i in 0 1 2 3; do
  out=$(curl -fsS "http://127.0.0.1:$((31000 + i))/") || fail "port $((31000 + i)) does not answer"
  echo "$out" | python3 -c "
import json,sys; d=json.load(sys.stdin)
assert d['instance']=='$i' and d['node_app_instance']=='$i' and d['port']==$((31000 + i)), d" \
    || fail "instance $i answered $out"
  [ "$(inst_field api $i port)" = $((31000 + i)) ] || fail "status shows the wrong port for $i"
done
