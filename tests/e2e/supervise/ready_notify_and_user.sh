#!/usr/bin/env bash
# ready: notify waits for READY=1 on NOTIFY_SOCKET (sd_notify) before the instance is online;
# `user:` drops privileges to that user (uid, gid, supplementary groups) when tend runs as root.
# timeout: 60
. "$(dirname "$0")/../lib.sh"
cat > notify.py <<'EOF'
import os, socket, time
time.sleep(1.0)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
addr = os.environ["NOTIFY_SOCKET"]
if addr.startswith("@"): addr = "\0" + addr[1:]
s.sendto(b"READY=1", addr)
print("uid", os.getuid(), "gid", os.getgid(), "groups", os.getgroups(), flush=True)
time.sleep(1000)
EOF
chmod 755 "$W" "$T"; chmod 644 notify.py
user_line=""
[ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && user_line="    user: nobody"
cat > tend.yaml <<EOF
apps:
  - name: n
    argv: [python3, $W/notify.py]
    ready: {notify: true, timeout: 10s}
$user_line
EOF
tend up tend.yaml >/dev/null &
up=$!
sleep 0.4
[ "$(inst_field n 0 state)" = starting ] || fail "online before READY=1: $(inst_field n 0 state)"
wait $up || fail "up failed"
[ "$(inst_field n 0 state)" = online ] || fail "not online after READY=1"
if [ -n "$user_line" ]; then
  wait_for 5 grep -q "uid" "$TEND_HOME"/logs/n-out.log || fail "no output"
  grep -q "uid $(id -u nobody) gid $(id -g nobody) groups \[$(id -g nobody)\]" "$TEND_HOME"/logs/n-out.log \
    || fail "privileges not dropped: $(cat "$TEND_HOME"/logs/n-out.log)"
fi
