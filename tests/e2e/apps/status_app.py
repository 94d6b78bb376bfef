#!/usr/bin/env python3
"""tests/e2e/apps/status_app.py: an app that answers with the status and delay the request asks.

Listens on 127.0.0.1:$PORT (threads, so a slow answer does not hold up the others). Every GET
answers with the status in the query (`?status=500`, default 200) after sleeping `delay_ms`
(`?delay_ms=300`, default 0, at most 10 s), body {"status", "delay_ms", "port"}. /health is 200.
Quiet (no log line per request: access-log tests send hundreds); exits 0 on SIGTERM.
"""
import json, os, signal, sys, time, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port = int(os.environ["PORT"])


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        status = int(q.get("status", ["200"])[0])
        delay = min(int(q.get("delay_ms", ["0"])[0]), 10000)
        if delay:
            time.sleep(delay / 1000.0)
        body = json.dumps({"status": status, "delay_ms": delay, "port": port}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
ThreadingHTTPServer.daemon_threads = True
srv = ThreadingHTTPServer(("127.0.0.1", port), H)
print(f"listening on {port}", flush=True)
srv.serve_forever()
