#!/usr/bin/env python3
"""tests/e2e/watch/health_app.py: an app whose health a test can break, one process at a time.

Listens on 127.0.0.1:$PORT. GET /health answers 200 "ok", or 500 "sick" while the file
$SICK_DIR/sick.<its own pid> exists: a test makes exactly one instance unhealthy, and the
process that replaces it (a new pid) is healthy again. Exits 0 on SIGTERM.
"""
import os, signal, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

port = int(os.environ["PORT"])
sick = os.path.join(os.environ["SICK_DIR"], "sick.%d" % os.getpid())


class H(BaseHTTPRequestHandler):
    def do_GET(self):
        bad = os.path.exists(sick)
        body = b"sick\n" if bad else b"ok\n"
        self.send_response(500 if bad else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
srv = HTTPServer(("127.0.0.1", port), H)
print(f"listening on {port}", flush=True)
srv.serve_forever()
