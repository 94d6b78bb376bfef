#!/usr/bin/env python3
"""tests/soak/hook.py PORT FILE: a webhook receiver on 127.0.0.1:PORT that answers 200 to every
POST and appends each body (one JSON document per line) to FILE."""
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

port, path = int(sys.argv[1]), sys.argv[2]


class H(BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace").replace("\n", " ")
        with open(path, "a") as f:
            f.write(body + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


HTTPServer(("127.0.0.1", port), H).serve_forever()
