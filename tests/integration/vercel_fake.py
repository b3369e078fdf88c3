#!/usr/bin/python3
"""A loopback fake of the Vercel REST API's project environment variables
(spec/backends-http-ha.md §4), stdlib http.server in a thread of the test
process: the test changes its data directly and reads .requests.

What it answers, as §4 says Vercel does:
  GET /v10/projects/{idOrName}/env  (and /v9/ ...)  200
      {"envs":[env...],"pagination":{"count":N,"next":null,"prev":null}}
      (oneOf (2) of FilterProjectEnvsResponseBody); with page_size set,
      pages of that many envs, "next" an opaque number (an offset here;
      Vercel's is a ms timestamp) that ?until= asks for
  GET /v1/projects/{idOrName}/env/{id}  200: the env object; encrypted:
      with its clear "value" and "decrypted": true; sensitive/secret:
      no "value", "decrypted": false (GetProjectEnvResponseBody1)
  env objects: key, type (plain|encrypted|sensitive|secret|system), value
      (plain: clear; encrypted: base64 "ciphertext", decrypted false;
      sensitive: "" ), target (a list, or a single string with
      target_as_string), id, createdAt/updatedAt (ms epoch), createdBy,
      updatedBy null, configurationId null, comment, securityIssues [] (not
      in §4's list, but @vercel/sdk 1.28.35 requires it), gitBranch (if set)
  auth: Authorization: Bearer <token>, else 403
      {"error":{"code":"forbidden","message":"Not authorized",
      "invalidToken":true}} (unauthorized_401: 401 {"code":"unauthorized"})
  team scope: a project of a team answers only with ?teamId=<id> or
      ?slug=<slug>; without or with another: 403 forbidden
  .bodies: every 200 body answered, as (op, text), op "list" or "get", for
      check_with_sdk()
  unknown project: 404 {"error":{"code":"not_found","message":"Project not
      found"}}; unknown env id: 404 not_found
  v10 = False: /v10/ answers 404 not_found (an older API: the v9 fallback)
  throttle(n, ...): the next n requests answer 429 rate_limited, the body's
      error.limit {remaining 0, reset (epoch s), resetMs, total}, headers
      X-RateLimit-Limit/-Remaining/-Reset and/or Retry-After as asked;
      every 200 carries X-RateLimit-Limit/-Remaining/-Reset
      (remaining_zero: a 200 says Remaining 0 until reset_in)

Limits: plain HTTP only (no TLS); no write endpoints (POST/PATCH/DELETE:
405 method_unknown); the query's gitBranch/decrypt/source/
customEnvironment* are ignored; one rate limit for all endpoints (Vercel
counts per endpoint); whether Vercel pages the list, how a sensitive value
looks in it ("" here) and the body of a 404 for an unknown API version are
UNCONFIRMED (§4) and guessed as above.

Checked against Vercel's published schemas: check_with_sdk() feeds every
200 body to tests/vercel-sdk/check.mjs, which parses it with @vercel/sdk
1.28.35's zod parsers (filterProjectEnvsResponseBodyFromJSON,
getProjectEnvResponseBodyFromJSON; `npm ci` in tests/vercel-sdk first).
Error bodies are not checked that way (the SDK's error classes parse
only the status and message).
"""
import base64
import http.server
import json
import os
import shutil
import socket
import socketserver
import subprocess
import threading
import time
import urllib.parse


class Env:
    def __init__(self, eid, key, value, type_, target, branch=None):
        self.id = eid
        self.key = key
        self.value = value
        self.type = type_
        self.target = list(target)
        self.branch = branch
        self.created = self.updated = _now_ms()

    def listed(self, as_string=False):
        o = {"id": self.id, "key": self.key, "type": self.type,
             "target": self.target[0] if as_string and len(self.target) == 1
             else list(self.target),
             "configurationId": None, "comment": "",
             "createdAt": self.created, "updatedAt": self.updated,
             "createdBy": "user_fake", "updatedBy": None, "decrypted": False,
             "securityIssues": []}
        if self.type == "plain":
            o["value"] = self.value
        elif self.type == "encrypted":
            o["value"] = base64.b64encode(b"ct:" + self.value.encode(
                "utf-8", "surrogatepass")).decode()
        else:
            o["value"] = ""
        if self.branch is not None:
            o["gitBranch"] = self.branch
        return o

    def decrypted(self):
        o = self.listed()
        if self.type in ("plain", "encrypted"):
            o["value"] = self.value
            o["decrypted"] = True
        else:
            del o["value"]
        return o


_clock_lock = threading.Lock()
_last_ms = [0]


def _now_ms():
    # strictly increasing: every change moves updatedAt
    with _clock_lock:
        _last_ms[0] = max(_last_ms[0] + 1, int(time.time() * 1000))
        return _last_ms[0]


class VercelFake:
    """.port, .url, .requests (dicts: t, method, path, query, status),
    .projects {id: {"team": (id, slug) or None, "envs": [Env]}}."""

    def __init__(self, token="vcp_fake_token_0123456789", port=0):
        self.token = token
        self.lock = threading.RLock()
        self.projects = {}
        self.requests = []
        self.bodies = []
        self.v10 = True
        self.unauthorized_401 = False
        self.target_as_string = False
        self.page_size = 0
        self.remaining_zero = False
        self.limit_total = 100
        self._throttle = None
        self._ids = 0
        self._port = port
        self.server = None
        self.conns = set()
        self.down = False

    # --- server
    def start(self):
        fake = self

        class H(Handler):
            pass
        H.fake = fake
        self.server = _Server(("127.0.0.1", self._port), H)
        self._port = self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.down = False
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    def stop(self):
        """Down as a killed server is: the listener closed and every open
        (kept-alive) connection cut."""
        self.down = True
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        with self.lock:
            conns, self.conns = self.conns, set()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def restart(self):
        self.stop()
        self.start()

    # --- data
    def project(self, pid, team=None):
        with self.lock:
            self.projects.setdefault(pid, {"team": team, "envs": []})

    def find(self, pid, key, target=None):
        for e in self.projects[pid]["envs"]:
            if e.key == key and (target is None or target in e.target):
                return e
        return None

    def set(self, pid, key, value, type_="plain", target=("production",), branch=None):
        """Create or change (by key and first target) a variable; moves
        its updatedAt."""
        with self.lock:
            e = self.find(pid, key, target[0])
            if e is None:
                self._ids += 1
                e = Env("env_%06d" % self._ids, key, value, type_, target, branch)
                self.projects[pid]["envs"].append(e)
            else:
                e.value, e.type, e.target = value, type_, list(target)
                e.updated = _now_ms()
            return e

    def touch(self, pid, key):
        with self.lock:
            self.find(pid, key).updated = _now_ms()

    def retarget(self, pid, key, target):
        with self.lock:
            e = self.find(pid, key)
            e.target = list(target)
            e.updated = _now_ms()

    def delete(self, pid, key):
        with self.lock:
            e = self.find(pid, key)
            self.projects[pid]["envs"].remove(e)

    def throttle(self, n, retry_after=None, reset_in=None, headers=True, body=True):
        """The next n requests answer 429; reset_in: seconds to the reset
        (X-RateLimit-Reset, body limit.reset); retry_after: a Retry-After
        header (seconds)."""
        with self.lock:
            self._throttle = {"n": n, "retry_after": retry_after,
                              "reset": None if reset_in is None else time.time() + reset_in,
                              "headers": headers, "body": body}

    # --- what it saw
    def seen(self, pred=lambda r: True):
        with self.lock:
            return [r for r in self.requests if pred(r)]

    def lists(self):
        return self.seen(lambda r: r["path"].endswith("/env") and r["status"] == 200)

    def decrypts(self):
        return self.seen(lambda r: r["path"].startswith("/v1/") and r["status"] == 200)


SDK_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vercel-sdk")


def sdk_available():
    return shutil.which("node") is not None and os.path.isdir(
        os.path.join(SDK_DIR, "node_modules", "@vercel", "sdk"))


def check_with_sdk(bodies):
    """(op, text) pairs -> the lines check.mjs printed that are not "ok"."""
    inp = "".join(json.dumps({"op": op, "body": b}) + "\n" for op, b in bodies)
    p = subprocess.run(["node", os.path.join(SDK_DIR, "check.mjs")], input=inp.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60,
                       cwd=SDK_DIR)
    out = p.stdout.decode("utf-8", "replace").splitlines()
    bad = [l for l in out if l != "ok"]
    if p.returncode != 0 and not bad:
        bad = ["check.mjs exited %d" % p.returncode]
    if len([l for l in out if l == "ok"]) + len([l for l in out if l.startswith("error ")]) \
            < len(bodies) and not bad:
        bad = ["check.mjs answered %d of %d" % (len(out), len(bodies))]
    return bad


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake = None

    def log_message(self, fmt, *args):
        pass

    def setup(self):
        super().setup()
        with self.fake.lock:
            self.fake.conns.add(self.connection)

    def finish(self):
        with self.fake.lock:
            self.fake.conns.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def reply(self, code, obj, extra=()):
        body = json.dumps(obj).encode()
        if code == 200:
            with self.fake.lock:
                self.fake.bodies.append(("get" if self.rec["path"].startswith("/v1/")
                                         else "list", body.decode()))
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        # headers and body in one write: a second small write would wait
        # for the client's delayed ACK (Nagle), 40 ms a request
        self._headers_buffer.append(b"\r\n" + body)
        self.flush_headers()
        with self.fake.lock:
            self.rec["status"] = code

    def error(self, code, ecode, msg, extra=(), **more):
        e = {"code": ecode, "message": msg}
        e.update(more)
        self.reply(code, {"error": e}, extra)

    def do_GET(self):
        f = self.fake
        if f.down:
            # stopping: no answer, the connection cut
            self.close_connection = True
            return
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        self.rec = {"t": time.time(), "method": "GET", "path": u.path, "query": q,
                    "status": None}
        with f.lock:
            f.requests.append(self.rec)
        if self.headers.get("Authorization") != "Bearer " + f.token:
            if f.unauthorized_401:
                return self.error(401, "unauthorized", "Not authenticated")
            return self.error(403, "forbidden", "Not authorized", invalidToken=True)
        now = time.time()
        with f.lock:
            th = f._throttle
            if th is not None and th["n"] > 0:
                th["n"] -= 1
            else:
                th = None
        if th is not None:
            reset = int(th["reset"] if th["reset"] is not None else now + 60)
            hdr = []
            if th["headers"] and th["reset"] is not None:
                hdr += [("X-RateLimit-Limit", str(f.limit_total)),
                        ("X-RateLimit-Remaining", "0"),
                        ("X-RateLimit-Reset", str(reset))]
            if th["retry_after"] is not None:
                hdr.append(("Retry-After", str(th["retry_after"])))
            more = {}
            if th["body"] and th["reset"] is not None:
                more["limit"] = {"remaining": 0, "reset": reset, "resetMs": reset * 1000,
                                 "total": f.limit_total}
            return self.error(429, "rate_limited", "Rate limit exceeded", hdr, **more)
        parts = u.path.strip("/").split("/")
        # v{9,10}/projects/{id}/env  or  v1/projects/{id}/env/{envId}
        if len(parts) < 4 or parts[1] != "projects" or parts[3] != "env":
            return self.error(404, "not_found", "The requested API endpoint was not found.")
        ver, pid = parts[0], parts[2]
        if (len(parts) == 4 and ver not in ("v9", "v10")) or \
           (len(parts) == 5 and ver != "v1") or len(parts) > 5 or \
           (ver == "v10" and not f.v10):
            return self.error(404, "not_found", "The requested API endpoint was not found.")
        with f.lock:
            p = f.projects.get(pid)
            if p is None:
                return self.error(404, "not_found", "Project not found")
            if p["team"] is not None and q.get("teamId") != p["team"][0] and \
               q.get("slug") != p["team"][1]:
                return self.error(403, "forbidden",
                                  "You don't have permission to access this project")
            rl = [("X-RateLimit-Limit", str(f.limit_total)),
                  ("X-RateLimit-Remaining", "0" if f.remaining_zero else
                   str(f.limit_total - 1)),
                  ("X-RateLimit-Reset", str(int(now + (f.remaining_zero or 60))))]
            if len(parts) == 5:
                e = next((e for e in p["envs"] if e.id == parts[4]), None)
                if e is None:
                    return self.error(404, "not_found",
                                      "Could not find the environment variable: " + parts[4])
                return self.reply(200, e.decrypted(), rl)
            envs = [e.listed(f.target_as_string) for e in p["envs"]]
        nxt = None
        if f.page_size:
            # newest first, as Vercel lists; "next" = updatedAt of the last
            # one shown; ?until=T: the ones strictly older (here: after)
            start = int(q["until"]) if "until" in q else 0
            envs = envs[start:start + f.page_size]
            if start + f.page_size < len(p["envs"]):
                nxt = start + f.page_size
        return self.reply(200, {"envs": envs, "pagination": {
            "count": len(envs), "next": nxt, "prev": None}}, rl)

    def _no(self):
        self.rec = {"t": time.time(), "method": self.command, "path": self.path,
                    "query": {}, "status": None}
        self.error(405, "method_unknown", "This endpoint only responds to GET")

    do_POST = do_PATCH = do_DELETE = do_PUT = _no
