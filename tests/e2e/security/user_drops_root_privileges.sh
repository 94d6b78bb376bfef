#!/usr/bin/env bash
# `user:` when the daemon is root: the instance runs with the user's uid and gid in all four
# slots of /proc/PID/status (real, effective, saved, filesystem), its groups are exactly the
# user's (primary and supplementary, from /etc/group) and root's group 0 is gone; the app cannot
# read the token or even list $TEND_HOME. Uses a user and groups created here and removed at exit.
# timeout: 60
. "$(dirname "$0")/../lib.sh"
[ "$(id -u)" = 0 ] || { note "skipped: the daemon must be root to drop privileges"; exit 0; }
# The user must be able to run python: not a pyenv build under root's 0700 home.
py=$(command -v /usr/bin/python3 /usr/local/bin/python3 | head -n 1)
[ -n "$py" ] || { note "skipped: no system python3"; exit 0; }
u=tsecu$$ g1=tsecp$$ g2=tsecg$$
on_exit "userdel $u; groupdel $g2; groupdel $g1" # in this order: g1 is the user's primary group
groupadd "$g1" && groupadd "$g2" || fail "groupadd"
useradd -M -N -s /usr/sbin/nologin -g "$g1" -G "$g2" "$u" || fail "useradd"
uid=$(id -u "$u") gid=$(getent group "$g1" | cut -d: -f3)
want_groups=$(id -G "$u" | tr ' ' '\n' | sort -n | tr '\n' ' ')
case " $want_groups" in *" $(getent group "$g2" | cut -d: -f3) "*) ;; *) fail "test user lacks $g2";; esac
chmod 755 "$T" "$W"
cat > probe.py <<EOF
import os, time
for what, f in (("token", lambda: open("$TEND_HOME/token").read()), ("home", lambda: os.listdir("$TEND_HOME"))):
    try:
        f(); print(what, "READABLE", flush=True)
    except OSError as e:
        print(what, "refused", e.strerror, flush=True)
time.sleep(1000)
EOF
chmod 644 probe.py
cat > tend.yaml <<EOF
apps:
  - name: dropped
    argv: [$py, $W/probe.py]
    user: $u
EOF
tend up tend.yaml >/dev/null || fail "tend up failed"
wait_for 10 all_online dropped 1 || fail "not online"
pid=$(inst_field dropped 0 pid)
st=/proc/$pid/status
[ "$(awk '/^Uid:/ {print $2, $3, $4, $5}' "$st")" = "$uid $uid $uid $uid" ] || fail "$(grep ^Uid: "$st")"
[ "$(awk '/^Gid:/ {print $2, $3, $4, $5}' "$st")" = "$gid $gid $gid $gid" ] || fail "$(grep ^Gid: "$st")"
got_groups=$(sed -n 's/^Groups:\s*//p' "$st" | tr ' ' '\n' | grep . | sort -n | tr '\n' ' ')
[ "$got_groups" = "$want_groups" ] || fail "groups are \"$got_groups\", want \"$want_groups\""
case " $got_groups" in *" 0 "*) fail "root's group 0 survived: $got_groups";; esac
[ "$(awk '/^CapEff:/ {print $2}' "$st")" = 0000000000000000 ] || fail "capabilities kept: $(grep ^Cap "$st")"
wait_for 15 grep -q "^.*home " "$TEND_HOME/logs/dropped-out.log" || fail "no output from the app"
grep -q "token refused Permission denied" "$TEND_HOME/logs/dropped-out.log" \
  || fail "the app could read the token: $(cat "$TEND_HOME/logs/dropped-out.log")"
grep -q "home refused Permission denied" "$TEND_HOME/logs/dropped-out.log" \
  || fail "the app could list \$TEND_HOME: $(cat "$TEND_HOME/logs/dropped-out.log")"
true
