"""End-to-end tests: vartrack-watcher + its git and redis workers against a
real redis-server and real Git repositories (see harness.py)."""
import os
import signal
import subprocess
import time
import unittest

from harness import (WATCHER, WatcherTest, rule_drift, rule_ok, rule_unknown,
                     wait_until)
from fixtures import APP_YAML, FLAT

PREFIX = "acme:redis:production"


def hash_rule(name="app", extra=""):
    return """  - name: %s
    platform: local
    datasource: redis
    repo_url: {repo}
    branch: main
    file_name: config/app.yaml
    tenant_id: acme
    env: production
    redis_data_structure: HASH
%s""" % (name, extra)


def write_hash(redis, flat=FLAT, prefix=PREFIX):
    cmd = ["HSET", prefix + ":vartrack"]
    for k, v in flat.items():
        cmd += [k, v]
    redis.pipe([cmd, ["HSET", prefix + ":__vartrack__",
                      "app.kubernetes.io/managed-by", "vartrack"]])


class HashLayout(WatcherTest):
    def setUp(self):
        super().setUp()
        self.r = self.redis()
        self.g = self.repo({"config/app.yaml": APP_YAML})
        write_hash(self.r)
        self.w = self.watcher(self.config(self.r, hash_rule().format(repo=self.g.path)))
        self.w.wait_log(rule_ok("app"), 15, what="first OK poll")

    def test_changed_missing_extra_detected_within_one_interval(self):
        mark = self.w.mark()
        t0 = time.monotonic()
        self.r.pipe([["HSET", PREFIX + ":vartrack", "max_connections", "5"],
                     ["HDEL", PREFIX + ":vartrack", "log_level"],
                     ["HSET", PREFIX + ":vartrack", "rogue", "1"]])
        d = self.w.wait_log(rule_drift("app"), 5, start=mark, what="drift line")
        self.assertLess(time.monotonic() - t0, 2.5)   # interval 1s + jitter
        self.assertEqual((d["changed"], d["missing"], d["extra"]), (1, 1, 1))
        keys = {k["key"]: k for k in d["keys"]}
        self.assertEqual(keys["max_connections"]["expected"], "50")
        self.assertEqual(keys["max_connections"]["actual"], "5")
        self.assertEqual(keys["log_level"]["change"], "missing")
        self.assertEqual(keys["rogue"]["change"], "extra")
        m = self.w.metrics()
        self.assertGreaterEqual(m['vartrack_watcher_drift_total{datasource="redis"}'], 1)
        self.assertEqual(m['vartrack_watcher_drifted_keys{datasource="redis",rule="app"}'], 3)

    def test_secret_values_redacted(self):
        mark = self.w.mark()
        self.r.cli("HSET", PREFIX + ":vartrack", "database.password", "leaked-value")
        d = self.w.wait_log(rule_drift("app"), 5, start=mark)
        keys = {k["key"]: k for k in d["keys"]}
        self.assertEqual(keys["database.password"]["expected"], "<redacted>")
        self.assertEqual(keys["database.password"]["actual"], "<redacted>")
        joined = "\n".join(self.w.raw)
        self.assertNotIn("hunter2", joined)
        self.assertNotIn("leaked-value", joined)

    def test_no_false_drift_over_many_polls(self):
        mark = self.w.mark()
        wait_until(lambda: len(self.w.find(rule_ok("app"), mark)) >= 6, 15,
                   what="six OK polls")
        self.assertEqual(self.w.find(rule_drift("app"), mark), [])
        self.assertEqual(self.w.find(rule_unknown("app"), mark), [])

    def test_git_commit_moves_the_baseline(self):
        mark = self.w.mark()
        self.g.commit({"config/app.yaml": APP_YAML.replace("50", "60")})
        d = self.w.wait_log(rule_drift("app"), 5, start=mark)
        keys = {k["key"]: k for k in d["keys"]}
        self.assertEqual(keys["max_connections"]["expected"], "60")
        self.assertEqual(keys["max_connections"]["actual"], "50")

    def test_promtool_accepts_metrics(self):
        code, body = self.w.http("/metrics")
        self.assertEqual(code, 200)
        for name in ["vartrack_watcher_poll_total", "vartrack_watcher_drift_total",
                     "vartrack_watcher_heal_total", "vartrack_watcher_heal_errors_total",
                     "vartrack_watcher_poll_duration_seconds_bucket",
                     "vartrack_watcher_poll_errors_total", "vartrack_watcher_drifted_keys",
                     "vartrack_watcher_worker_restarts_total", "vartrack_watcher_build_info"]:
            self.assertIn(name, body)
        p = subprocess.run(["promtool", "check", "metrics"], input=body.encode(),
                           capture_output=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_readiness_and_liveness(self):
        wait_until(lambda: self.w.http("/health/readiness")[0] == 200, 5)
        self.assertEqual(self.w.http("/health/liveness")[0], 200)

    def test_redis_down_is_unknown_then_recovers(self):
        self.r.stop()
        mark = self.w.mark()
        self.w.wait_log(rule_unknown("app"), 10, start=mark, what="unknown poll")
        wait_until(lambda: self.w.metric('vartrack_watcher_poll_errors_total{datasource="redis"}') >= 1, 5)
        self.assertEqual(self.w.find(rule_ok("app"), mark), [])
        self.assertEqual(self.w.find(rule_drift("app"), mark), [])
        self.r.start()
        write_hash(self.r, dict(FLAT, max_connections="7"))
        mark = self.w.mark()
        d = self.w.wait_log(rule_drift("app"), 15, start=mark, what="drift after restart")
        self.assertEqual(d["changed"], 1)

    def test_kill_redis_worker_restarts_and_polling_resumes(self):
        self._kill_worker("redis")

    def test_kill_git_worker_restarts_and_polling_resumes(self):
        self._kill_worker("git")

    def _kill_worker(self, kind):
        pid = wait_until(lambda: self.w.worker_pid(kind), 5)
        mark = self.w.mark()
        os.kill(pid, signal.SIGKILL)
        self.w.wait_log(lambda l: "lost child" in l.get("msg", "") and
                        l.get("worker") == kind, 5, start=mark)
        wait_until(lambda: self.w.metric(
            'vartrack_watcher_worker_restarts_total{worker="%s"}' % kind) == 1, 5)
        wait_until(lambda: self.w.worker_pid(kind) not in (None, pid), 10,
                   what="a new %s worker" % kind)
        mark2 = self.w.mark()
        self.w.wait_log(rule_ok("app"), 10, start=mark2, what="OK after restart")

    def test_sigterm_clean_exit(self):
        t0 = time.monotonic()
        rc = self.w.stop(signal.SIGTERM)
        self.assertEqual(rc, 0)
        self.assertLess(time.monotonic() - t0, 5)
        # workers asked to stop exit 0 (non-zero would also be a leak report)
        for kind in ("git", "redis"):
            self.assertTrue(self.w.find(lambda l, k=kind: l.get("msg", "").startswith(
                "worker %s (pid" % k) and "exited with status 0" in l.get("msg", "")),
                "worker %s did not exit cleanly:\n%s" % (kind, "\n".join(self.w.raw[-30:])))


class StringLayout(WatcherTest):
    def test_string_changed_missing_extra(self):
        r = self.redis()
        g = self.repo({"config/app.yaml": APP_YAML})
        prefix = "vartrack:kv"
        cmds = [["SET", prefix + ":" + k.replace(".", "_"), v] for k, v in FLAT.items()]
        cmds.append(["HSET", prefix + ":__vartrack__", "app.kubernetes.io/managed-by", "vartrack"])
        r.pipe(cmds)
        rule = hash_rule("kv", "    destination_template: vartrack:kv\n    detect_extra: true\n")
        rule = rule.replace("redis_data_structure: HASH", "redis_data_structure: STRING")
        w = self.watcher(self.config(r, rule.format(repo=g.path)))
        w.wait_log(rule_ok("kv"), 15)
        mark = w.mark()
        r.pipe([["SET", prefix + ":max_connections", "5"], ["DEL", prefix + ":log_level"],
                ["SET", prefix + ":rogue_key", "x"]])
        d = w.wait_log(rule_drift("kv"), 5, start=mark)
        keys = {k["key"]: k for k in d["keys"]}
        self.assertEqual(keys["vartrack:kv:max_connections"]["actual"], "5")
        self.assertEqual(keys["vartrack:kv:log_level"]["change"], "missing")
        self.assertEqual(keys["vartrack:kv:rogue_key"]["change"], "extra")


class JsonLayout(WatcherTest):
    def test_json_changed(self):
        r = self.redis()
        g = self.repo({"config/app.yaml": APP_YAML})
        import json
        r.cli("SET", PREFIX + ":json", json.dumps(FLAT))
        rule = hash_rule("js").replace("redis_data_structure: HASH", "redis_data_structure: JSON")
        w = self.watcher(self.config(r, rule.format(repo=g.path)))
        w.wait_log(rule_ok("js"), 15)
        mark = w.mark()
        r.cli("SET", PREFIX + ":json", json.dumps(dict(FLAT, max_connections=5, extra="e")))
        d = w.wait_log(rule_drift("js"), 5, start=mark)
        keys = {k["key"]: k for k in d["keys"]}
        self.assertEqual(keys["max_connections"]["actual"], "5")
        self.assertEqual(keys["extra"]["change"], "extra")


class Isolation(WatcherTest):
    def test_broken_git_file_does_not_affect_other_rule(self):
        r = self.redis()
        g = self.repo({"config/app.yaml": APP_YAML,
                       "config/bad.yaml": "a: [1, 2\nb: {\n"})
        write_hash(r)
        rules = hash_rule("good") + hash_rule("bad").replace("config/app.yaml", "config/bad.yaml")
        w = self.watcher(self.config(r, rules.format(repo=g.path)))
        u = w.wait_log(rule_unknown("bad"), 15)
        self.assertIn("config/bad.yaml", u["reason"])
        w.wait_log(rule_ok("good"), 15)
        mark = w.mark()
        wait_until(lambda: len(w.find(rule_ok("good"), mark)) >= 2, 10)


class Config(WatcherTest):
    def test_malformed_config_reports_every_error_with_position(self):
        path = os.path.join(self.tmp, "bad.yaml")
        with open(path, "w") as f:
            f.write("watcher:\n  poll_intervall: 5s\n  admin_addr: [1]\n"
                    "datasources:\n  - name: r\n    type: redis\n    hosts: [\"h:99999\"]\n")
        p = subprocess.run([WATCHER, "-n", "-f", path], capture_output=True, text=True)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(path + ":2:3:", p.stderr)
        self.assertIn("poll_interval", p.stderr)   # did you mean
        self.assertIn(path + ":3:15:", p.stderr)
        self.assertRegex(p.stderr, path + r":7:\d+:")

    def test_check_mode_accepts_examples(self):
        ex = os.path.abspath(os.path.join(os.path.dirname(__file__), "../../conf/examples"))
        env = dict(os.environ, REDIS_PASSWORD="x", GITHUB_TOKEN="t", GITEA_TOKEN="t",
                   ZK_PASSWORD="x")
        # linux-server.yaml names its key and known_hosts relative to the cwd
        os.makedirs(os.path.join(self.tmp, "ssh"), exist_ok=True)
        for f in ("id_ed25519", "known_hosts"):
            with open(os.path.join(self.tmp, "ssh", f), "w") as fh:
                fh.write("contents are not parsed at load\n")
        for name in sorted(os.listdir(ex)):
            p = subprocess.run([WATCHER, "-n", "-f", os.path.join(ex, name)],
                               capture_output=True, text=True, env=env, cwd=self.tmp)
            self.assertEqual(p.returncode, 0, name + ": " + p.stderr)


@unittest.skipUnless(os.environ.get("VTW_TEST_HOOKS") == "1", "needs a VTW_TEST_HOOKS build")
@unittest.skipIf(os.environ.get("VTW_TEST_SANDBOX_DISABLE"), "sandbox disabled for this run")
class Sandbox(WatcherTest):
    def test_forbidden_syscall_kills_worker_with_sigsys_and_it_restarts(self):
        r = self.redis()
        g = self.repo({"config/app.yaml": APP_YAML})
        write_hash(r)
        flag = os.path.join(self.tmp, "forbid")
        with open(flag, "w") as f:
            f.write("redis\n")
        os.chmod(flag, 0o644)
        w = self.watcher(self.config(r, hash_rule().format(repo=g.path)),
                         env={"VTW_TEST_FORBIDDEN_SYSCALL": flag})
        lost = w.wait_log(lambda l: "lost child" in l.get("msg", "") and
                          l.get("worker") == "redis", 10)
        self.assertIn("SIGSYS", lost["msg"])
        os.unlink(flag)
        w.wait_log(rule_ok("app"), 15, what="OK after the sandboxed worker came back")
        self.assertGreaterEqual(
            w.metric('vartrack_watcher_worker_restarts_total{worker="redis"}'), 1)


if __name__ == "__main__":
    unittest.main()


class DatasourceBreaker(WatcherTest):
    def test_unreachable_redis_backs_off_then_recovers(self):
        r = self.redis()
        g = self.repo({"config/app.yaml": APP_YAML})
        write_hash(r)
        ds = ("    breaker_failures: 3\n    breaker_backoff: 500ms\n"
              "    breaker_max_backoff: 2s\n")
        rule = hash_rule("app", "    poll_interval: 200ms\n").format(repo=g.path)
        w = self.watcher(self.config(r, rule, extra_ds=ds))
        w.wait_log(rule_ok("app"), 15)
        r.stop()
        mark = w.mark()
        w.wait_log(lambda l: l.get("circuit") == "open", 10, start=mark)
        opened = w.mark()
        time.sleep(6)
        # real connection attempts = reads the redis worker tried and failed
        attempts = w.find(lambda l: l.get("proc") == "worker/redis" and
                          "read failed" in l.get("msg", ""), opened)
        skipped = w.find(lambda l: "circuit open" in l.get("reason", ""), opened)
        self.assertLessEqual(len(attempts), 6, "probes only, not every 200 ms poll")
        self.assertGreaterEqual(len(skipped), 10)
        backoffs = [l["backoff_ms"] for l in w.find(lambda l: l.get("circuit") == "open", mark)]
        self.assertGreaterEqual(len(backoffs), 3)
        self.assertGreater(backoffs[2], backoffs[0], "backoff grows: %s" % backoffs)
        # open, or half-open while a probe is in flight
        self.assertIn(w.metric('vartrack_watcher_datasource_circuit_state{datasource="redis"}'),
                      (1, 2))
        # back: detection resumes within one (capped) backoff
        back = w.mark()     # before the restart: the probe may come at once
        t0 = time.monotonic()
        r.start()
        write_hash(r, dict(FLAT, max_connections="7"))
        w.wait_log(rule_drift("app"), 10, start=back)
        self.assertLess(time.monotonic() - t0, 2.4 + 1.0)
        w.wait_log(lambda l: l.get("circuit") == "closed", 5, start=back)


class HostileValues(WatcherTest):
    def test_binary_nul_invalid_utf8_and_huge_values(self):
        r = self.redis()
        big = "x" * (300 * 1024)              # over the 256 KiB IPC value cap
        g = self.repo({"config/app.yaml": APP_YAML + "blob: " + big + "\n"})
        flat = dict(FLAT, blob=big)
        write_hash(r, flat)
        w = self.watcher(self.config(r, hash_rule().format(repo=g.path)))
        # equal although sent truncated (length + digest compared)
        w.wait_log(rule_ok("app"), 15, what="OK with a 300 KiB value")
        mark = w.mark()
        r.pipe([["HSET", PREFIX + ":vartrack", "max_connections", b"y" * (8 * 1024 * 1024)],
                ["HSET", PREFIX + ":vartrack", "log_level", b"a\x00b\xff\n\x1b[31m"],
                ["HSET", PREFIX + ":vartrack", "blob", big[:-1] + "z"]])
        d = w.wait_log(rule_drift("app"), 10, start=mark)
        keys = {k["key"]: k for k in d["keys"]}
        self.assertEqual(d["changed"], 3)
        self.assertIn("(8388608 bytes)", keys["max_connections"]["actual"])
        self.assertLess(len(keys["max_connections"]["actual"]), 400)
        ll = keys["log_level"]["actual"]
        self.assertIn("\\xff", ll)              # invalid UTF-8 shown as \xNN
        raw = [l for l in w.raw if '"result":"drift"' in l][0]
        self.assertNotIn("\x1b", raw)            # no raw control bytes in the log
        self.assertIn("\\u001b", raw)
        self.assertIn("(307200 bytes)", keys["blob"]["actual"])
        self.assertIsNone(w.proc.poll())
        self.assertEqual(w.find(lambda l: "lost child" in l.get("msg", "")), [])
