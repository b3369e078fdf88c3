#!/usr/bin/python3
"""A plain HTTP/1.1 server (stdlib http.server, optionally TLS via ssl) for
the workers' HTTP client tests (tests/unit/test_http.c).

usage: http_peer.py --port P --log FILE [--tls-cert F --tls-key F
           [--client-ca F]]

  --port 0       pick a free port
  --client-ca F  require client certificates signed by F (mTLS)
  --log FILE     one JSON line appended per event, flushed before the reply:
                 {"event":"connect","peer":"ip:port"} per accepted
                 connection (after the TLS handshake), and
                 {"event":"request","method","path","headers","body",
                  "client_cert"} per request

Paths (query strings are ignored unless noted):
  /hello          200 "hello, world\\n" with ETag, Retry-After and
                  X-RateLimit-Remaining headers
  /bytes?n=N      200 with N bytes of "x" and a Content-Length
  /chunked?n=N    200 with N bytes of "y", chunked (no Content-Length)
  /redirect       302 to /hello
  /status?code=C  C with a short body
  /echo           200 application/json: the request (method, path with
                  query, headers, body) as JSON
  /manyheaders?n=N 200 with N headers X-H-<i>: <i>
Any other path: 404.

Prints "READY <port>" on stdout when serving; stops on SIGTERM or SIGINT.
"""
import argparse
import http.server
import json
import signal
import socketserver
import ssl
import sys
import threading
import urllib.parse

log_lock = threading.Lock()
log_file = None


def log(obj):
    with log_lock:
        log_file.write(json.dumps(obj, sort_keys=True) + "\n")
        log_file.flush()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def setup(self):
        super().setup()
        log({"event": "connect", "peer": "%s:%d" % self.client_address[:2]})

    def reply(self, code, body, ctype="text/plain", extra=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n > 0 else b""
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        cert = None
        if isinstance(self.connection, ssl.SSLSocket):
            pc = self.connection.getpeercert()
            if pc:
                cert = dict(x[0] for x in pc.get("subject", ()))
        log({"event": "request", "method": self.command, "path": self.path,
             "headers": [[k, v] for k, v in self.headers.items()],
             "body": body.decode("latin-1"), "client_cert": cert})
        if u.path == "/hello":
            self.reply(200, b"hello, world\n", extra=(
                ("ETag", '"0123abcd"'), ("Retry-After", "7"),
                ("X-RateLimit-Remaining", "42")))
        elif u.path == "/bytes":
            self.reply(200, b"x" * int(q.get("n", "0")))
        elif u.path == "/chunked":
            left = int(q.get("n", "0"))
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            while left > 0:
                k = min(left, 1000)
                self.wfile.write(b"%x\r\n" % k + b"y" * k + b"\r\n")
                left -= k
            self.wfile.write(b"0\r\n\r\n")
        elif u.path == "/redirect":
            self.reply(302, b"moved\n", extra=(("Location", "/hello"),))
        elif u.path == "/status":
            code = int(q.get("code", "500"))
            self.reply(code, b"status %d\n" % code)
        elif u.path == "/echo":
            out = {"method": self.command, "path": self.path,
                   "headers": [[k, v] for k, v in self.headers.items()],
                   "body": body.decode("latin-1")}
            self.reply(200, json.dumps(out).encode(), "application/json")
        elif u.path == "/manyheaders":
            n = int(q.get("n", "0"))
            self.reply(200, b"many\n",
                       extra=[("X-H-%d" % i, str(i)) for i in range(n)])
        else:
            self.reply(404, b"not found\n")

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = handle_any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    ctx = None

    def get_request(self):
        sock, addr = self.socket.accept()
        if self.ctx is not None:
            sock = self.ctx.wrap_socket(sock, server_side=True,
                                        do_handshake_on_connect=False)
        return sock, addr

    def finish_request(self, request, client_address):
        if self.ctx is not None:
            try:
                request.do_handshake()
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        pass


def main():
    global log_file
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log", required=True)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--client-ca")
    a = ap.parse_args()
    log_file = open(a.log, "a")
    srv = Server(("127.0.0.1", a.port), Handler)
    if a.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        if a.client_ca:
            ctx.load_verify_locations(a.client_ca)
            ctx.verify_mode = ssl.CERT_REQUIRED
        srv.ctx = ctx

    def stop(signum, frame):
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sys.stdout.write("READY %d\n" % srv.server_address[1])
    sys.stdout.flush()
    srv.serve_forever(poll_interval=0.05)
    srv.server_close()


if __name__ == "__main__":
    main()
