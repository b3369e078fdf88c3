"""The S3 test server: @20minutes/s3rver 4.0.4 (tests/s3rver; `npm ci` there
first, scripts/test.sh does), a real SigV4-checking S3 implementation on a
free loopback port, stopped by PID. It verifies the signature of every
signed request (wrong secret: 403 SignatureDoesNotMatch) but serves
unsigned requests as anonymous: this module's own fixture writes are
unsigned, so a test proving that the watcher signs must refuse a wrong
secret. tests/s3rver/server.js prints one REQ line per request answered
(method, URL, status, the access key of its signature, whether a session
token was sent and signed), which is how the tests count the watcher's
requests.

Run with node --openssl-legacy-provider: node 20's OpenSSL 3 has no DES,
which s3rver's list continuation tokens use (spec/backends-http-ha.md §1.4).
"""
import json
import os
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from harness import _wait_started, free_port, stop_process

S3RVER_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "s3rver")
MARKER_TAGS = {"app.kubernetes.io/managed-by": "vartrack", "vartrack.io/tenant": "default"}


class S3rver:
    """.port, .endpoint ("http://127.0.0.1:PORT"), .requests (the REQ lines
    as dicts: m, u, s, k, t, h), .log. Access keys: S3RVER/S3RVER and the
    pairs given ({key: secret})."""

    SERVER = os.path.join(S3RVER_DIR, "server.js")

    def __init__(self, workdir, keys=None):
        self.dir = os.path.join(workdir, "s3rver")
        self.data = os.path.join(self.dir, "data")
        os.makedirs(self.data, exist_ok=True)
        self.port = free_port()
        self.endpoint = "http://127.0.0.1:%d" % self.port
        self.log = os.path.join(self.dir, "s3rver.log")
        self.keys = dict(keys or {})
        self.proc = None
        self.requests = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._reader = None
        self._logf = None

    def start(self, timeout=20.0):
        if not os.path.isdir(os.path.join(S3RVER_DIR, "node_modules", "@20minutes", "s3rver")):
            raise RuntimeError("the S3 test server's npm packages are missing: run "
                               "`npm ci --no-audit --no-fund` in %s (scripts/test.sh does)"
                               % S3RVER_DIR)
        if shutil.which("node") is None:
            raise RuntimeError("node is not installed (scripts/install-deps.sh installs it)")
        self._ready.clear()
        self._logf = open(self.log, "ab")
        argv = ["node", "--openssl-legacy-provider", self.SERVER, str(self.port), self.data]
        argv += ["%s:%s" % kv for kv in self.keys.items()]
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=self._logf, cwd=S3RVER_DIR)
        except BaseException:
            self._logf.close()
            raise
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        try:
            _wait_started(self.proc, self._ready.is_set, timeout,
                          "the S3 test server to print READY", self.log)
        except BaseException:
            self.stop()
            raise

    def _read(self):
        for raw in self.proc.stdout:
            self._logf.write(raw)
            self._logf.flush()
            if raw.startswith(b"READY"):
                self._ready.set()
            elif raw.startswith(b"REQ "):
                with self._lock:
                    self.requests.append(json.loads(raw[4:]))

    def stop(self):
        stop_process(self.proc, 10)
        if self._reader is not None:
            self._reader.join(5)
            self._reader = None
        if self.proc is not None:
            self.proc.stdout.close()
            self._logf.close()
        self.proc = None

    def restart(self):
        self.start()

    # request log
    def mark(self):
        with self._lock:
            return len(self.requests)

    def since(self, mark, signed_only=True):
        """The requests answered since mark (signed ones: the watcher's)."""
        with self._lock:
            return [r for r in self.requests[mark:] if r["k"] or not signed_only]

    # fixture writes: unsigned (anonymous), as s3rver allows
    def _url(self, bucket, key=None, query=None):
        u = "%s/%s" % (self.endpoint, bucket)
        if key is not None:
            u += "/" + urllib.parse.quote(key.encode() if isinstance(key, str) else key,
                                          safe="/~")
        if query:
            u += "?" + query
        return u

    def request(self, method, bucket, key=None, body=None, query=None, headers=None):
        req = urllib.request.Request(self._url(bucket, key, query), data=body, method=method,
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read(), dict(r.headers)
        except urllib.error.HTTPError as e:
            return e.code, e.read(), dict(e.headers)

    def create_bucket(self, bucket):
        st, body, _ = self.request("PUT", bucket)
        assert st == 200, body

    def put(self, bucket, key, body, tags=None, content_type="application/octet-stream"):
        if isinstance(body, str):
            body = body.encode()
        st, resp, hdr = self.request("PUT", bucket, key, body,
                                     headers={"Content-Type": content_type})
        assert st == 200, resp
        if tags is not None:
            self.put_tags(bucket, key, tags)
        return hdr.get("ETag")

    def put_tags(self, bucket, key, tags):
        def esc(s):
            return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        xml = "<Tagging><TagSet>%s</TagSet></Tagging>" % "".join(
            "<Tag><Key>%s</Key><Value>%s</Value></Tag>" % (esc(k), esc(v))
            for k, v in tags.items())
        st, resp, _ = self.request("PUT", bucket, key, xml.encode(), query="tagging=")
        assert st == 200, resp

    def delete(self, bucket, key):
        st, resp, _ = self.request("DELETE", bucket, key)
        assert st in (200, 204), resp

    def get(self, bucket, key):
        return self.request("GET", bucket, key)


def config_json(flat):
    """The orchestrator's config.json body (interop §3.4): json.dumps of the
    flat map, indent 2, sorted, ensure_ascii, no trailing newline. Bytes
    values (hostile test values) go in as latin-1 code points."""
    return json.dumps({k: v.decode("latin-1") if isinstance(v, bytes) else v
                       for k, v in flat.items()}, indent=2, sort_keys=True,
                      ensure_ascii=True)
