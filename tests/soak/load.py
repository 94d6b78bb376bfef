#!/usr/bin/env python3
"""tests/soak/load.py RATE PORT... : GET / on the ports in turn, at most RATE requests a second,
one at a time, on loopback, until SIGTERM; then prints `ok N failed M` and the failures' reasons
(at most 20) to stdout."""
import http.client, signal, sys, time

rate = float(sys.argv[1])
ports = [int(p) for p in sys.argv[2:]]
ok = failed = 0
reasons = []
running = True


def stop(*_):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
i = 0
while running:
    t = time.monotonic()
    port = ports[i % len(ports)]
    i += 1
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", "/")
        r = c.getresponse()
        r.read()
        c.close()
        if r.status == 200:
            ok += 1
        else:
            failed += 1
            reasons.append(f"{time.time():.0f} port {port}: HTTP {r.status}")
    except Exception as e:  # noqa: BLE001 - any failure is a failed request
        failed += 1
        reasons.append(f"{time.time():.0f} port {port}: {e!r}")
    d = 1 / rate - (time.monotonic() - t)
    if d > 0 and running:
        time.sleep(d)
print(f"ok {ok} failed {failed}")
for r in reasons[:20]:
    print(r)
