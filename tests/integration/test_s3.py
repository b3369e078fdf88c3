"""End-to-end tests: vartrack-watcher + its git and s3 workers against a real
SigV4-checking S3 server on 127.0.0.1 (@20minutes/s3rver 4.0.4, see
s3rver.py; it serves unsigned requests too, so the tests that matter refuse
a wrong secret). The objects are written as the orchestrator's S3 sink
writes them (interop §3.4): {s3_key_prefix}/{env}/config.json with
json.dumps(flat, indent=2, sort_keys=True) and no trailing newline, or one
object per dotted key, each tagged with the vartrack labels.

The credential chain's container-credentials and IMDSv2 endpoints are
loopback fakes (http_peer.py style, in this module) that answer as the AWS
documentation says; s3rver knows the keys they hand out.
"""
import http.server
import json
import os
import threading
import time
import unittest

import conformance
from harness import WatcherTest, rule_drift, rule_ok, rule_unknown, wait_until, watcher_config
from s3rver import MARKER_TAGS, S3rver, config_json

BUCKET = "cfg-bucket"
PREFIX = "app/production"        # s3_key_prefix "app", env production


def ds_yaml(endpoint, key="S3RVER", secret="S3RVER", extra="", name="s3", tmp=None):
    """An s3 datasource; key/secret None: none configured (the chain)."""
    s = ("  - name: %s\n    type: s3\n    endpoint: %s\n    region: us-east-1\n"
         % (name, endpoint))
    if key is not None:
        kf = os.path.join(tmp, "s3-key-%s" % name)
        sf = os.path.join(tmp, "s3-secret-%s" % name)
        for path, val in ((kf, key), (sf, secret)):
            with open(path, "w") as f:
                f.write(val)
        s += ("    access_key_id: {file: %s}\n    secret_access_key: {file: %s}\n"
              % (kf, sf))
    return s + extra


def rule_yaml(name, repo, per_key=False, extra="", datasource="s3", prefix="app",
              bucket=BUCKET):
    return ("  - name: %s\n    platform: local\n    datasource: %s\n"
            "    repo_url: %s\n    file_name: config/app.yaml\n"
            "    tenant_id: acme\n    env: production\n    s3_bucket: %s\n"
            "    s3_key_prefix: %s\n%s%s"
            % (name, datasource, repo, bucket, prefix,
               "    s3_one_file_per_key: true\n" if per_key else "", extra))


class S3Kind(conformance.Kind):
    name = datasource = "s3"
    reconnect_s = 1.5

    def start(self):
        self.s3 = S3rver(self.test.tmp)
        self.s3.start()
        self.test.cleanups.append(self.s3.stop)
        self.s3.create_bucket(BUCKET)

    def stop(self):
        self.s3.stop()

    def restart(self):
        self.s3.restart()

    def datasource_yaml(self, extra=""):
        return ds_yaml(self.s3.endpoint, extra=extra, tmp=self.test.tmp)

    def invalid_utf8_shown(self, raw):
        # JSON cannot hold raw bytes: config.json carries them as code
        # points (latin-1), per-key objects as they are
        return ["\\x%02x" % raw[0]]


class JsonKind(S3Kind, conformance.FileKind):
    """{prefix}/config.json, rewritten whole (and re-tagged) by every
    change, as the orchestrator's PUT does."""

    def _write(self):
        self.s3.put(BUCKET, PREFIX + "/config.json", config_json(self.cur), MARKER_TAGS,
                    "application/json")

    def restart(self):
        self.s3.restart()
        self.cur = {}

    def rule_yaml(self, name, repo, extra=""):
        return rule_yaml(name, repo, extra=extra)

    def invalid_utf8_shown(self, raw):
        return [raw[:2].decode("latin-1")]


class PerKeyKind(S3Kind):
    """{prefix}/{key}, one object per key, each PUT with its tags."""

    def write_baseline(self, flat):
        for k, v in flat.items():
            self.s3.put(BUCKET, PREFIX + "/" + k, v, MARKER_TAGS)

    def set_value(self, key, value):
        self.s3.put(BUCKET, PREFIX + "/" + key, value, MARKER_TAGS)

    def delete(self, key):
        self.s3.delete(BUCKET, PREFIX + "/" + key)

    def add_extra(self, key, value):
        self.s3.put(BUCKET, PREFIX + "/" + key, value, MARKER_TAGS)

    def rule_yaml(self, name, repo, extra=""):
        return rule_yaml(name, repo, per_key=True, extra=extra)


class ConformanceJson(conformance.Suite, WatcherTest):
    kind = JsonKind


class ConformancePerKey(conformance.Suite, WatcherTest):
    kind = PerKeyKind



BIG_KEYS = 2500


def flat_yaml(flat):
    return "".join("%s: %s\n" % (json.dumps(k), json.dumps(v)) for k, v in flat.items())


class S3Test(WatcherTest):
    """One s3rver (with extra key pairs) and helpers."""

    keys = {}

    def setUp(self):
        super().setUp()
        self.s3 = S3rver(self.tmp, self.keys)
        self.s3.start()
        self.cleanups.append(self.s3.stop)
        self.s3.create_bucket(BUCKET)

    def start(self, flat, per_key=False, ds=None, env=None, poll="1s", rule_extra="",
              wait_ok=True, prefix="app", objprefix=PREFIX, bucket=BUCKET):
        self.g = self.repo({"config/app.yaml": flat_yaml(flat)})
        if per_key:
            for k, v in flat.items():
                self.s3.put(BUCKET, objprefix + "/" + k, v, MARKER_TAGS)
        else:
            self.s3.put(BUCKET, objprefix + "/config.json", config_json(flat), MARKER_TAGS,
                        "application/json")
        self.w = self.watcher(watcher_config(
            self.tmp, ds if ds is not None else ds_yaml(self.s3.endpoint, tmp=self.tmp),
            rule_yaml("app", self.g.path, per_key, rule_extra, prefix=prefix, bucket=bucket),
            poll),
            env=env)
        if wait_ok:
            self.w.wait_log(rule_ok("app"), 60, what="first OK poll")
        return self.w

    def count_unchanged(self, polls=3):
        """The watcher's requests over `polls` unchanged polls after the
        current one: (requests, OK polls seen in that window)."""
        w = self.w
        # after an OK line, before the next poll begins
        mark = w.mark()
        w.wait_log(rule_ok("app"), 30, start=mark, what="an OK poll")
        start = self.s3.mark()
        mark = w.mark()
        wait_until(lambda: len(w.find(rule_ok("app"), mark)) >= polls, 60,
                   what="%d more OK polls" % polls)
        oks = len(w.find(rule_ok("app"), mark))
        return self.s3.since(start), oks


def clean_env(tmp, **kw):
    """The watcher's environment without the machine's AWS settings."""
    env = {k: "" for k in os.environ if k.startswith("AWS_")}
    env["HOME"] = tmp
    env.update(kw)
    return env


class Signing(S3Test):
    keys = {"AKIDTEST": "s3cr3t-right"}

    def test_wrong_secret_refused_and_never_logged(self):
        flat = {"a": "1"}
        w = self.start(flat, ds=ds_yaml(self.s3.endpoint, "AKIDTEST", "s3cr3t-WRONG",
                                        tmp=self.tmp), wait_ok=False)
        u = w.wait_log(rule_unknown("app"), 30, what="an unknown poll")
        self.assertIn("SignatureDoesNotMatch", u["reason"])
        self.assertIn("403", u["reason"])
        joined = "\n".join(w.raw)
        for secret in ("s3cr3t-WRONG", "s3cr3t-right", "AWS4-HMAC-SHA256", "StringToSign"):
            self.assertNotIn(secret, joined)
        self.assertEqual(w.find(rule_ok("app")), [])
        reqs = self.s3.since(0)
        self.assertTrue(reqs and all(r["k"] == "AKIDTEST" for r in reqs), reqs[:3])
        self.assertTrue(all(r["s"] == 403 for r in reqs), reqs[:3])

    def test_right_secret_signed_requests(self):
        w = self.start({"a": "1"}, ds=ds_yaml(self.s3.endpoint, "AKIDTEST", "s3cr3t-right",
                                              tmp=self.tmp))
        reqs = self.s3.since(0)
        self.assertTrue(reqs)
        self.assertTrue(all(r["k"] == "AKIDTEST" and r["s"] in (200, 304) for r in reqs),
                        reqs)
        self.assertTrue(all("x-amz-content-sha256" in r["h"].split(";") for r in reqs))
        self.assertNotIn("s3cr3t-right", "\n".join(w.raw))

    def test_unknown_key_and_missing_bucket_name_the_code(self):
        w = self.start({"a": "1"}, ds=ds_yaml(self.s3.endpoint, "NOSUCHKEY", "x" * 8,
                                              tmp=self.tmp), wait_ok=False)
        u = w.wait_log(rule_unknown("app"), 30, what="an unknown poll")
        self.assertIn("InvalidAccessKeyId", u["reason"])

    def test_session_token_sent_and_signed(self):
        tok = os.path.join(self.tmp, "s3-token")
        with open(tok, "w") as f:
            f.write("FQoGZXIvYXdzEXAMPLETOKEN")
        self.start({"a": "1"}, ds=ds_yaml(self.s3.endpoint, "AKIDTEST", "s3cr3t-right",
                                          tmp=self.tmp,
                                          extra="    session_token: {file: %s}\n" % tok))
        reqs = self.s3.since(0)
        self.assertTrue(reqs and all(r["t"] == 1 for r in reqs), reqs[:3])
        self.assertNotIn("EXAMPLETOKEN", "\n".join(self.w.raw))


class Layouts(S3Test):

    def test_missing_object_is_drift(self):
        w = self.start({"a": "1", "b": "2"})
        mark = w.mark()
        self.s3.delete(BUCKET, PREFIX + "/config.json")
        d = w.wait_log(lambda l: rule_drift("app")(l), 20, start=mark, what="drift")
        self.assertEqual((d["missing"], d["changed"], d["extra"]), (2, 0, 0))
        self.assertEqual(d["marker"], "absent")

    def no_such_bucket(self, per_key):
        w = self.start({"a": "1"}, per_key=per_key, bucket="no-such-bucket", wait_ok=False)
        u = w.wait_log(rule_unknown("app"), 30, what="an unknown poll")
        self.assertIn("404 NoSuchBucket", u["reason"])
        self.assertEqual(w.find(rule_drift("app")), [])

    def test_no_such_bucket_is_unknown_with_the_code(self):
        self.no_such_bucket(False)

    def test_no_such_bucket_is_unknown_with_the_code_per_key(self):
        self.no_such_bucket(True)

    def test_not_a_flat_object_is_drift_never_a_crash(self):
        w = self.start({"a": "1", "b": "2"})
        mark = w.mark()
        self.s3.put(BUCKET, PREFIX + "/config.json", '{"a": 2, "b": {"x": [true]}}')
        d = w.wait_log(rule_drift("app"), 20, start=mark, what="drift")
        keys = {k["key"]: k for k in d["keys"]}
        self.assertEqual(keys["a"]["actual"], "2")
        self.assertEqual(keys["b"]["actual"], '{"x":[true]}')
        # (s3rver keeps an object's tags over a PUT without any; S3 drops them)
        mark = w.mark()
        self.s3.put(BUCKET, PREFIX + "/config.json", "[1, 2")
        d = w.wait_log(rule_drift("app"), 20, start=mark, what="drift")
        keys = {k["key"]: k for k in d["keys"]}
        self.assertEqual(d["missing"], 2)
        self.assertEqual(keys["config.json"]["actual"], "[1, 2")
        self.assertIsNone(w.proc.poll())

    def test_keys_needing_encoding(self):
        flat = {"a b": "space", "c+d": "plus", "e~f": "tilde", "g/h": "slash",
                "caf\u00e9": "non-ascii \u2603", "x=y": "query chars", "p%q": "percent"}
        # (not '&': s3rver 4.0.4 escapes it twice in its listings)
        # a prefix that needs encoding too
        w = self.start(flat, per_key=True, prefix="my app+1",
                       objprefix="my app+1/production")
        mark = w.mark()
        self.s3.put(BUCKET, "my app+1/production/c+d", "PLUS")
        d = w.wait_log(rule_drift("app"), 20, start=mark, what="drift")
        self.assertEqual([(k["key"], k["actual"]) for k in d["keys"]], [("c+d", "PLUS")])
        self.assertTrue(all(r["s"] in (200, 304) for r in self.s3.since(0)),
                        [r for r in self.s3.since(0) if r["s"] not in (200, 304)])

    def test_keys_needing_encoding_config_json(self):
        flat = {"a b": "space", "c+d": "plus", "caf\u00e9": "non-ascii \u2603"}
        w = self.start(flat, prefix="my app+1", objprefix="my app+1/production")
        self.assertIsNone(w.proc.poll())


class FastPath(S3Test):
    """Reads that cost almost nothing when nothing changed, counted at the
    server."""

    def test_unchanged_config_json_is_one_head(self):
        flat = {"k%04d" % i: "v%d" % i for i in range(100)}
        self.start(flat, poll="500ms")
        reqs, oks = self.count_unchanged(4)
        self.assertEqual({r["m"] for r in reqs}, {"HEAD"}, reqs)
        self.assertGreaterEqual(len(reqs), oks)
        self.assertLessEqual(len(reqs), oks + 1)        # one poll may be in flight
        # a change: one HEAD, one GET (If-None-Match, 200), its tags
        mark, smark = self.w.mark(), self.s3.mark()
        self.s3.put(BUCKET, PREFIX + "/config.json", config_json(dict(flat, k0001="x")),
                    MARKER_TAGS, "application/json")
        d = self.w.wait_log(rule_drift("app"), 20, start=mark, what="drift")
        self.assertEqual(d["changed"], 1)
        self.assertEqual(d["marker"], "present")
        gets = [r for r in self.s3.since(smark) if r["m"] == "GET"]
        self.assertEqual(sorted(r["u"] for r in gets),
                         ["/%s/%s/config.json" % (BUCKET, PREFIX),
                          "/%s/%s/config.json?tagging=" % (BUCKET, PREFIX)])

    def test_unchanged_bucket_of_2500_keys_is_three_lists(self):
        flat = {"key.%04d" % i: "value %d" % i for i in range(BIG_KEYS)}
        self.start(flat, per_key=True, poll="1s")
        reqs, oks = self.count_unchanged(3)
        self.assertTrue(all(r["m"] == "GET" and "list-type=2" in r["u"] for r in reqs),
                        [r for r in reqs if "list-type=2" not in r["u"]][:5])
        self.assertGreaterEqual(len(reqs), 3 * oks)
        self.assertLessEqual(len(reqs), 3 * (oks + 1))
        pages = [r["u"] for r in reqs[:3]]
        self.assertNotIn("continuation-token", pages[0])
        self.assertIn("continuation-token", pages[1])
        # one key changed: the LISTs, then that object and its tags only
        mark, smark = self.w.mark(), self.s3.mark()
        self.s3.put(BUCKET, PREFIX + "/key.1234", "changed", MARKER_TAGS)
        d = self.w.wait_log(rule_drift("app"), 30, start=mark, what="drift")
        self.assertEqual([(k["key"], k["actual"]) for k in d["keys"]],
                         [("key.1234", "changed")])
        self.assertEqual((d["missing"], d["extra"]), (0, 0))
        objs = [r["u"] for r in self.s3.since(smark) if "list-type=2" not in r["u"]]
        self.assertEqual(sorted(objs), ["/%s/%s/key.1234" % (BUCKET, PREFIX),
                                        "/%s/%s/key.1234?tagging=" % (BUCKET, PREFIX)])


class CredFake:
    """Loopback fakes of the container credentials endpoint and IMDSv2,
    answering as the AWS documentation describes (spec/backends-http-ha.md
    §1.3). creds: list of (key, secret, token, seconds to expiry); each
    credentials answer hands out the next (the last one repeats)."""

    def __init__(self, creds, auth=None):
        self.creds = list(creds)
        self.auth = auth
        self.served = []
        self.requests = []
        self.imds_token = "imds-session-token-1"
        fake = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def reply(self, code, body, ctype="text/plain"):
                b = body.encode()
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(b)))
                self.end_headers()
                self.wfile.write(b)

            def creds_json(self):
                i = min(len(fake.served), len(fake.creds) - 1)
                k, s, t, ttl = fake.creds[i]
                fake.served.append(k)
                exp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + ttl))
                self.reply(200, json.dumps({"Code": "Success", "Type": "AWS-HMAC",
                                            "AccessKeyId": k, "SecretAccessKey": s,
                                            "Token": t, "Expiration": exp}),
                           "application/json")

            def do_PUT(self):
                fake.requests.append(("PUT", self.path, dict(self.headers)))
                if (self.path == "/latest/api/token" and
                        self.headers.get("x-aws-ec2-metadata-token-ttl-seconds")):
                    return self.reply(200, fake.imds_token)
                self.reply(400, "bad")

            def do_GET(self):
                fake.requests.append(("GET", self.path, dict(self.headers)))
                if self.path == "/creds":
                    if fake.auth is not None and self.headers.get("Authorization") != fake.auth:
                        return self.reply(401, "no")
                    return self.creds_json()
                if self.path.startswith("/latest/meta-data/iam/security-credentials/"):
                    if self.headers.get("x-aws-ec2-metadata-token") != fake.imds_token:
                        return self.reply(401, "no token")
                    role = self.path.rsplit("/", 1)[1]
                    if role == "":
                        return self.reply(200, "vtw-role")
                    if role == "vtw-role":
                        return self.creds_json()
                self.reply(404, "not found")

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.httpd.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class CredentialChain(S3Test):
    keys = {"AKENV": "env-secret", "AKFILE": "file-secret", "ASIACTR1": "ctr-secret-1",
            "ASIACTR2": "ctr-secret-2", "ASIAIMDS": "imds-secret"}

    def nocreds_ds(self):
        return ds_yaml(self.s3.endpoint, None, tmp=self.tmp)

    def assertKeys(self, want, since=0):
        reqs = self.s3.since(since)
        self.assertTrue(reqs)
        self.assertEqual({r["k"] for r in reqs}, set(want), reqs[:3])

    def test_environment(self):
        w = self.start({"a": "1"}, ds=self.nocreds_ds(), env=clean_env(
            self.tmp, AWS_ACCESS_KEY_ID="AKENV", AWS_SECRET_ACCESS_KEY="env-secret",
            AWS_SESSION_TOKEN="env-token"))
        self.assertKeys(["AKENV"])
        self.assertTrue(all(r["t"] == 1 for r in self.s3.since(0)))
        self.assertTrue(w.find(lambda l: "credentials from the environment" in l.get("msg", "")))
        self.assertNotIn("env-secret", "\n".join(w.raw))

    def test_shared_credentials_file_profile(self):
        path = os.path.join(self.tmp, "credentials")
        with open(path, "w") as f:
            f.write("[default]\naws_access_key_id = AKENV\naws_secret_access_key = nope\n\n"
                    "# ours\n[vtw]\naws_access_key_id=AKFILE\n"
                    "aws_secret_access_key = file-secret\n")
        os.chmod(path, 0o644)
        w = self.start({"a": "1"}, ds=self.nocreds_ds(), env=clean_env(
            self.tmp, AWS_SHARED_CREDENTIALS_FILE=path, AWS_PROFILE="vtw"))
        self.assertKeys(["AKFILE"])
        self.assertTrue(all(r["t"] == 0 for r in self.s3.since(0)))
        self.assertNotIn("file-secret", "\n".join(w.raw))

    def test_container_credentials_refreshed_before_expiration(self):
        fake = CredFake([("ASIACTR1", "ctr-secret-1", "tok-1", 4),
                         ("ASIACTR2", "ctr-secret-2", "tok-2", 3600)], auth="ctr-auth")
        self.cleanups.append(fake.stop)
        w = self.start({"a": "1"}, ds=self.nocreds_ds(), poll="300ms", env=clean_env(
            self.tmp, AWS_CONTAINER_CREDENTIALS_FULL_URI=fake.url + "/creds",
            AWS_CONTAINER_AUTHORIZATION_TOKEN="ctr-auth"))
        self.assertEqual(self.s3.since(0)[0]["k"], "ASIACTR1")
        # 4 s credentials: refreshed at half their life, before they expire
        wait_until(lambda: any(r["k"] == "ASIACTR2" for r in self.s3.since(0)), 10,
                   what="requests signed with the refreshed credentials")
        self.assertTrue(all(r["t"] == 1 for r in self.s3.since(0)))
        self.assertEqual(w.find(rule_unknown("app")), [])
        self.assertEqual(fake.served[:2], ["ASIACTR1", "ASIACTR2"])
        joined = "\n".join(w.raw)
        for s in ("ctr-secret", "ctr-auth", "tok-1"):
            self.assertNotIn(s, joined)

    def test_container_credentials_refused_without_the_token(self):
        fake = CredFake([("ASIACTR1", "ctr-secret-1", "tok-1", 3600)], auth="right")
        self.cleanups.append(fake.stop)
        w = self.start({"a": "1"}, ds=self.nocreds_ds(), wait_ok=False, env=clean_env(
            self.tmp, AWS_CONTAINER_CREDENTIALS_FULL_URI=fake.url + "/creds",
            AWS_CONTAINER_AUTHORIZATION_TOKEN="wrong"))
        u = w.wait_log(rule_unknown("app"), 30, what="an unknown poll")
        self.assertIn("credentials", u["reason"])
        self.assertIn("401", u["reason"])

    def test_imdsv2(self):
        fake = CredFake([("ASIAIMDS", "imds-secret", "imds-tok", 3600)])
        self.cleanups.append(fake.stop)
        w = self.start({"a": "1"}, ds=self.nocreds_ds(), env=clean_env(
            self.tmp, AWS_EC2_METADATA_SERVICE_ENDPOINT=fake.url))
        self.assertKeys(["ASIAIMDS"])
        first = [(m, p) for m, p, h in fake.requests[:3]]
        self.assertEqual(first, [("PUT", "/latest/api/token"),
                                 ("GET", "/latest/meta-data/iam/security-credentials/"),
                                 ("GET", "/latest/meta-data/iam/security-credentials/vtw-role")])
        self.assertEqual(fake.requests[0][2].get("x-aws-ec2-metadata-token-ttl-seconds"),
                         "21600")
        self.assertNotIn("imds-secret", "\n".join(w.raw))
        self.assertNotIn(fake.imds_token, "\n".join(w.raw))


if __name__ == "__main__":
    unittest.main()
