#!/usr/bin/env python3
"""tests/faults/api_client.py: API clients that misbehave, for tests/faults/api_clients_misbehave.sh.

A door is "unix:PATH" (the socket) or "tcp:PORT" (127.0.0.1; the token from --token is sent).

    idle DOOR... --n N --ready FILE --out FILE [--slowloris] [--max S]
        N connections per door that send nothing (and, with --slowloris, one more per door that
        sends a request's headers one byte per second and never ends them). Writes FILE --ready
        once all are connected, then waits (at most S s, default 90) until the daemon has closed
        every one, and writes a JSON summary to --out:
        {"idle": {"n", "closed", "first_s", "last_s", "got_bytes"}, "slowloris": {...}}
        (seconds since each connection was opened; got_bytes: bytes the daemon sent them).
    big-headers DOOR --size BYTES
        one request whose headers total BYTES; prints "STATUS CLOSED_S" (CLOSED_S: how long after
        the answer the daemon closed the connection, -1 if it did not within 10 s).
    big-body DOOR --size BYTES --mode length|chunked
        a POST /v1/up with a BYTES body, announced by Content-Length or sent chunked (64 KiB
        chunks); prints "STATUS CLOSED_S".
    stall-follow DOOR --app APP --ready FILE --out FILE [--max S]
        GET /v1/logs?app=APP&follow=1, reads the first bytes, writes --ready, then stops reading
        while the daemon keeps streaming: on TCP until the daemon closes its end (at most S s,
        default 20), on the unix socket S/4 s; then drains and writes to --out "closed BYTES" if
        the daemon had cut the stream (EOF or reset), "open BYTES" if not.
    kill-at PID:BYTES:FILE... [--max S]
        SIGKILLs each PID as soon as its FILE holds BYTES (polling every 10 ms, at most S s,
        default 30; then kills the rest); prints "RUNNING LEFT": how many were still running
        (not exited, not a zombie) when killed, and how many never reached BYTES."""
import argparse
import json
import os
import select
import socket
import threading
import time

TOKEN = ""


def connect(door, rcvbuf=0):
    kind, where = door.split(":", 1)
    s = socket.socket(socket.AF_UNIX if kind == "unix" else socket.AF_INET)
    if rcvbuf:  # before connect, so TCP's window stays small too
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect(where if kind == "unix" else ("127.0.0.1", int(where)))
    return s


def head(door, method, path, extra=""):
    auth = "Authorization: Bearer %s\r\n" % TOKEN if door.startswith("tcp:") else ""
    return ("%s %s HTTP/1.1\r\nHost: tend\r\n%s%s" % (method, path, auth, extra)).encode()


def wait_closed(s, deadline):
    """Read until EOF or reset; returns (closed, bytes read)."""
    got = 0
    while time.time() < deadline:
        r, _, _ = select.select([s], [], [], max(0, min(1, deadline - time.time())))
        if not r:
            continue
        try:
            b = s.recv(65536)
        except OSError:
            return True, got
        if not b:
            return True, got
        got += len(b)
    return False, got


def idle(args):
    conns = []  # [kind, socket, opened_at, closed_at, bytes]
    for door in args.doors:
        for _ in range(args.n):
            conns.append(["idle", connect(door), time.time(), None, 0, door])
        if args.slowloris:
            conns.append(["slowloris", connect(door), time.time(), None, 0, door])
    with open(args.ready + ".tmp", "w") as f:
        f.write("%d\n" % len(conns))
    os.rename(args.ready + ".tmp", args.ready)
    trickle = {id(c): head(c[5], "GET", "/v1/status") + b"X-Slow: " + b"a" * 1000
               for c in conns if c[0] == "slowloris"}
    sent = 0
    deadline = time.time() + args.max
    next_byte = time.time()
    while time.time() < deadline and any(c[3] is None for c in conns):
        if time.time() >= next_byte:  # one byte a second to each slowloris still open
            for c in conns:
                if c[0] == "slowloris" and c[3] is None and sent < len(trickle[id(c)]):
                    try:
                        c[1].send(trickle[id(c)][sent:sent + 1])
                    except OSError:
                        c[3] = time.time()
            sent += 1
            next_byte += 1
        open_socks = [c[1] for c in conns if c[3] is None]
        r, _, _ = select.select(open_socks, [], [], 0.2)
        for c in conns:
            if c[1] in r and c[3] is None:
                try:
                    b = c[1].recv(65536)
                except OSError:
                    b = b""
                if b:
                    c[4] += len(b)
                else:
                    c[3] = time.time()
    out = {}
    for kind in ("idle", "slowloris"):
        cs = [c for c in conns if c[0] == kind]
        done = [c[3] - c[2] for c in cs if c[3] is not None]
        out[kind] = {"n": len(cs), "closed": len(done),
                     "first_s": round(min(done), 2) if done else None,
                     "last_s": round(max(done), 2) if done else None,
                     "got_bytes": sum(c[4] for c in cs)}
    with open(args.out, "w") as f:
        json.dump(out, f)


def answer_then_close(s, send_rest):
    """Run send_rest in a thread (it may fail once the daemon stops reading), read the answer's
    status, then wait for the close. Returns (status, closed_after_s)."""
    t = threading.Thread(target=send_rest, daemon=True)
    t.start()
    s.settimeout(20)
    data = b""
    try:
        while b"\r\n" not in data:
            b = s.recv(65536)
            if not b:
                break
            data += b
    except OSError:
        pass
    status = data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/1.1 ") else "none"
    at = time.time()
    closed, _ = wait_closed(s, at + 10)
    return status, round(time.time() - at, 2) if closed else -1


def sender(s, chunks):
    def run():
        try:
            for c in chunks:
                s.sendall(c)
        except OSError:
            pass
    return run


def big_headers(args):
    s = connect(args.doors[0])
    line = b"X-Big: " + b"a" * 8000 + b"\r\n"
    chunks = [head(args.doors[0], "GET", "/v1/status")]
    chunks += [line] * (args.size // len(line)) + [b"\r\n"]
    print("%s %s" % answer_then_close(s, sender(s, chunks)))


def big_body(args):
    s = connect(args.doors[0])
    piece = b"x" * 65536
    if args.mode == "length":
        chunks = [head(args.doors[0], "POST", "/v1/up",
                       "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % args.size)]
        chunks += [piece] * (args.size // len(piece))
    else:
        chunks = [head(args.doors[0], "POST", "/v1/up",
                       "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")]
        chunks += [b"%x\r\n" % len(piece) + piece + b"\r\n"] * (args.size // len(piece))
        chunks += [b"0\r\n\r\n"]
    print("%s %s" % answer_then_close(s, sender(s, chunks)))


def server_end_held(s):
    """Whether the daemon still holds its end of TCP connection s (an open fd on it)."""
    me = "%08X:%04X" % (0x0100007F, s.getsockname()[1])
    peer = "%08X:%04X" % (0x0100007F, s.getpeername()[1])
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            col = line.split()
            if col[1] == peer and col[2] == me:
                return col[9] != "0"
    return False


def stall_follow(args):
    s = connect(args.doors[0], rcvbuf=16384)
    s.sendall(head(args.doors[0], "GET", "/v1/logs?app=%s&follow=1&lines=0" % args.app) + b"\r\n")
    s.settimeout(20)
    first = s.recv(65536)
    with open(args.ready, "w") as f:
        f.write("%d\n" % len(first))
    # Read nothing: the daemon skips lines for us, then cuts us once we took nothing for 10 s
    # (routes.c FOLLOW_STALL_MS). Over TCP, wait (at most --max s) for the daemon to let go of
    # its end: an orphaned socket has inode 0 in /proc/net/tcp. On the unix socket reading would
    # be progress, so stay still for 0.6 x --max s (past the 10 s) before looking.
    if args.doors[0].startswith("tcp:"):
        deadline = time.time() + args.max
        while time.time() < deadline and server_end_held(s):
            time.sleep(0.2)
    else:
        time.sleep(args.max * 0.6)
    closed, got = wait_closed(s, time.time() + 10)
    with open(args.out, "w") as f:
        f.write("%s %d\n" % ("closed" if closed else "open", got + len(first)))


def running(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def kill_at(args):
    import signal
    left = {int(d.split(":", 2)[0]): (int(d.split(":", 2)[1]), d.split(":", 2)[2])
            for d in args.doors}
    alive = 0
    deadline = time.time() + args.max
    while left and time.time() < deadline:
        for pid, (want, path) in list(left.items()):
            try:
                size = os.path.getsize(path)
            except OSError:
                size = 0
            if size >= want:
                alive += running(pid)
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
                del left[pid]
        time.sleep(0.01)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    print("%d %d" % (alive, len(left)))


def main():
    global TOKEN
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["idle", "big-headers", "big-body", "stall-follow", "kill-at"])
    ap.add_argument("doors", nargs="+")
    ap.add_argument("--token", default="")
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--size", type=int, default=1 << 20)
    ap.add_argument("--mode", default="length")
    ap.add_argument("--app", default="")
    ap.add_argument("--ready", default="")
    ap.add_argument("--out", default="")
    ap.add_argument("--max", type=float, default=0)
    ap.add_argument("--slowloris", action="store_true")
    args = ap.parse_args()
    TOKEN = args.token
    if args.cmd == "idle":
        args.max = args.max or 90
        idle(args)
    elif args.cmd == "big-headers":
        big_headers(args)
    elif args.cmd == "big-body":
        big_body(args)
    elif args.cmd == "kill-at":
        args.max = args.max or 30
        kill_at(args)
    else:
        args.max = args.max or 20
        stall_follow(args)


if __name__ == "__main__":
    main()
