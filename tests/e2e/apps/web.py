#!/usr/bin/env python3
"""tests/e2e/apps/web.py: the web app end-to-end tests supervise.

Listens on 127.0.0.1:$PORT; GET /health answers 200 once ready; GET / answers JSON with the
instance, pid and selected env. Knobs (env): READY_DELAY seconds before listening; BROKEN_IF a
path: when that file exists at start, the app never listens (a release that fails readiness).
Logs one line per request to stdout; exits 0 on SIGTERM.
"""
import json, os, signal, sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer

port = int(os.environ["PORT"])
broken = os.environ.get("BROKEN_IF")
if broken and os.path.exists(broken):
    print("broken release: not listening", flush=True)
    while True:
        time.sleep(1)
time.sleep(float(os.environ.get("READY_DELAY", "0")))


class H(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({
            "instance": os.environ.get("TEND_INSTANCE"),
            "node_app_instance": os.environ.get("NODE_APP_INSTANCE"),
            "port": port, "pid": os.getpid(),
            "version": os.environ.get("VERSION", ""),
        }).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        print("request " + (fmt % args), flush=True)


signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
srv = HTTPServer(("127.0.0.1", port), H)
print(f"listening on {port}", flush=True)
srv.serve_forever()
