#!/usr/bin/env python3
"""tests/soak/sample.py BIN HOME RUN OUT STOPFILE INTERVAL: every INTERVAL seconds, one JSON line
in OUT about the tend daemon of HOME: its pid, RSS (kB), open fds, CPU ticks (utime+stime of
/proc/PID/stat), processes in its tree (descendants), processes of this run (those whose
environment has SOAK_RUN=RUN: daemon, keeper, apps, their children; tend CLI calls left out),
zombies among them, the wall time of `tend status --json` and what it said, and how many
processes have each PORT of interest in their environment. Stops when STOPFILE exists."""
import json, os, subprocess, sys, time

BIN, HOME, RUN, OUT, STOP, IVL = sys.argv[1:7]
IVL = float(IVL)
TAG = f"SOAK_RUN={RUN}".encode()
ENV = dict(os.environ, TEND_HOME=HOME, SOAK_RUN=RUN, NO_COLOR="1")
TICK = os.sysconf("SC_CLK_TCK")


def procs():
    """pid -> (ppid, state, environ-has-tag, PORT, argv)"""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as f:
                st = f.read()
            with open(f"/proc/{d}/environ", "rb") as f:
                env = f.read().split(b"\0")
            with open(f"/proc/{d}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        rest = st[st.rindex(b")") + 2:].split()
        port = next((e[5:].decode() for e in env if e.startswith(b"PORT=")), None)
        out[int(d)] = (int(rest[1]), rest[0].decode(), TAG in env, port, argv)
    return out


def daemon():
    try:
        pid = int(open(os.path.join(HOME, "tend.pid")).read().split()[0])
        with open(f"/proc/{pid}/stat", "rb") as f:
            st = f.read()
        rest = st[st.rindex(b")") + 2:].split()
        cpu = int(rest[11]) + int(rest[12])
        rss = next(int(l.split()[1]) for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS:"))
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        return pid, rss, fds, cpu
    except (OSError, ValueError, StopIteration):
        return None, None, None, None


t0 = time.time()
with open(OUT, "a") as out:
    while not os.path.exists(STOP):
        t = time.time()
        s = {"t": round(t, 3)}
        s["pid"], s["rss_kb"], s["fds"], s["cpu_ticks"] = daemon()
        s["tick"] = TICK
        a = time.monotonic()
        try:
            p = subprocess.run([BIN, "status", "--json"], env=ENV, capture_output=True,
                               timeout=60)
            s["status_ms"] = round((time.monotonic() - a) * 1000, 2)
            s["status_rc"] = p.returncode
            apps = json.loads(p.stdout)["apps"] if p.returncode == 0 else []
            s["apps"] = {x["name"]: [[i["instance"], i["pid"], i["state"], i["restarts"],
                                      i.get("log_dropped_bytes", 0)] for i in x["instances"]]
                         for x in apps}
        except (subprocess.TimeoutExpired, ValueError, KeyError) as e:
            s["status_ms"] = round((time.monotonic() - a) * 1000, 2)
            s["status_rc"] = -1
            s["status_err"] = repr(e)[:200]
        ps = procs()
        kids = {}
        for pid, (ppid, *_r) in ps.items():
            kids.setdefault(ppid, []).append(pid)
        tree, todo = 0, list(kids.get(s["pid"], [])) if s["pid"] else []
        while todo:
            q = todo.pop()
            tree += 1
            todo.extend(kids.get(q, []))
        ours = [pid for pid, v in ps.items() if v[2] and not (
            v[4][0].endswith(b"/tend") and v[4][1:2] not in ([b"daemon"], [b"__keeper"]))]
        s["tree"] = tree
        s["ours"] = len(ours)
        s["zombies"] = [pid for pid in ours if ps[pid][1] == "Z"]
        ports = {}
        for pid in ours:
            if ps[pid][3] and ps[pid][1] != "Z" and b"python3" in ps[pid][4][0]:
                ports[ps[pid][3]] = ports.get(ps[pid][3], 0) + 1
        s["ports"] = ports
        out.write(json.dumps(s) + "\n")
        out.flush()
        time.sleep(max(0.0, IVL - (time.time() - t)))
