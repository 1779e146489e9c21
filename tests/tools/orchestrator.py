#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A test orchestrator over HTTPS: serves bundles, receives reports, logs every request, injects faults.

Standard library only (http.server + ssl). Listens on HOST (default 127.0.0.1) port 0 and writes
the port it got to PORT_FILE once it accepts connections.

usage: orchestrator.py --cert PEM --key PEM --bundles DIR --reports DIR --log FILE
                       --port-file FILE [--faults FILE] [--host ADDR]

Routes
  GET/HEAD /bundles/NAME   the file DIR/NAME (no "..", no hidden names); Range "bytes=S-" or
                           "bytes=S-E" answered 206 with Content-Range, a start at or past the
                           end 416 with "Content-Range: bytes */SIZE"
  POST|PUT /reports/ANY    the body (Content-Length required, at most 64 MiB) saved to
                           REPORTS/NNNN.body (NNNN counts from 0001 over the server's life);
                           POST answers 201, PUT 200, each with {"saved": "NNNN.body"}
  anything else            404 (or 405 for another method)

Log: one JSON object a line, appended and flushed once the response ended:
  {"time": epoch seconds (float, when the request arrived), "method", "path" (without the
   query), "query": true|false (whether there was one; its text is never recorded), "range",
   "idempotency_key", "content_type", "content_length" (request headers, or null), "status"
   (answered), "sent" (body bytes written), "received" (body bytes read), "saved" (file name
   or null), "fault" (the fault applied, or null)}

Faults: FAULTS is a JSON file re-read on every request (missing or empty: none), so a test can
change them while the server runs. When its text changes, the counters below start again.
  {"bundles": {
      "fail": [503, 503],     answer these statuses to the first requests, in order
      "retry_after": 2,       a Retry-After header (seconds) on those failures
      "cut_after": N,         the first cut_times (default 1) responses send N body bytes (with
      "cut_times": 1,           the true Content-Length) and then close the connection
      "lie_length": N|"omit", Content-Length N (a lie: the whole file is sent and the
                              connection closed), or no Content-Length at all
      "no_range": true,       Range ignored: always 200 and the whole file
      "rate": BYTES,          at most BYTES body bytes a second
      "stall_after": N,       the first response sends N body bytes, then nothing for
      "stall_for": S            S seconds (at most 60), then closes the connection
      "redirect_to": URL      every request answered 302 with Location: URL
   },
   "reports": {
      "fail": [503, 503, 503], these statuses to the first deliveries, then 201/200
      "retry_after": 1,       a Retry-After header on those failures
      "always": 503,          every delivery refused with this status
      "down_for": S           503 for S seconds after the faults file was written
   }}
Nothing is deduplicated: the log's idempotency_key lets a test count accepted reports per key.
"""
import argparse
import json
import os
import re
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHUNK = 256 * 1024
MAX_REPORT = 64 << 20


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.faults_text = None
        self.faults = {}
        self.faults_mtime = 0.0
        self.counters = {}
        self.saved = 0

    def load_faults(self):
        """The faults now in force; counters start again when the file's text changed."""
        text = ""
        mtime = 0.0
        if self.args.faults:
            try:
                with open(self.args.faults, encoding="utf-8") as f:
                    text = f.read()
                mtime = os.stat(self.args.faults).st_mtime
            except FileNotFoundError:
                text = ""
        with self.lock:
            if text != self.faults_text:
                self.faults_text = text
                self.faults = json.loads(text) if text.strip() else {}
                self.faults_mtime = mtime or time.time()
                self.counters = {}
            return self.faults, self.faults_mtime

    def take(self, key):
        """Returns how many times key was taken before, and counts this one."""
        with self.lock:
            n = self.counters.get(key, 0)
            self.counters[key] = n + 1
            return n

    def next_saved(self):
        with self.lock:
            self.saved += 1
            return "%04d.body" % self.saved

    def log(self, rec):
        line = json.dumps(rec, sort_keys=True) + "\n"
        with self.lock:
            with open(self.args.log, "a", encoding="utf-8") as f:
                f.write(line)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pib-test-orchestrator"
    sys_version = ""

    def log_message(self, format, *args):  # quiet: the JSON log says it all
        pass

    # ---------------------------------------------------------------- plumbing
    def begin(self):
        path, _, query = self.path.partition("?")
        self.rec = {
            "time": time.time(), "method": self.command, "path": path, "query": bool(query),
            "range": self.headers.get("Range"),
            "idempotency_key": self.headers.get("Idempotency-Key"),
            "content_type": self.headers.get("Content-Type"),
            "content_length": self.headers.get("Content-Length"),
            "status": None, "sent": 0, "received": 0, "saved": None, "fault": None,
        }
        return path

    def answer(self, status, body=b"", headers=()):
        self.rec["status"] = status
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)
            self.rec["sent"] += len(body)

    def drop(self):
        """Closes the connection at once, without a TLS close_notify."""
        self.close_connection = True
        try:
            self.wfile.flush()
        except OSError:
            pass
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ConnectionError, ssl.SSLError, socket.timeout, OSError):
            self.close_connection = True  # the client left, or was cut: dispatch logged it

    def dispatch(self):
        self.rec = None
        path = self.begin()
        try:
            if path.startswith("/bundles/") and self.command in ("GET", "HEAD"):
                self.bundle(path[len("/bundles/"):])
            elif path.startswith("/reports/") and self.command in ("POST", "PUT"):
                self.report()
            elif path.startswith(("/bundles/", "/reports/")):
                self.answer(405, b"method not allowed\n")
            else:
                self.answer(404, b"not found\n")
        finally:
            rec, self.rec = self.rec, None
            if rec:
                self.server.state.log(rec)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = dispatch

    # ---------------------------------------------------------------- bundles
    def bundle(self, name):
        st = self.server.state
        faults, _ = st.load_faults()
        f = faults.get("bundles", {})
        if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9._-]*", name) or ".." in name:
            return self.answer(404, b"not found\n")
        fpath = os.path.join(st.args.bundles, name)
        if not os.path.isfile(fpath):
            return self.answer(404, b"not found\n")
        fail = f.get("fail", [])
        n = st.take("bundles.fail")
        if n < len(fail):
            self.rec["fault"] = "fail"
            hdrs = [("Retry-After", str(f["retry_after"]))] if "retry_after" in f else []
            return self.answer(int(fail[n]), b"injected failure\n", hdrs)
        if "redirect_to" in f:
            self.rec["fault"] = "redirect_to"
            return self.answer(302, b"moved\n", [("Location", str(f["redirect_to"]))])

        size = os.path.getsize(fpath)
        start, end, status = 0, size - 1, 200
        rng = self.headers.get("Range")
        if rng and not f.get("no_range"):
            m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng.strip())
            if not m:
                return self.answer(416, b"", [("Content-Range", "bytes */%d" % size)])
            start = int(m.group(1))
            if m.group(2):
                end = min(int(m.group(2)), size - 1)
            if start >= size or start > end:
                return self.answer(416, b"", [("Content-Range", "bytes */%d" % size)])
            status = 206
        length = end - start + 1 if size else 0

        limit = None  # body bytes to send before cutting
        stall = None
        if "cut_after" in f and st.take("bundles.cut") < int(f.get("cut_times", 1)):
            limit = int(f["cut_after"])
            self.rec["fault"] = "cut_after"
        if "stall_after" in f and st.take("bundles.stall") < 1:
            limit, stall = int(f["stall_after"]), min(float(f.get("stall_for", 5)), 60.0)
            self.rec["fault"] = "stall"
        lie = f.get("lie_length")

        self.rec["status"] = status
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
        if lie == "omit":
            self.rec["fault"] = "lie_length"
            self.send_header("Connection", "close")
            self.close_connection = True
        elif lie is not None:
            self.rec["fault"] = "lie_length"
            self.send_header("Content-Length", str(int(lie)))
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(length))
        self.end_headers()
        if self.command == "HEAD":
            return
        rate = float(f.get("rate", 0))
        t0 = time.monotonic()
        with open(fpath, "rb") as fh:
            fh.seek(start)
            left = length
            while left > 0:
                k = min(CHUNK, left)
                if limit is not None:
                    k = min(k, limit - self.rec["sent"])
                    if k <= 0:
                        break
                buf = fh.read(k)
                if not buf:
                    break
                self.wfile.write(buf)
                self.rec["sent"] += len(buf)
                left -= len(buf)
                if rate > 0:
                    ahead = self.rec["sent"] / rate - (time.monotonic() - t0)
                    if ahead > 0:
                        time.sleep(min(ahead, 5.0))
        if limit is not None and left > 0:
            if stall:
                self.wfile.flush()
                time.sleep(stall)
            self.drop()
        elif lie is not None:
            self.drop()

    # ---------------------------------------------------------------- reports
    def report(self):
        st = self.server.state
        faults, mtime = st.load_faults()
        f = faults.get("reports", {})
        cl = self.headers.get("Content-Length")
        if cl is None or not cl.isdigit() or int(cl) > MAX_REPORT:
            self.close_connection = True
            return self.answer(411 if cl is None else 413, b"length required\n")
        body = self.rfile.read(int(cl))
        self.rec["received"] = len(body)
        hdrs = [("Retry-After", str(f["retry_after"]))] if "retry_after" in f else []
        if "always" in f:
            self.rec["fault"] = "always"
            return self.answer(int(f["always"]), b"refused\n", hdrs)
        if "down_for" in f and time.time() < mtime + float(f["down_for"]):
            self.rec["fault"] = "down_for"
            return self.answer(503, b"down\n", hdrs)
        fail = f.get("fail", [])
        n = st.take("reports.fail")
        if n < len(fail):
            self.rec["fault"] = "fail"
            return self.answer(int(fail[n]), b"injected failure\n", hdrs)
        name = st.next_saved()
        with open(os.path.join(st.args.reports, name), "wb") as out:
            out.write(body)
        self.rec["saved"] = name
        reply = json.dumps({"saved": name}).encode() + b"\n"
        return self.answer(201 if self.command == "POST" else 200, reply,
                           [("Content-Type", "application/json")])


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, state, ctx):
        family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        self.address_family = family
        super().__init__(addr, Handler)
        self.state = state
        self.ctx = ctx

    def get_request(self):
        sock, addr = self.socket.accept()
        sock.settimeout(120)
        # the handshake happens in the handler's thread, on the first read
        return self.ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--bundles", required=True)
    p.add_argument("--reports", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--faults")
    p.add_argument("--host", default="127.0.0.1")
    args = p.parse_args()
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        sys.exit("orchestrator.py: loopback addresses only")

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    os.makedirs(args.reports, exist_ok=True)
    srv = Server((args.host, 0), State(args), ctx)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, args.port_file)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
