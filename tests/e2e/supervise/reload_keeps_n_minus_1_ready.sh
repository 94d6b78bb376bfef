#!/usr/bin/env bash
# A rolling reload of 4 instances replaces them one at a time, waiting for readiness: at every
# moment at least 3 of the 4 ports answer; every pid changes. A release that never becomes
# ready aborts the reload (exit 1) and leaves the instances not yet reloaded serving.
# timeout: 120
. "$(dirname "$0")/../lib.sh"
cat > tend.yaml <<EOF
apps:
  - name: api
    argv: [python3, $APPS/web.py]
    instances: 4
    port: 31100
    env: {READY_DELAY: "0.3", BROKEN_IF: $W/broken}
    ready: {http: "http://127.0.0.1:\${PORT}/health", timeout: 10s}
    kill_timeout: 2s
EOF
tend up tend.yaml >/dev/null || fail "tend up failed"
wait_for 20 all_online api 4 || fail "not online"
before=$(for i in 0 1 2 3; do inst_field api $i pid; done)
# Probe the 4 ports continuously while reloading; record the fewest answering at once.
python3 - "$W/min" <<'EOF' &
import socket, sys, time, os
low, end = 4, time.time() + 60
while time.time() < end and not os.path.exists(sys.argv[1] + ".stop"):
    up = 0
    for p in range(31100, 31104):
        s = socket.socket(); s.settimeout(0.2)
        try: s.connect(("127.0.0.1", p)); up += 1
        except OSError: pass
        finally: s.close()
    low = min(low, up); time.sleep(0.01)
open(sys.argv[1], "w").write(str(low))
EOF
prober=$!
tend reload api >/dev/null || fail "reload failed"
touch "$W/min.stop"; wait $prober
[ "$(cat min)" -ge 3 ] || fail "only $(cat min) of 4 instances were ready at some point"
after=$(for i in 0 1 2 3; do inst_field api $i pid; done)
for p in $before; do echo "$after" | grep -qx "$p" && fail "pid $p was not replaced"; done
wait_for 5 all_online api 4 || fail "not all online after reload"

# A broken release: the first replacement never listens; the reload stops there.
keep=$(for i in 1 2 3; do inst_field api $i pid; done)
touch "$W/broken"
if tend reload api > out.txt 2>&1; then fail "reload of a broken release succeeded"; fi
grep -qi "ready" out.txt || fail "the reload error does not say readiness failed: $(cat out.txt)"
for i in 1 2 3; do
  curl -fsS "http://127.0.0.1:$((31100 + i))/" >/dev/null || fail "instance $i stopped serving"
done
now=$(for i in 1 2 3; do inst_field api $i pid; done)
[ "$keep" = "$now" ] || fail "instances 1-3 were touched by the aborted reload"
tend events api --json | grep -q '"reload"' || fail "no reload event"
