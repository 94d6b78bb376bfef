#!/usr/bin/env python3
"""tests/unit/watch/peers.py: the real peers the probe tests talk to, on 127.0.0.1.

    peers.py http          an HTTP server (threads, so a hung request blocks nothing else)
    peers.py tcp MODE      a TCP listener: banner | silent | slow | reset | close

Each binds port 0 and prints "PORT=<n>" on its first line, then serves until killed (the test
stops it by pid). HTTP paths:
    /health            status and body set by /set?code=503&body=...  (default 200, JSON below)
    /json              {"database": "connected", "success": true, "pool": {"size": 10}}
    /status/<code>     that status, empty body
    /sleep/<ms>        200 after sleeping that long
    /hang              never answers (sleeps an hour)
TCP modes:
    banner   sends "220 tend-test ready\\r\\n" at once, then reads and closes
    silent   accepts and never sends anything, never closes
    slow     sends "220 slow banner\\r\\n" one byte every 50 ms
    reset    accepts and resets the connection (SO_LINGER 0, close)
    close    accepts and closes at once without a byte
"""
import http.server
import json
import socket
import socketserver
import struct
import sys
import threading
import time
import urllib.parse

JSON_DOC = {"database": "connected", "success": True, "pool": {"size": 10}, "list": [1, "two"]}


class Handler(http.server.BaseHTTPRequestHandler):
    state = {"code": 200, "body": json.dumps(JSON_DOC)}

    def log_message(self, *args):
        pass

    def reply(self, code, body=b"", ctype="application/json"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(url.query)
        parts = url.path.strip("/").split("/")
        if parts[0] == "set":
            Handler.state["code"] = int(q.get("code", ["200"])[0])
            Handler.state["body"] = q.get("body", [json.dumps(JSON_DOC)])[0]
            self.reply(200, b"set")
        elif parts[0] == "health":
            self.reply(Handler.state["code"], Handler.state["body"].encode())
        elif parts[0] == "json":
            self.reply(200, json.dumps(JSON_DOC).encode())
        elif parts[0] == "status":
            self.reply(int(parts[1]))
        elif parts[0] == "sleep":
            time.sleep(int(parts[1]) / 1000)
            self.reply(200, b'{"slept": true}')
        elif parts[0] == "hang":
            time.sleep(3600)
        elif parts[0] == "header":
            got = self.headers.get("Authorization", "")
            self.reply(200 if got == "Bearer sesame" else 401, got.encode())
        else:
            self.reply(404, b"not found")

    do_HEAD = do_GET

    def do_POST(self):
        self.reply(201 if self.path == "/post" else 405, b"{}")


class ThreadedHTTP(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def serve_http():
    srv = ThreadedHTTP(("127.0.0.1", 0), Handler)
    print("PORT=%d" % srv.server_address[1], flush=True)
    srv.serve_forever()


def tcp_client(conn, mode):
    try:
        tcp_mode(conn, mode)
    except OSError:
        pass  # the probe hung up first (a timeout, or it had what it expected)


def tcp_mode(conn, mode):
    if mode == "banner":
        conn.sendall(b"220 tend-test ready\r\n")
        conn.settimeout(5)
        try:
            conn.recv(100)
        except OSError:
            pass
        conn.close()
    elif mode == "silent":
        time.sleep(3600)
    elif mode == "slow":
        for b in b"220 slow banner\r\n":
            conn.sendall(bytes([b]))
            time.sleep(0.05)
        time.sleep(5)
        conn.close()
    elif mode == "reset":
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
    elif mode == "close":
        conn.close()


def serve_tcp(mode):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    print("PORT=%d" % s.getsockname()[1], flush=True)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=tcp_client, args=(conn, mode), daemon=True).start()


if __name__ == "__main__":
    if sys.argv[1] == "http":
        serve_http()
    else:
        serve_tcp(sys.argv[2])
