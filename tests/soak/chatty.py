#!/usr/bin/env python3
"""tests/soak/chatty.py: writes numbered lines to stdout as fast as the pipe takes them.

Each line is `c SEQ xxxx...` (60 x's), SEQ counting from 1, so a checker can find lost,
duplicated, reordered or torn lines. CHATTY_RATE (lines/s, default 0 = no limit) caps the
average rate: lines go out in batches of 1000, each batch flat out. The last SEQ written is
kept in $CHATTY_PROGRESS (once a second, and on SIGTERM, before exiting 0).
"""
import os, signal, sys, time

rate = float(os.environ.get("CHATTY_RATE", "0"))
progress = os.environ.get("CHATTY_PROGRESS")
PAD = "x" * 60
BATCH = 1000
seq = 0


def save():
    if progress:
        tmp = progress + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{seq}\n")
        os.replace(tmp, progress)


def term(*_):
    save()
    os._exit(0)


signal.signal(signal.SIGTERM, term)
out = sys.stdout.buffer
t0 = time.monotonic()
last_save = t0
while True:
    batch = "".join(f"c {seq + i} {PAD}\n" for i in range(1, BATCH + 1)).encode()
    # block SIGTERM's handler from running mid-batch: seq must match what was written
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    out.write(batch)
    out.flush()
    seq += BATCH
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    now = time.monotonic()
    if now - last_save >= 1:
        save()
        last_save = now
    if rate > 0:
        ahead = seq / rate - (now - t0)
        if ahead > 0:
            time.sleep(ahead)
