#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A small HTTP proxy for the tests (standard library only): CONNECT tunnels for https, and plain
http requests forwarded, each logged, so that a test can see which requests went through a proxy.

usage: connect-proxy.py --port-file FILE --log FILE

Listens on 127.0.0.1 port 0 and writes the port to FILE once it accepts connections. Each
request is logged as one JSON line {"method", "target"} (for CONNECT, host:port; for a plain
request, the absolute URL) before it is served. Only 127.0.0.1 and ::1 are reached. Stops on
SIGTERM or SIGINT.
"""
import argparse
import json
import os
import select
import signal
import socket
import socketserver
import sys
import threading
import urllib.parse

LOG_LOCK = threading.Lock()


def log(args, method, target):
    with LOG_LOCK, open(args.log, "a") as f:
        f.write(json.dumps({"method": method, "target": target}) + "\n")


def pipe(a, b):
    """Copies bytes both ways until one side closes (at most 10 minutes idle)."""
    socks = [a, b]
    while True:
        r, _, _ = select.select(socks, [], [], 600)
        if not r:
            return
        for s in r:
            data = s.recv(65536)
            if not data:
                return
            (b if s is a else a).sendall(data)


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        line = self.rfile.readline(8192).decode("latin-1").strip()
        headers = []
        while True:
            h = self.rfile.readline(8192)
            if h in (b"\r\n", b"\n", b""):
                break
            headers.append(h)
        parts = line.split()
        if len(parts) != 3:
            return
        method, target, _ = parts
        log(self.server.args, method, target)
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            host = host.strip("[]")
        else:
            u = urllib.parse.urlsplit(target)
            host, port = u.hostname or "", u.port or 80
        if host not in ("127.0.0.1", "::1", "localhost"):
            self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        up = socket.create_connection((host, int(port)), timeout=30)
        if method == "CONNECT":
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            u = urllib.parse.urlsplit(target)
            path = (u.path or "/") + ("?" + u.query if u.query else "")
            up.sendall(("%s %s HTTP/1.1\r\n" % (method, path)).encode("latin-1") + b"".join(headers) + b"\r\n")
        self.wfile.flush()
        pipe(self.connection, up)
        up.close()


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    args = ap.parse_args()
    srv = Server(("127.0.0.1", 0), Handler)
    srv.args = args
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.replace(tmp, args.port_file)
    try:
        srv.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass


if __name__ == "__main__":
    main()
