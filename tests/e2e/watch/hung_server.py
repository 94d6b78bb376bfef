#!/usr/bin/env python3
"""tests/e2e/watch/hung_server.py PORTFILE: a peer that hangs.

Listens on 127.0.0.1 on a port the kernel chooses (written to PORTFILE once listening), accepts
every connection and never answers nor closes it: a probe of it can only time out. Exits after
120 s at the latest, so a forgotten one does not linger.
"""
import os, socket, sys, time

s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(64)
tmp = sys.argv[1] + ".tmp"
with open(tmp, "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(tmp, sys.argv[1])
held = []
s.settimeout(1)
deadline = time.time() + 120
while time.time() < deadline:
    try:
        c, _ = s.accept()
        held.append(c)  # read nothing, answer nothing
    except socket.timeout:
        pass
