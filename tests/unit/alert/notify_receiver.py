#!/usr/bin/env python3
"""tests/unit/alert/notify_receiver.py: a webhook receiver for test_notify.c, on 127.0.0.1.

    notify_receiver.py --log FILE --port-file FILE [--port N]

Listens on N (0: the kernel picks), writes the port to --port-file once listening, and appends
one JSON line per request to --log: {"path", "query", "headers", "body", "status"} (body parsed
as JSON when it is JSON, else text). What it answers depends on the path:

    /fail/N/...   HTTP 500 for the first N requests to that exact path, then as below
    /hang...      reads the request and never answers (until the test stops the receiver)
    /errcode...   200 {"errcode": 310000, "errmsg": "sign not match"}   (DingTalk/WeCom refusal)
    /badcode...   200 {"code": 19021, "msg": "sign match fail"}          (Feishu refusal)
    anything else 200 {"errcode": 0, "errmsg": "ok", "code": 0, "msg": "success"}

Stopped by the test with SIGTERM to its pid."""
import argparse
import json
import os
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
FAILS = {}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def record(self, body, status):
            u = urllib.parse.urlsplit(self.path)
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = body.decode("utf-8", "replace")
            line = json.dumps({"path": u.path, "query": u.query,
                               "headers": {k.lower(): v for k, v in self.headers.items()},
                               "body": parsed, "status": status}, ensure_ascii=False)
            with LOCK, open(args.log, "a", encoding="utf-8") as f:
                f.write(line + "\n")

        def answer(self, status, obj):
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n)
            path = urllib.parse.urlsplit(self.path).path
            if path.startswith("/hang"):
                self.record(body, 0)
                time.sleep(120)
                return
            if path.startswith("/fail/"):
                limit = int(path.split("/")[2])
                with LOCK:
                    seen = FAILS.get(path, 0)
                    FAILS[path] = seen + 1
                if seen < limit:
                    self.record(body, 500)
                    self.answer(500, {"error": "down for a test"})
                    return
            if path.startswith("/errcode"):
                self.record(body, 200)
                self.answer(200, {"errcode": 310000, "errmsg": "sign not match"})
                return
            if path.startswith("/badcode"):
                self.record(body, 200)
                self.answer(200, {"code": 19021, "msg": "sign match fail"})
                return
            self.record(body, 200)
            self.answer(200, {"errcode": 0, "errmsg": "ok", "code": 0, "msg": "success"})

    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.allow_reuse_address = True
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
