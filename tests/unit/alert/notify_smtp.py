#!/usr/bin/env python3
"""tests/unit/alert/notify_smtp.py: a tiny SMTP receiver for test_notify.c, on 127.0.0.1.

    notify_smtp.py --log FILE --port-file FILE [--cert PEM --key PEM]

Speaks enough ESMTP for libcurl: EHLO/HELO, STARTTLS (offered only with --cert/--key), AUTH
PLAIN and LOGIN (any password is accepted; the user name is recorded), MAIL, RCPT, DATA, RSET,
NOOP, QUIT. Each accepted message is one JSON line in --log: {"from", "to", "data", "tls",
"user"}. Python 3.11's smtpd is deprecated (gone in 3.12), hence asyncio. Stopped by SIGTERM."""
import argparse
import asyncio
import base64
import json
import os
import ssl


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    args = ap.parse_args()
    ctx = None
    if args.cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.cert, args.key)

    async def session(reader, writer):
        state = {"tls": False, "user": None, "from": None, "to": []}

        async def send(line):
            writer.write((line + "\r\n").encode())
            await writer.drain()

        async def readline():
            line = await reader.readline()
            if not line:
                raise ConnectionError("closed")
            return line.decode("utf-8", "replace").rstrip("\r\n")

        await send("220 tend-test ESMTP")
        try:
            while True:
                line = await readline()
                verb = line.split(" ", 1)[0].upper()
                arg = line[len(verb):].strip()
                if verb == "EHLO":
                    caps = ["tend-test", "8BITMIME", "SIZE 10000000", "AUTH PLAIN LOGIN"]
                    if ctx and not state["tls"]:
                        caps.append("STARTTLS")
                    for c in caps[:-1]:
                        await send("250-" + c)
                    await send("250 " + caps[-1])
                elif verb == "HELO":
                    await send("250 tend-test")
                elif verb == "STARTTLS" and ctx and not state["tls"]:
                    await send("220 ready to start TLS")
                    await writer.start_tls(ctx)
                    state["tls"] = True
                elif verb == "AUTH":
                    parts = arg.split()
                    mech = parts[0].upper() if parts else ""
                    if mech == "PLAIN":
                        data = parts[1] if len(parts) > 1 else None
                        if data is None:
                            await send("334 ")
                            data = await readline()
                        fields = base64.b64decode(data).split(b"\0")
                        state["user"] = fields[1].decode() if len(fields) > 1 else ""
                    elif mech == "LOGIN":
                        if len(parts) > 1:
                            user = parts[1]
                        else:
                            await send("334 VXNlcm5hbWU6")
                            user = await readline()
                        await send("334 UGFzc3dvcmQ6")
                        await readline()
                        state["user"] = base64.b64decode(user).decode()
                    else:
                        await send("504 unsupported mechanism")
                        continue
                    await send("235 authenticated")
                elif verb == "MAIL":
                    state["from"] = arg.split(":", 1)[1].strip().split()[0].strip("<>")
                    state["to"] = []
                    await send("250 ok")
                elif verb == "RCPT":
                    state["to"].append(arg.split(":", 1)[1].strip().strip("<>"))
                    await send("250 ok")
                elif verb == "DATA":
                    await send("354 end with <CRLF>.<CRLF>")
                    lines = []
                    while True:
                        raw = await reader.readline()
                        if not raw:
                            raise ConnectionError("closed in DATA")
                        if raw in (b".\r\n", b".\n"):
                            break
                        if raw.startswith(b".."):
                            raw = raw[1:]
                        lines.append(raw)
                    rec = {"from": state["from"], "to": state["to"], "tls": state["tls"],
                           "user": state["user"],
                           "data": b"".join(lines).decode("utf-8", "replace")}
                    with open(args.log, "a", encoding="utf-8") as f:
                        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
                    await send("250 queued")
                elif verb in ("RSET", "NOOP"):
                    await send("250 ok")
                elif verb == "QUIT":
                    await send("221 bye")
                    break
                else:
                    await send("502 not implemented")
        except (ConnectionError, ssl.SSLError):
            pass
        writer.close()

    async def run():
        srv = await asyncio.start_server(session, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(port))
        os.rename(tmp, args.port_file)
        async with srv:
            await srv.serve_forever()

    asyncio.run(run())


if __name__ == "__main__":
    main()
