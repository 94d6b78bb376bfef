#!/usr/bin/env python3
"""examples/demo/app.py: a tiny web app for tend's quick start.

Each instance listens on $PORT (tend gives instance i PORT = port + i), answers / with a
greeting that names its instance and /health with a JSON health answer, and logs every request
to stdout (tend stamps and stores each line). It stops cleanly on SIGTERM.
"""
import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(os.environ.get("PORT", "4100"))
INSTANCE = os.environ.get("TEND_INSTANCE", "0")
GREETING = os.environ.get("GREETING", "hello")


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health":
            body = {"success": True, "instance": int(INSTANCE), "port": PORT}
        else:
            body = {"message": f"{GREETING} from instance {INSTANCE}", "port": PORT}
        data = (json.dumps(body) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        print(f"{self.address_string()} {fmt % args}", flush=True)


def main():
    server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    signal.signal(signal.SIGTERM, lambda *_: (print("stopping", flush=True), sys.exit(0)))
    print(f"instance {INSTANCE} listening on 127.0.0.1:{PORT}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
