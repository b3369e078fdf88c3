"""A loopback fake kube-apiserver (Python stdlib, in the test's process) for
the configmap kind's tests: no real kube-apiserver runs here
(../shared/test-infra.md §7). It answers as spec/backends-http-ha.md §2.1
and §2.4 say the real one does:

  GET /api/v1/namespaces/{ns}/configmaps/{name}
      200 {"kind":"ConfigMap","apiVersion":"v1","metadata":{name, namespace,
      uid, resourceVersion (decimal, increasing on every change),
      creationTimestamp, labels, annotations, managedFields}, "data" (left
      out when empty), "binaryData" (base64; left out when empty)}
      404 Status NotFound, message 'configmaps "NAME" not found',
          details {name, kind: "configmaps"}
      403 Status Forbidden for a namespace in `forbidden`, message
          'configmaps "NAME" is forbidden: User "system:serviceaccount:..."
          cannot get resource "configmaps" in API group "" in the namespace
          "NS"'
  Bearer tokens: with `tokens` set (or `token_file`: only its current
  contents), a missing or other token is 401 Status Unauthorized,
  message "Unauthorized".
  throttle(n, retry_after): the next n requests (not watches) get 429 Status
  TooManyRequests with Retry-After and details.retryAfterSeconds.
  GET /api/v1/namespaces/{ns}: a Namespace when it is in `namespaces` or
  holds an object, else 404 NotFound (kubectl asks after a 404).
  /api, /api/v1 (configmaps only), /apis, /version: minimal discovery
  answers (enough for kubectl; no aggregated discovery). Any other path: 404
  Status NotFound (no details.kind).
  Every Status: {"kind":"Status","apiVersion":"v1","metadata":{},
  "status":"Failure","message","reason","details","code"}.

  GET /api/v1/namespaces/{ns}/configmaps?watch=1&fieldSelector=
      metadata.name%3DX[&resourceVersion=N][&allowWatchBookmarks=true]
      [&timeoutSeconds=T]: a chunked stream of newline-delimited events
      ADDED/MODIFIED/DELETED as the test changes X (resourceVersion
      decimal, increasing), BOOKMARK for other changes only with
      allowWatchBookmarks, from "now" an ADDED of the current object;
      below expire_before(rv) one ERROR event with a 410 Expired Status,
      then the end; closed after timeoutSeconds or drop_watches().

Not covered (limits): list, label selectors, field selectors other than
metadata.name on the watch, watches of single objects, Secrets and
Helm storage, protobuf, API groups other than core/v1, managedFields
content, RBAC beyond the namespace list, admission, resourceVersion
semantics beyond equality, HTTP/2. TLS is the ssl module's with the test
CA's server certificate (tests/integration/certs.sh); client certificates
are checked only when `client_ca` is given.
"""
import base64
import http.server
import json
import socket
import socketserver
import ssl
import threading
import time
import urllib.parse
import uuid


def status(code, reason, message, details=None):
    st = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
          "message": message, "reason": reason, "code": code}
    if details is not None:
        st["details"] = details
    return st


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    """Remembers its connections so that stop() is a server going away:
    keep-alive connections are closed too, not served on."""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.conns = set()
        self.conns_lock = threading.Lock()
        self.closing = False

    def process_request(self, request, client_address):
        with self.conns_lock:
            closing = self.closing
            if not closing:
                self.conns.add(request)
        if closing:
            # (outside the lock: shutdown_request takes it too)
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self.conns_lock:
            self.conns.discard(request)
        super().shutdown_request(request)

    def close_connections(self):
        with self.conns_lock:
            self.closing = True
            conns, self.conns = list(self.conns), set()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                c.close()
            except OSError:
                pass


class KubeFake:
    """objects: (ns, name) -> {"data", "binaryData" (raw bytes values),
    "labels", "annotations", "rv", "uid"}; requests: one dict per request
    (method, path, query, auth, code, t)."""

    def __init__(self, certdir=None, tokens=None, token_file=None, client_ca=None):
        self.certdir = certdir
        self.tokens = set(tokens or ())
        self.token_file = token_file
        self.client_ca = client_ca
        self.objects = {}
        self.forbidden = set()
        self.namespaces = {"default", "kube-system"}   # and those of any object
        self.requests = []
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.events = []        # (rv int, ns, name, type, object)
        self.rv_floor = 0       # a watch from below it: 410 Expired
        self.watches = []       # one dict per watch request served
        self.rv = 100
        self.throttle_n = 0
        self.retry_after = 1
        self.port = 0
        self.httpd = None

    # state
    def put(self, ns, name, data=None, binary=None, labels=None, annotations=None):
        with self.lock:
            self.rv += 1
            old = self.objects.get((ns, name))
            self.objects[(ns, name)] = {
                "data": dict(data or {}), "binaryData": dict(binary or {}),
                "labels": dict(labels or {}), "annotations": dict(annotations or {}),
                "rv": str(self.rv), "uid": old["uid"] if old else str(uuid.uuid4()),
                "created": old["created"] if old else time.strftime(
                    "%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            self._event("MODIFIED" if old else "ADDED", ns, name)

    def update(self, ns, name, set_=None, delete=(), binary=None):
        with self.lock:
            o = self.objects[(ns, name)]
            o["data"].update(set_ or {})
            for k in delete:
                o["data"].pop(k, None)
            o["binaryData"].update(binary or {})
            self.rv += 1
            o["rv"] = str(self.rv)
            self._event("MODIFIED", ns, name)

    def remove(self, ns, name):
        with self.lock:
            o = self.objects.get((ns, name))
            if o is not None:
                self.rv += 1
                o["rv"] = str(self.rv)
                self._event("DELETED", ns, name)
                del self.objects[(ns, name)]

    def _event(self, typ, ns, name):
        """under the lock"""
        self.events.append((int(self.objects[(ns, name)]["rv"]), ns, name, typ,
                            self._object(ns, name, self.objects[(ns, name)])))
        self.changed.notify_all()

    def expire_before(self, rv):
        """watches from a resourceVersion below rv get 410 Expired"""
        with self.lock:
            self.rv_floor = rv

    def current_rv(self):
        with self.lock:
            return self.rv

    def drop_watches(self):
        """ends every open watch stream (as an apiserver restart would)"""
        with self.lock:
            self.drop_gen = getattr(self, "drop_gen", 0) + 1
            self.changed.notify_all()

    def throttle(self, n, retry_after):
        with self.lock:
            self.throttle_n = n
            self.retry_after = retry_after

    def mark(self):
        with self.lock:
            return len(self.requests)

    def since(self, mark, watches=False):
        """requests from mark on; watch requests only with watches"""
        with self.lock:
            return [r for r in self.requests[mark:] if watches or not r.get("watch")]

    # serving
    def start(self):
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def do_GET(self):
                fake._handle(self)

        self.httpd = _Server(("127.0.0.1", self.port), Handler)
        self.port = self.httpd.server_address[1]
        if self.certdir:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain("%s/server.pem" % self.certdir, "%s/server.key" % self.certdir)
            if self.client_ca:
                ctx.verify_mode = ssl.CERT_REQUIRED
                ctx.load_verify_locations(self.client_ca)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        if self.httpd is not None:
            # refuse and drop first: shutdown() waits up to 0.5 s for the
            # accept loop, and keep-alive connections would be served on
            self.httpd.close_connections()
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd.close_connections()
            self.httpd = None

    def restart(self):
        self.stop()
        self.start()

    @property
    def url(self):
        return "%s://127.0.0.1:%d" % ("https" if self.certdir else "http", self.port)

    def _token_ok(self, auth):
        if not self.tokens and not self.token_file:
            return True
        if not auth.startswith("Bearer "):
            return False
        tok = auth[7:]
        if self.token_file:
            try:
                with open(self.token_file) as f:
                    return tok == f.read().strip()
            except OSError:
                return False
        return tok in self.tokens

    def _object(self, ns, name, o):
        md = {"name": name, "namespace": ns, "uid": o["uid"], "resourceVersion": o["rv"],
              "creationTimestamp": o["created"],
              "managedFields": [{"manager": "vartrack", "operation": "Update",
                                 "apiVersion": "v1", "fieldsType": "FieldsV1"}]}
        if o["labels"]:
            md["labels"] = o["labels"]
        if o["annotations"]:
            md["annotations"] = o["annotations"]
        body = {"kind": "ConfigMap", "apiVersion": "v1", "metadata": md}
        if o["data"]:
            body["data"] = o["data"]
        if o["binaryData"]:
            body["binaryData"] = {k: base64.b64encode(v).decode()
                                  for k, v in o["binaryData"].items()}
        return body

    def _route(self, h, path, query):
        """(code, body, headers)"""
        if not self._token_ok(h.headers.get("Authorization", "")):
            return 401, status(401, "Unauthorized", "Unauthorized"), {}
        with self.lock:
            if self.throttle_n > 0 and "watch" not in query:
                self.throttle_n -= 1
                ra = self.retry_after
                return 429, status(429, "TooManyRequests", "Too many requests, please try "
                                   "again later.", {"retryAfterSeconds": ra}), \
                    {"Retry-After": str(ra)}
        if path == "/version":
            return 200, {"major": "1", "minor": "29", "gitVersion": "v1.29.0-fake"}, {}
        if path == "/api":
            return 200, {"kind": "APIVersions", "versions": ["v1"],
                         "serverAddressByClientCIDRs": []}, {}
        if path == "/api/v1":     # kubectl maps "cm" to configmaps from this
            return 200, {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "v1",
                         "resources": [{"name": "configmaps", "singularName": "configmap",
                                        "namespaced": True, "kind": "ConfigMap",
                                        "verbs": ["get", "list", "watch"],
                                        "shortNames": ["cm"]}]}, {}
        if path == "/apis":
            return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": []}, {}
        parts = path.split("/")
        if len(parts) == 5 and parts[:4] == ["", "api", "v1", "namespaces"]:
            # kubectl asks after a 404 whether the namespace itself exists
            ns = parts[4]
            with self.lock:
                known = ns in self.namespaces or any(k[0] == ns for k in self.objects)
            if known:
                return 200, {"kind": "Namespace", "apiVersion": "v1",
                             "metadata": {"name": ns}, "spec": {"finalizers": ["kubernetes"]},
                             "status": {"phase": "Active"}}, {}
            return 404, status(404, "NotFound", 'namespaces "%s" not found' % ns,
                               {"name": ns, "kind": "namespaces"}), {}
        if (len(parts) == 7 and parts[:4] == ["", "api", "v1", "namespaces"]
                and parts[5] == "configmaps"):
            ns, name = parts[4], parts[6]
            if "watch" in query:
                return 400, status(400, "BadRequest", "watch is served on the collection"), {}
            if ns in self.forbidden:
                return 403, status(403, "Forbidden", (
                    'configmaps "%s" is forbidden: User "system:serviceaccount:%s:watcher" '
                    'cannot get resource "configmaps" in API group "" in the namespace "%s"'
                    % (name, ns, ns)), {"name": name, "kind": "configmaps"}), {}
            with self.lock:
                o = self.objects.get((ns, name))
                if o is not None:
                    return 200, self._object(ns, name, o), {}
            return 404, status(404, "NotFound", 'configmaps "%s" not found' % name,
                               {"name": name, "kind": "configmaps"}), {}
        if (len(parts) == 6 and parts[:4] == ["", "api", "v1", "namespaces"]
                and parts[5] == "configmaps" and query.get("watch") in (["1"], ["true"])):
            if parts[4] in self.forbidden:
                return 403, status(403, "Forbidden", (
                    'configmaps is forbidden: User "system:serviceaccount:%s:watcher" '
                    'cannot watch resource "configmaps" in API group "" in the namespace '
                    '"%s"' % (parts[4], parts[4])), {"kind": "configmaps"}), {}
            return "watch", None, {}
        return 404, status(404, "NotFound", "the server could not find the requested "
                           "resource"), {}

    def _watch(self, h, ns, query):
        """A chunked stream of newline-delimited events (§2.2/§2.4) for the
        objects named by fieldSelector=metadata.name=X after resourceVersion;
        BOOKMARK only with allowWatchBookmarks; ERROR 410 Expired below
        rv_floor; closed after timeoutSeconds, drop_watches() or stop()."""
        sel = query.get("fieldSelector", [""])[0]
        name = sel[len("metadata.name="):] if sel.startswith("metadata.name=") else None
        rv = query.get("resourceVersion", [""])[0]
        tmo = float(query.get("timeoutSeconds", ["1800"])[0])
        bookmarks = query.get("allowWatchBookmarks", [""])[0] == "true"
        rec = {"ns": ns, "name": name, "rv": rv, "timeout": tmo, "bookmarks": bookmarks,
               "t": time.monotonic(), "sent": []}
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        h.close_connection = True

        def send(ev):
            line = (json.dumps(ev) + "\n").encode()
            h.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
            h.wfile.flush()
            rec["sent"].append(ev["type"])
        end = time.monotonic() + tmo
        with self.lock:
            self.watches.append(rec)
            gen = getattr(self, "drop_gen", 0)
            if rv and int(rv) < self.rv_floor:
                ev = {"type": "ERROR", "object": status(
                    410, "Expired", "too old resource version: %s (%d)" % (rv, self.rv_floor))}
                pos = None
            else:
                ev = None
                if rv:
                    pos = len([e for e in self.events if e[0] <= int(rv)])
                else:       # from now: the current object as ADDED
                    pos = len(self.events)
                    o = self.objects.get((ns, name))
                    if o is not None:
                        ev = {"type": "ADDED", "object": self._object(ns, name, o)}
        try:
            if ev is not None:
                send(ev)
            while pos is not None:
                with self.lock:
                    while (pos >= len(self.events) and not h.server.closing
                           and getattr(self, "drop_gen", 0) == gen
                           and time.monotonic() < end):
                        self.changed.wait(min(0.2, max(0.0, end - time.monotonic())))
                    if (h.server.closing or getattr(self, "drop_gen", 0) != gen
                            or time.monotonic() >= end):
                        break
                    new, pos = self.events[pos:], len(self.events)
                for erv, ens, ename, typ, obj in new:
                    if ens == ns and (name is None or ename == name):
                        send({"type": typ, "object": obj})
                    elif bookmarks:
                        send({"type": "BOOKMARK", "object": {
                            "kind": "ConfigMap", "apiVersion": "v1",
                            "metadata": {"resourceVersion": str(erv)}}})
            h.wfile.write(b"0\r\n\r\n")
            h.wfile.flush()
        except OSError:
            pass

    def _handle(self, h):
        if h.server.closing:     # going away: no answer, the connection drops
            h.close_connection = True
            return
        u = urllib.parse.urlsplit(h.path)
        query = urllib.parse.parse_qs(u.query)
        code, body, headers = self._route(h, u.path, query)
        if code == "watch":
            with self.lock:
                self.requests.append({"method": h.command, "path": u.path, "query": u.query,
                                      "auth": h.headers.get("Authorization", ""),
                                      "accept": h.headers.get("Accept", ""),
                                      "code": 200, "t": time.monotonic(), "watch": True})
            self._watch(h, u.path.split("/")[4], query)
            return
        data = json.dumps(body).encode()
        with self.lock:
            self.requests.append({"method": h.command, "path": u.path, "query": u.query,
                                  "auth": h.headers.get("Authorization", ""),
                                  "accept": h.headers.get("Accept", ""),
                                  "code": code, "t": time.monotonic()})
        h.send_response(code)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)
