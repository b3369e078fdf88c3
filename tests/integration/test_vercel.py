"""End-to-end tests: vartrack-watcher + its git and vercel workers against
the loopback fake of the Vercel env API (vercel_fake.py: no Vercel API runs
here; the fake's limits are in its header, and every body it served in
these tests is checked against @vercel/sdk's published parsers at the end,
see ZSchemas). Variables are written as the orchestrator's Vercel sink
writes them (interop §3.7): one variable per dotted flat key, type plain
(sensitive for keys matching vercel_sensitive_keys), the rule's targets,
plus VARTRACK_MANAGED_BY=vartrack and VARTRACK_META.
"""
import os
import time
import unittest

import conformance
import vercel_fake
from fixtures import APP_YAML, FLAT
from harness import WatcherTest, rule_drift, rule_ok, rule_unknown, wait_until, watcher_config

PROJECT = "prj_vtwtest0001"
TOKEN = "vcp_fake_token_0123456789"

# the conformance suite reads these values in its drift lines: Vercel values
# are redacted unless listed (database.password stays a secret)
SHOWN = ["max_connections", "log_level", "database.host", "database.pool_size",
         "features.0", "features.1", "rogue", "blob"]

# every body the fake served in this module, for Schemas
SERVED = []


def ds_yaml(fake, tmp, name="vercel", token=TOKEN, extra=""):
    tf = os.path.join(tmp, "vercel-token-%s" % name)
    with open(tf, "w") as f:
        f.write(token)
    return ("  - name: %s\n    type: vercel\n    api_url: %s\n    token: {file: %s}\n%s"
            % (name, fake.url, tf, extra))


def rule_yaml(name, repo, extra="", project=PROJECT, env="production", datasource="vercel"):
    return ("  - name: %s\n    platform: local\n    datasource: %s\n"
            "    repo_url: %s\n    file_name: config/app.yaml\n"
            "    tenant_id: acme\n    env: %s\n    vercel_project_id: %s\n%s"
            % (name, datasource, repo, env, project, extra))


def as_text(v):
    """Vercel values are JSON strings: bytes are stored as their code
    points (latin-1), as the S3 config.json kind does."""
    return v.decode("latin-1") if isinstance(v, bytes) else v


def write_meta(fake, pid=PROJECT, target=("production",)):
    fake.set(pid, "VARTRACK_MANAGED_BY", "vartrack", target=target)
    fake.set(pid, "VARTRACK_META", '{"commit":"x","tenant":"acme"}', target=target)


class VercelKind(conformance.Kind):
    name = datasource = "vercel"
    # Vercel caps a deployment's variables at 64 KB in all
    big_value_bytes = 64 * 1024
    reconnect_s = 1.5

    def start(self):
        self.fake = vercel_fake.VercelFake(TOKEN)
        self.fake.start()
        self.test.cleanups.append(self.fake.stop)
        self.test.cleanups.append(lambda: SERVED.extend(self.fake.bodies))
        self.fake.project(PROJECT)

    def stop(self):
        self.fake.stop()

    def restart(self):
        self.fake.start()

    def write_baseline(self, flat):
        for k, v in flat.items():
            self.fake.set(PROJECT, k, as_text(v))
        write_meta(self.fake)

    def set_value(self, key, value):
        self.fake.set(PROJECT, key, as_text(value))

    def delete(self, key):
        self.fake.delete(PROJECT, key)

    def add_extra(self, key, value):
        self.fake.set(PROJECT, key, as_text(value))

    def datasource_yaml(self, extra=""):
        return ds_yaml(self.fake, self.test.tmp, extra=extra)

    def rule_yaml(self, name, repo, extra=""):
        return rule_yaml(name, repo, "    show_values: [%s]\n%s" % (", ".join(SHOWN), extra))

    def invalid_utf8_shown(self, raw):
        return [raw[:2].decode("latin-1")]


class Conformance(conformance.Suite, WatcherTest):
    kind = VercelKind


class VercelTest(WatcherTest):
    """One fake with the project, and helpers."""

    def setUp(self):
        super().setUp()
        self.fake = vercel_fake.VercelFake(TOKEN)
        self.fake.start()
        self.cleanups.append(self.fake.stop)
        self.cleanups.append(lambda: SERVED.extend(self.fake.bodies))
        self.fake.project(PROJECT)

    def start(self, flat=FLAT, sensitive=(), rule_extra="", ds_extra="", poll="1s",
              wait=rule_ok, token=TOKEN, env="production", target=("production",),
              git_yaml=APP_YAML, project=PROJECT):
        for k, v in flat.items():
            self.fake.set(PROJECT, k, v, "sensitive" if k in sensitive else "plain",
                          target=target)
        write_meta(self.fake, target=target)
        if sensitive:
            rule_extra += "    vercel_sensitive_keys: [%s]\n" % ", ".join(sensitive)
        self.g = self.repo({"config/app.yaml": git_yaml})
        self.w = self.watcher(watcher_config(
            self.tmp, ds_yaml(self.fake, self.tmp, token=token, extra=ds_extra),
            rule_yaml("app", self.g.path, rule_extra, env=env, project=project), poll))
        if wait is not None:
            self.first = self.w.wait_log(wait("app"), 30, what="first %s poll" % wait("app"))
        return self.w

    def drift(self, mark, pred=lambda l: True, timeout=15, what="drift line"):
        return self.w.wait_log(lambda l: rule_drift("app")(l) and pred(l), timeout,
                               start=mark, what=what)

    def keys(self, line):
        return {k["key"]: k for k in line["keys"]}

    def metric(self, name, **labels):
        lab = dict(labels, datasource="vercel")
        return self.w.metric("vartrack_watcher_%s{%s}" % (name, ",".join(
            '%s="%s"' % kv for kv in sorted(lab.items()))))

    def assertNoSecrets(self):
        joined = "\n".join(self.w.raw)
        for s in (TOKEN, "hunter2", "Bearer"):
            self.assertNotIn(s, joined)


class Types(VercelTest):

    def test_sensitive_is_unverifiable_never_ok_by_assumption_nor_drift(self):
        w = self.start(sensitive=["database.password"])
        ok = self.first
        self.assertEqual(ok["unverifiable"], 1)
        self.assertEqual([k["key"] for k in ok["unverifiable_keys"]], ["database.password"])
        self.assertIn("unverifiable", ok["msg"])
        self.assertEqual(self.metric("unverifiable_keys", rule="app"), 1)
        # someone rewrites it: its updatedAt moves, its value stays unreadable
        mark = w.mark()
        self.fake.set(PROJECT, "database.password", "", "sensitive")
        l = w.wait_log(lambda l: rule_ok("app")(l) and any(
            "changed outside Git" in k["note"] for k in l.get("unverifiable_keys", [])),
            15, start=mark, what="OK line noting the change outside Git")
        self.assertEqual(l["unverifiable"], 1)
        # ... said once: the next poll's mark is the new updatedAt
        mark = w.mark()
        l = w.wait_log(rule_ok("app"), 15, start=mark, what="the next OK poll")
        self.assertEqual(l["unverifiable_keys"][0]["note"], "value unreadable")
        self.assertEqual(w.find(rule_drift("app")), [])
        self.assertNoSecrets()

    def test_encrypted_is_a_type_change_decrypted_only_when_it_moved(self):
        w = self.start()
        mark = w.mark()
        self.fake.set(PROJECT, "log_level", "dbg-7f3a", "encrypted")
        d = self.drift(mark, what="drift on the encrypted variable")
        k = self.keys(d)["log_level"]
        self.assertEqual(k["change"], "changed")
        self.assertIn("type encrypted (Git writes plain)", k["note"])
        # values are secrets by default
        self.assertEqual((k["expected"], k["actual"]), ("<redacted>", "<redacted>"))
        self.assertNotIn("dbg-7f3a", "\n".join(w.raw))
        # unchanged since: one list call per poll, no more decrypts
        nd = len(self.fake.decrypts())
        self.assertEqual(nd, 1)
        m2 = w.mark()
        r0 = len(self.fake.seen())
        wait_until(lambda: len(w.find(rule_drift("app"), m2)) >= 3, 20, what="3 more polls")
        polls = len(w.find(rule_drift("app"), m2))
        self.assertEqual(len(self.fake.decrypts()), 1)
        reqs = len(self.fake.seen()) - r0
        self.assertLessEqual(reqs, polls + 1, "one list request per poll")
        # moved again: decrypted again
        m3 = w.mark()
        self.fake.set(PROJECT, "log_level", "trace", "encrypted")
        wait_until(lambda: len(self.fake.decrypts()) == 2, 15, what="a second decrypt")
        self.drift(m3)

    def test_shown_value_of_an_encrypted_variable(self):
        w = self.start(rule_extra="    show_values: [log_level]\n")
        mark = w.mark()
        self.fake.set(PROJECT, "log_level", "debug", "encrypted")
        d = self.drift(mark)
        k = self.keys(d)["log_level"]
        self.assertEqual((k["expected"], k["actual"]), ("info", "debug"))

    def test_plain_where_git_writes_sensitive_and_the_reverse(self):
        w = self.start(sensitive=["database.password"])
        mark = w.mark()
        # the sensitive key made plain (same value), a plain key made sensitive
        self.fake.set(PROJECT, "database.password", "hunter2", "plain")
        self.fake.set(PROJECT, "max_connections", "", "sensitive")
        d = self.drift(mark, lambda l: l["changed"] == 2, what="two type changes")
        keys = self.keys(d)
        self.assertIn("type plain (Git writes sensitive)", keys["database.password"]["note"])
        self.assertIn("type sensitive (Git writes plain; value unreadable)",
                      keys["max_connections"]["note"])
        self.assertEqual(keys["database.password"]["actual"], "<redacted>")
        self.assertNoSecrets()

    def test_target_change_is_drift(self):
        w = self.start()
        mark = w.mark()
        self.fake.retarget(PROJECT, "log_level", ["preview"])
        d = self.drift(mark)
        k = self.keys(d)["log_level"]
        self.assertIn(k["change"], ("changed", "missing"))
        if k["change"] == "changed":
            self.assertIn("target preview (Git writes production)", k["note"])
        # a target list that still includes production is fine
        mark = w.mark()
        self.fake.retarget(PROJECT, "log_level", ["production", "preview"])
        w.wait_log(rule_ok("app"), 15, start=mark, what="OK with production among the targets")

    def test_preview_env_reads_the_preview_target(self):
        self.start(env="staging", target=("preview",))
        self.assertEqual(self.first["key_count"], len(FLAT))

    def test_metadata_never_drift_and_marker(self):
        w = self.start()
        mark = w.mark()
        self.fake.set(PROJECT, "VARTRACK_META", '{"commit":"y"}')
        self.fake.set(PROJECT, "rogue", "1")
        d = self.drift(mark)
        self.assertEqual(sorted(self.keys(d)), ["rogue"])
        self.assertEqual(d["marker"], "present")
        mark = w.mark()
        self.fake.delete(PROJECT, "rogue")
        self.fake.delete(PROJECT, "VARTRACK_MANAGED_BY")
        self.fake.set(PROJECT, "log_level", "x")
        d = self.drift(mark)
        self.assertEqual(d["marker"], "absent")


class Api(VercelTest):

    def test_v9_fallback_when_v10_is_404(self):
        self.fake.v10 = False
        self.start()
        self.assertTrue(self.fake.seen(lambda r: r["path"].startswith("/v9/") and
                                       r["status"] == 200))

    def test_paged_list(self):
        self.fake.page_size = 3
        w = self.start()
        mark = w.mark()
        self.fake.set(PROJECT, "rogue", "1")
        d = self.drift(mark)
        self.assertEqual(sorted(self.keys(d)), ["rogue"])
        self.assertTrue(self.fake.seen(lambda r: "until" in r["query"]))

    def test_team_scope_by_id_and_by_slug(self):
        self.fake.projects[PROJECT]["team"] = ("team_abc123", "acme-team")
        self.start(ds_extra="    team_id: team_abc123\n")
        self.assertTrue(all(r["query"].get("teamId") == "team_abc123"
                            for r in self.fake.seen()))

    def test_team_slug(self):
        self.fake.projects[PROJECT]["team"] = ("team_abc123", "acme-team")
        self.start(ds_extra="    team_slug: acme-team\n")
        self.assertTrue(all(r["query"].get("slug") == "acme-team" for r in self.fake.seen()))

    def test_wrong_team_is_unknown_forbidden(self):
        self.fake.projects[PROJECT]["team"] = ("team_abc123", "acme-team")
        self.start(wait=rule_unknown)
        self.assertIn("forbidden", self.first["reason"])
        self.assertIn("permission", self.first["reason"])

    def test_bad_token_unknown_with_code_and_message_never_logged(self):
        w = self.start(token="vcp_WRONG_token_987", wait=rule_unknown)
        self.assertIn("403", self.first["reason"])
        self.assertIn("forbidden", self.first["reason"])
        self.assertIn("Not authorized", self.first["reason"])
        joined = "\n".join(w.raw)
        self.assertNotIn("vcp_WRONG_token_987", joined)
        self.assertNotIn(TOKEN, joined)
        self.assertEqual(w.find(rule_drift("app")), [])

    def test_401_unauthorized_names_the_code(self):
        self.fake.unauthorized_401 = True
        w = self.start(token="vcp_expired_token_42", wait=rule_unknown)
        self.assertIn("401", self.first["reason"])
        self.assertIn("unauthorized", self.first["reason"])
        self.assertNotIn("vcp_expired_token_42", "\n".join(w.raw))

    def test_unknown_project_names_the_id(self):
        self.start(project="prj_doesnotexist", wait=rule_unknown)
        self.assertIn("prj_doesnotexist", self.first["reason"])
        self.assertIn("not_found", self.first["reason"])


class RateLimit(VercelTest):

    def rate_limited(self, **throttle):
        w = self.start(ds_extra="    breaker_failures: 2\n", rule_extra="    poll_interval: 300ms\n")
        mark = w.mark()
        reset_in = throttle.get("reset_in") or throttle.get("retry_after")
        self.fake.throttle(1, **throttle)
        t429 = time.time()
        u = w.wait_log(rule_unknown("app"), 15, start=mark, what="a rate-limited poll")
        self.assertIn("rate limited until", u["reason"])
        back = w.wait_log(rule_ok("app"), reset_in + 15, start=mark, what="OK after the reset")
        # no request between the 429 and the reset
        during = self.fake.seen(lambda r: t429 < r["t"] < t429 + reset_in - 1.2)
        self.assertEqual([r for r in during if r["status"] != 429], [],
                         "requests before the reset")
        self.assertLessEqual(len(during), 1)
        unknown = w.find(rule_unknown("app"), mark)
        self.assertGreaterEqual(len(unknown), 2, "polls go on, unknown, while limited")
        self.assertEqual(w.find(lambda l: l.get("circuit") == "open", mark), [],
                         "a rate limit does not trip the breaker")
        self.assertEqual(w.find(rule_drift("app"), mark), [])
        return back

    def test_429_with_reset_headers_and_body(self):
        self.rate_limited(reset_in=3)

    def test_429_with_retry_after_only(self):
        self.rate_limited(retry_after=3, headers=False, body=False)

    def test_remaining_zero_holds_requests(self):
        self.fake.remaining_zero = 3
        w = self.start(rule_extra="    poll_interval: 300ms\n", wait=None)
        w.wait_log(rule_ok("app"), 15, what="first OK")
        u = w.wait_log(rule_unknown("app"), 15, what="held until the reset")
        self.assertIn("rate limited until", u["reason"])
        mark = w.mark()
        self.fake.remaining_zero = False
        w.wait_log(rule_ok("app"), 15, start=mark, what="OK after the reset")


class ZSchemas(unittest.TestCase):
    """Every 200 body the fake served in this module's tests parses with
    @vercel/sdk's response parsers (tests/vercel-sdk: npm ci). Named to
    sort last: unittest runs a module's classes by name."""

    def test_zz_fake_bodies_accepted_by_the_sdk(self):
        if not vercel_fake.sdk_available():
            if os.environ.get("CI"):
                self.fail("tests/vercel-sdk is not installed (npm ci)")
            self.skipTest("tests/vercel-sdk not installed")
        bodies = list(SERVED)
        if not bodies:
            # run alone: serve one of each
            f = vercel_fake.VercelFake(TOKEN)
            f.start()
            try:
                f.project(PROJECT)
                write_meta(f)
                f.set(PROJECT, "a", "1")
                f.set(PROJECT, "s", "", "sensitive")
                f.set(PROJECT, "e", "v", "encrypted")
                import urllib.request
                for path in ["/v10/projects/%s/env" % PROJECT] + [
                        "/v1/projects/%s/env/%s" % (PROJECT, e.id)
                        for e in f.projects[PROJECT]["envs"]]:
                    req = urllib.request.Request(f.url + path,
                                                 headers={"Authorization": "Bearer " + TOKEN})
                    urllib.request.urlopen(req, timeout=10).read()
                bodies = list(f.bodies)
            finally:
                f.stop()
        # one of each shape is enough: dedupe by the set of types in a body
        seen, pick = set(), []
        for op, b in bodies:
            sig = (op, b.count('"sensitive"') > 0, b.count('"encrypted"') > 0,
                   '"decrypted": true' in b, len(b) > 60000)
            if sig not in seen:
                seen.add(sig)
                pick.append((op, b))
        self.assertTrue(any(op == "list" for op, _ in pick))
        self.assertEqual(vercel_fake.check_with_sdk(pick), [])


if __name__ == "__main__":
    unittest.main()
