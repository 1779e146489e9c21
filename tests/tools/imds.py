#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""An IMDSv2 stand-in for the tests: plain HTTP on 127.0.0.1, session tokens required.

Python 3 standard library only. Serves:
  PUT /latest/api/token            a token; needs X-aws-ec2-metadata-token-ttl-seconds (1..21600,
                                   else 400); a PUT carrying X-Forwarded-For gets 403
  GET /latest/user-data            --user-data FILE (404 when not given)
  GET /latest/dynamic/instance-identity/document|signature|rsa2048|pkcs7
                                   --document, --signature, --rsa2048, --pkcs7 FILE (404 when not given)
  GET /latest/meta-data/instance-id  i-0123456789abcdef0 (or the document's instanceId)
Every GET needs a valid X-aws-ec2-metadata-token (else 401, as with HttpTokens=required): no
IMDSv1. Other methods get 405, other paths 404.

Arguments:
  --port-file FILE    required: the chosen port (listening on 127.0.0.1, port 0) is written
                      there once the server accepts connections (written atomically)
  --port N            listen on port N instead of a free one
  --log FILE          one JSON line per request: {"method", "path", "token": "none" | "valid" |
                      "invalid" | "expired" | "used-up", "xff": bool, "ttl": the TTL header or
                      null, "status"}; the token itself is never written
  --token-ttl N       tokens expire N seconds after they were issued (default: the TTL asked for)
  --token-uses N      a token is good for N GETs, then 401 (default: unlimited)
  --drop-first N      the first N requests get no answer (the connection is closed)
  --token-status N    answer every token PUT with HTTP N and no token (e.g. 403, 404)
  --user-data-status N  answer GET /latest/user-data with HTTP N (e.g. 500)
The server stops on SIGTERM or SIGINT. Run it in the background and wait for the port file.
"""
import argparse
import json
import os
import secrets
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aws-ec2-metadata-token"


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.tokens = {}  # token -> [expires_at, uses_left or None]
        self.dropped = 0
        self.files = {
            "/latest/user-data": args.user_data,
            "/latest/dynamic/instance-identity/document": args.document,
            "/latest/dynamic/instance-identity/signature": args.signature,
            "/latest/dynamic/instance-identity/rsa2048": args.rsa2048,
            "/latest/dynamic/instance-identity/pkcs7": args.pkcs7,
        }

    def log(self, entry):
        if not self.args.log:
            return
        with self.lock, open(self.args.log, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry, sort_keys=True) + "\n")

    def check(self, token):
        """'none', 'valid', 'invalid', 'expired' or 'used-up'; a valid use is counted."""
        if token is None:
            return "none"
        with self.lock:
            t = self.tokens.get(token)
            if t is None:
                return "invalid"
            if time.monotonic() >= t[0]:
                return "expired"
            if t[1] is not None:
                if t[1] <= 0:
                    return "used-up"
                t[1] -= 1
            return "valid"

    def issue(self, ttl):
        token = secrets.token_urlsafe(42)
        life = self.args.token_ttl if self.args.token_ttl is not None else ttl
        with self.lock:
            self.tokens[token] = [time.monotonic() + life, self.args.token_uses]
        return token


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "imds-stand-in"

    def log_message(self, fmt, *args):  # quiet: the JSON log is the record
        pass

    def answer(self, status, body=b"", entry=None):
        if entry is not None:
            entry["status"] = status
            self.server.state.log(entry)
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def drop(self, entry):
        st = self.server.state
        with st.lock:
            if st.dropped < st.args.drop_first:
                st.dropped += 1
                entry["status"] = "dropped"
                drop = True
            else:
                drop = False
        if drop:
            st.log(entry)
            self.close_connection = True
            try:
                self.connection.shutdown(2)
            except OSError:
                pass
        return drop

    def entry(self):
        return {"method": self.command, "path": self.path, "token": "none",
                "xff": self.headers.get("X-Forwarded-For") is not None,
                "ttl": self.headers.get(TTL_HEADER)}

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(min(n, 1 << 20))

    def do_PUT(self):
        st, e = self.server.state, self.entry()
        self.body()
        if self.drop(e):
            return
        if self.path != "/latest/api/token":
            return self.answer(405, b"", e)
        if e["xff"]:
            return self.answer(403, b"", e)
        if st.args.token_status:
            return self.answer(st.args.token_status, b"", e)
        try:
            ttl = int(e["ttl"] or "")
        except ValueError:
            ttl = 0
        if not 1 <= ttl <= 21600:
            return self.answer(400, b"", e)
        return self.answer(200, st.issue(ttl).encode(), e)

    def do_GET(self):
        st, e = self.server.state, self.entry()
        if self.drop(e):
            return
        e["token"] = st.check(self.headers.get(TOKEN_HEADER))
        if e["token"] != "valid":
            return self.answer(401, b"", e)
        if self.path == "/latest/user-data" and st.args.user_data_status:
            return self.answer(st.args.user_data_status, b"", e)
        if self.path == "/latest/meta-data/instance-id":
            iid = "i-0123456789abcdef0"
            if st.args.document:
                try:
                    with open(st.args.document, encoding="utf-8") as f:
                        iid = json.load(f).get("instanceId", iid)
                except (OSError, ValueError):
                    pass
            return self.answer(200, iid.encode(), e)
        path = st.files.get(self.path)
        if not path:
            return self.answer(404, b"", e)
        with open(path, "rb") as f:
            return self.answer(200, f.read(), e)

    def do_POST(self):
        e = self.entry()
        self.body()
        self.answer(405, b"", e)

    do_DELETE = do_POST
    do_PATCH = do_POST


def main():
    p = argparse.ArgumentParser(description="IMDSv2 stand-in (see the header comment)")
    p.add_argument("--port-file", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--log")
    p.add_argument("--user-data")
    p.add_argument("--document")
    p.add_argument("--signature")
    p.add_argument("--rsa2048")
    p.add_argument("--pkcs7")
    p.add_argument("--token-ttl", type=float)
    p.add_argument("--token-uses", type=int)
    p.add_argument("--drop-first", type=int, default=0)
    p.add_argument("--token-status", type=int, default=0)
    p.add_argument("--user-data-status", type=int, default=0)
    args = p.parse_args()

    httpd = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    httpd.daemon_threads = True
    httpd.state = State(args)

    def stop(signum, frame):
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("%d\n" % httpd.server_address[1])
    os.replace(tmp, args.port_file)
    httpd.serve_forever()
    httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
