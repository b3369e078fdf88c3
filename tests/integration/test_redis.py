"""End-to-end tests: vartrack-watcher + its git and redis workers against a
real redis-server and real Git repositories (see harness.py)."""
import os
import signal
import subprocess
import time
import unittest

import conformance
from harness import (WATCHER, WatcherTest, redis_datasource, rule_drift, rule_ok,
                     rule_unknown, wait_until)
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


class RedisKind(conformance.BatchKind):
    """The conformance adapter: a HASH at {tenant}:redis:{env}:vartrack
    (plus the __vartrack__ labels hash), field = dotted key."""
    name = datasource = "redis"
    HASH = PREFIX + ":vartrack"

    def start(self):
        self.r = self.test.redis()

    def stop(self):
        self.r.stop()

    def restart(self):
        self.r.start()      # same port, empty (no persistence)

    def write_baseline(self, flat):
        write_hash(self.r, flat)

    def apply(self, changed=None, missing=(), extra=None):
        # one pipe: the next poll sees all of it
        self.r.pipe([["HSET", self.HASH, k, v] for k, v in dict(changed or {},
                                                                **(extra or {})).items()] +
                    [["HDEL", self.HASH, k] for k in missing])

    def datasource_yaml(self, extra=""):
        return redis_datasource(self.r, extra=extra)

    def rule_yaml(self, name, repo, extra=""):
        return hash_rule(name, extra).format(repo=repo)


class Conformance(conformance.Suite, WatcherTest):
    kind = RedisKind


class HashLayout(WatcherTest):
    def setUp(self):
        super().setUp()
        self.r = self.redis()
        self.g = self.repo({"config/app.yaml": APP_YAML})
        write_hash(self.r)
        self.w = self.watcher(self.config(self.r, hash_rule().format(repo=self.g.path)))
        self.w.wait_log(rule_ok("app"), 15, what="first OK poll")

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


class LargeGitValue(WatcherTest):
    """Issue 13 item 1: a Git value over the 1 MiB IPC cap (under the 16 MiB
    file limit) travels truncated with its length and SHA-256, and is compared
    exactly; a baseline the git worker cannot send is that rule's unknown."""
    BIG = 1100000
    STAGING = "acme:redis:staging"

    def test_git_value_over_a_mib_is_compared_exactly(self):
        r = self.redis()
        big = "A" * self.BIG
        g = self.repo({"config/app.yaml": APP_YAML,
                       "config/big.yaml": "big: %s\n" % big})
        write_hash(r)
        write_hash(r, {"big": big}, prefix=self.STAGING)
        # a second, healthy rule on the same git and redis workers
        rules = hash_rule("app") + hash_rule("big").replace(
            "config/app.yaml", "config/big.yaml").replace(
            "env: production", "env: staging")
        w = self.watcher(self.config(r, rules.format(repo=g.path)))
        w.wait_log(rule_ok("big"), 60, what="the big value equal to Git")
        w.wait_log(rule_ok("app"), 60, what="the other rule OK")
        mark = w.mark()
        wait_until(lambda: len(w.find(rule_ok("big"), mark)) >= 3 and
                   len(w.find(rule_ok("app"), mark)) >= 3, 30,
                   what="three OK polls of each rule")
        self.assertEqual(w.find(lambda l: "violation" in l.get("msg", "") or
                                l.get("result") == "unknown", mark), [])
        # one byte differs, at the end: same length, same prefix, other digest
        mark = w.mark()
        r.pipe([["HSET", self.STAGING + ":vartrack", "big", big[:-1] + "B"]])
        d = w.wait_log(rule_drift("big"), 30, start=mark)
        keys = {k["key"]: k for k in d["keys"]}
        self.assertEqual(list(keys), ["big"])
        self.assertEqual(keys["big"]["change"], "changed")
        self.assertIn("(%d bytes)" % self.BIG, keys["big"]["expected"])
        self.assertIn("(%d bytes)" % self.BIG, keys["big"]["actual"])
        self.assertLess(len(keys["big"]["expected"]), 400)
        # a different length is a drift too
        mark = w.mark()
        r.pipe([["HSET", self.STAGING + ":vartrack", "big", big + "A"]])
        d = w.wait_log(lambda l: rule_drift("big")(l) and "(%d bytes)" % (
            self.BIG + 1) in l["keys"][0]["actual"], 30, start=mark)
        # equal again: OK
        mark = w.mark()
        r.pipe([["HSET", self.STAGING + ":vartrack", "big", big]])
        w.wait_log(rule_ok("big"), 30, start=mark)
        self.assertEqual(w.metric(
            'vartrack_watcher_worker_restarts_total{worker="git"}'), 0)
        self.assertEqual(w.stop(signal.SIGTERM), 0)     # 9: valgrind errors

    def test_unservable_baseline_is_its_rules_unknown_only(self):
        r = self.redis()
        # a key over the 64 KiB key limit: the git worker cannot send it
        g = self.repo({"config/app.yaml": APP_YAML,
                       "config/bad.json": '{"%s": "v"}\n' % ("k" * 70000)})
        write_hash(r)
        rules = hash_rule("good") + hash_rule("bad").replace("config/app.yaml",
                                                             "config/bad.json")
        w = self.watcher(self.config(r, rules.format(repo=g.path)))
        u = w.wait_log(lambda l: rule_unknown("bad")(l) and
                       "worker is not running" not in l["reason"], 60,
                       what="the bad rule unknown")
        self.assertEqual(u["stage"], "baseline")
        self.assertIn("a key of 70000 bytes exceeds the 65536-byte limit",
                      u["reason"])
        mark = w.mark()
        wait_until(lambda: len(w.find(rule_ok("good"), mark)) >= 4 and
                   len(w.find(rule_unknown("bad"), mark)) >= 2, 30,
                   what="the good rule polling on, the bad one unknown")
        self.assertEqual(w.find(lambda l: "violation" in l.get("msg", "")), [])
        for kind in ("git", "redis"):
            self.assertEqual(w.metric(
                'vartrack_watcher_worker_restarts_total{worker="%s"}' % kind), 0)
        self.assertEqual(w.stop(signal.SIGTERM), 0)


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
                   ZK_PASSWORD="x", VERCEL_TOKEN="t", K8S_TOKEN="x")
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
