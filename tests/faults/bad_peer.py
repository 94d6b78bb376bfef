#!/usr/bin/env python3
"""tests/faults/bad_peer.py: peers that misbehave, for probes and notifiers, on 127.0.0.1.

    bad_peer.py --ready FILE [--hung PORT] [--slow PORT] [--reset PORT] [--ok PORT]

    hung   accepts, reads, never answers and never closes
    slow   accepts, reads the request, then answers one byte per second, forever (an HTTP status
           line, then a header that never ends): no deadline short of the client's is met
    reset  accepts, reads the first bytes (or waits 0.3 s), then closes with SO_LINGER 0: the
           client gets a TCP reset
    ok     a healthy HTTP server: 200 "ok" to every request, then closes

Writes FILE (atomically) once every port listens. One thread per connection; the process exits
by itself after 300 s, so a forgotten one does not linger. Stopped by the test by pid."""
import argparse
import os
import select
import socket
import struct
import threading
import time

HELD = []  # hung connections, kept referenced so they are never closed


def read_some(c, wait):
    r, _, _ = select.select([c], [], [], wait)
    if r:
        try:
            return c.recv(65536)
        except OSError:
            return b""
    return b""


def hung(c):
    HELD.append(c)
    while True:  # read and drop what comes until the client leaves; never close our end
        r, _, _ = select.select([c], [], [], 5)
        if r and not read_some(c, 0):
            return


def slow(c):
    read_some(c, 1)
    data = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"z" * 100000
    try:
        for i in range(len(data)):
            c.send(data[i:i + 1])
            time.sleep(1)
    except OSError:
        pass
    c.close()


def reset(c):
    read_some(c, 0.3)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()


def ok(c):
    req = b""
    deadline = time.time() + 5
    while b"\r\n\r\n" not in req and time.time() < deadline:
        b = read_some(c, 1)
        if not b:
            break
        req += b
    try:
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
                  b"Connection: close\r\n\r\nok")
    except OSError:
        pass
    c.close()


def serve(s, handler):
    while True:
        c, _ = s.accept()
        threading.Thread(target=handler, args=(c,), daemon=True).start()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ready", required=True)
    for mode in ("hung", "slow", "reset", "ok"):
        ap.add_argument("--" + mode, type=int)
    args = ap.parse_args()
    for mode, handler in (("hung", hung), ("slow", slow), ("reset", reset), ("ok", ok)):
        port = getattr(args, mode)
        if port is None:
            continue
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(128)
        threading.Thread(target=serve, args=(s, handler), daemon=True).start()
    with open(args.ready + ".tmp", "w") as f:
        f.write("ready\n")
    os.rename(args.ready + ".tmp", args.ready)
    time.sleep(300)


if __name__ == "__main__":
    main()
