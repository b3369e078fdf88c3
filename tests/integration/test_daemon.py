"""Operator-facing daemon behaviour: SIGHUP reload, environment overrides,
per-rule poll intervals (real redis-server and git, see harness.py)."""
import os
import re
import signal
import subprocess

from harness import WATCHER, WatcherTest, child_pids, rule_drift, rule_ok, wait_until
from test_memory import sanitized
from test_redis import APP_YAML, PREFIX, hash_rule, write_hash

# everything runs several times slower under valgrind
SLOW = 6 if os.environ.get("VTW_VALGRIND") else 1


class Daemon(WatcherTest):
    def setUp(self):
        super().setUp()
        self.r = self.redis()
        self.g = self.repo({"config/app.yaml": APP_YAML})
        write_hash(self.r)

    def test_sighup_reloads_and_rejects_a_broken_file(self):
        w = self.watcher(self.config(self.r, hash_rule("one").format(repo=self.g.path)))
        w.wait_log(rule_ok("one"), 15)
        # a broken file is refused; the running configuration keeps polling
        with open(w.config, "a") as f:
            f.write("  - bogus_key: 1\n")
        mark = w.mark()
        w.proc.send_signal(signal.SIGHUP)
        w.wait_log(lambda l: "keeping the running configuration" in l.get("msg", ""), 5,
                   start=mark)
        w.wait_log(rule_ok("one"), 5, start=mark)
        # a good file with a second rule is taken
        with open(w.config, "w") as f:
            f.write(self.config(self.r, (hash_rule("one") + hash_rule("two")).format(
                repo=self.g.path)))
        mark = w.mark()
        w.proc.send_signal(signal.SIGHUP)
        w.wait_log(lambda l: "configuration reloaded" in l.get("msg", ""), 5, start=mark)
        w.wait_log(rule_ok("two"), 15, start=mark)
        self.assertIsNone(w.proc.poll())

    def test_a_reload_to_a_config_without_rules_is_refused(self):
        w = self.watcher(self.config(self.r, hash_rule("one").format(repo=self.g.path)))
        w.wait_log(rule_ok("one"), 15)
        with open(w.config, "w") as f:
            f.write(self.config(self.r, ""))
        mark = w.mark()
        w.proc.send_signal(signal.SIGHUP)
        w.wait_log(lambda l: "no rules: nothing to watch" in l.get("msg", ""), 5, start=mark)
        w.wait_log(lambda l: "keeping the running configuration" in l.get("msg", ""), 5,
                   start=mark)
        w.wait_log(rule_ok("one"), 5, start=mark)
        self.assertEqual(w.http("/health/readiness")[0], 200)

    def check(self, text):
        cfg = os.path.join(self.tmp, "check.yaml")
        with open(cfg, "w") as f:
            f.write(text)
        return cfg, subprocess.run([WATCHER, "-n", "-f", cfg], capture_output=True,
                                   text=True)

    def test_check_and_start_refuse_what_cannot_run(self):
        cases = [
            ("", "check.yaml:1:1: no rules: nothing to watch"),
            (self.config(self.r, ""), "no rules: nothing to watch"),
            (self.config(self.r, hash_rule("one").format(repo=self.g.path)).replace(
                "watcher:\n", "watcher:\n  sandbox:\n    user: nosuchuser\n", 1),
             "sandbox.user: no user 'nosuchuser' on this host"),
        ]
        for text, msg in cases:
            with self.subTest(msg=msg):
                cfg, p = self.check(text)
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertIn(msg, p.stderr)
                self.assertNotIn("configuration OK", p.stdout + p.stderr)
                # the daemon refuses it too, before it binds anything
                d = subprocess.run([WATCHER, "-f", cfg], capture_output=True,
                                   text=True, timeout=20)
                self.assertEqual(d.returncode, 1, d.stderr)
                self.assertIn(msg, d.stderr)

    def test_poll_interval_env_overrides_file(self):
        w = self.watcher(self.config(self.r, hash_rule().format(repo=self.g.path), poll="1h"),
                         env={"POLL_INTERVAL": "300ms"})
        wait_until(lambda: len(w.find(rule_ok("app"))) >= 4, 10,
                   what="four polls at the POLL_INTERVAL from the environment")

    def test_per_rule_poll_interval(self):
        rules = (hash_rule("fast", "    poll_interval: 300ms\n") + hash_rule("slow")).format(
            repo=self.g.path)
        w = self.watcher(self.config(self.r, rules, poll="1h"))
        wait_until(lambda: len(w.find(rule_ok("fast"))) >= 4, 10, what="fast polls")
        self.assertEqual(len(w.find(rule_ok("slow"))), 1)


class Reload(WatcherTest):
    """SIGHUP is transactional: the new tables are built beside the running
    ones and swapped only when they are whole; unchanged rules keep their
    state and schedule, only workers whose settings changed restart."""

    def setUp(self):
        super().setUp()
        self.r = self.redis()
        self.g = self.repo({"config/app.yaml": APP_YAML})
        write_hash(self.r)

    def reload(self, w, text, what):
        with open(w.config, "w") as f:
            f.write(text)
        mark = w.mark()
        w.proc.send_signal(signal.SIGHUP)
        return mark, w.wait_log(lambda l: what in l.get("msg", ""), 10 * SLOW, start=mark,
                                what=what)

    def workers(self, w):
        return sorted(child_pids(w.proc.pid))

    def polls(self, w, name, start):
        return [l for l in w.logs()[start:] if l.get("rule") == name and "result" in l]

    def test_a_refused_reload_changes_nothing_and_sigterm_exits_0(self):
        w = self.watcher(self.config(self.r, hash_rule("one").format(repo=self.g.path),
                                     poll="300ms"))
        w.wait_log(rule_ok("one"), 15 * SLOW)
        pids = self.workers(w)
        # a file that does not parse: every message a JSON log line
        mark, _ = self.reload(w, self.config(self.r, "  - bogus_key: 1\n"),
                              "keeping the running configuration")
        errs = [l for l in w.logs()[mark:] if w.config + ":" in l.get("msg", "")]
        self.assertTrue(errs, w.logs()[mark:])
        for l in w.logs()[mark:]:
            self.assertNotIn("unparsed", l, l)
            if w.config + ":" in l.get("msg", ""):
                self.assertEqual(l.get("level"), "warn", l)
        # a file that parses but whose orchestrator client cannot be made
        bad = self.config(self.r, hash_rule("one", "    self_heal: true\n").format(
            repo=self.g.path)).replace(
            "watcher:\n", "watcher:\n  orchestrator:\n    addr: \"127.0.0.1:9\"\n"
            "  tls:\n    ca_file: %s/no-such-ca.pem\n" % self.tmp, 1)
        mark, line = self.reload(w, bad, "keeping the running configuration")
        self.assertIn("reload failed", line["msg"])
        wait_until(lambda: len(self.polls(w, "one", mark)) >= 3, 10 * SLOW,
                   what="rule one still polling")
        self.assertTrue(all(l["result"] == "ok" for l in self.polls(w, "one", mark)))
        self.assertEqual(self.workers(w), pids)
        self.assertEqual(w.http("/health/readiness")[0], 200)
        w.proc.send_signal(signal.SIGTERM)
        self.assertEqual(w.proc.wait(15 * SLOW), 0)

    def test_adding_a_rule_restarts_no_worker_and_keeps_the_others_state(self):
        # rule one drifts; at 1h polls, any poll of it after the reload is
        # one the reload caused
        self.r.cli("HSET", PREFIX + ":vartrack", "max_connections", "51")
        w = self.watcher(self.config(self.r, hash_rule("one").format(repo=self.g.path),
                                     poll="1h"))
        w.wait_log(rule_drift("one"), 15 * SLOW)
        pids = self.workers(w)
        self.assertEqual(w.metric('vartrack_watcher_drifted_keys{datasource="redis",'
                                  'rule="one"}'), 1)
        mark, line = self.reload(w, self.config(
            self.r, (hash_rule("one") + hash_rule("two")).format(repo=self.g.path),
            poll="1h"), "configuration reloaded")
        self.assertIn("1 unchanged, 1 new or changed, 0 removed", line["msg"])
        self.assertIn("workers: 2 kept, 0 started, 0 stopped", line["msg"])
        w.wait_log(rule_drift("two"), 15 * SLOW, start=mark)
        self.assertEqual(self.polls(w, "one", mark), [])
        self.assertEqual(self.workers(w), pids)
        self.assertEqual(w.metric('vartrack_watcher_drifted_keys{datasource="redis",'
                                  'rule="one"}'), 1)
        # removing it takes its series away; the rest runs on
        mark, line = self.reload(w, self.config(
            self.r, hash_rule("two").format(repo=self.g.path), poll="1h"),
            "configuration reloaded")
        self.assertIn("1 unchanged, 0 new or changed, 1 removed", line["msg"])
        self.assertNotIn('rule="one"', w.http("/metrics")[1])
        self.assertEqual(self.workers(w), pids)

    def test_a_changed_datasource_restarts_only_its_worker_and_its_rules(self):
        w = self.watcher(self.config(self.r, hash_rule("one").format(repo=self.g.path),
                                     poll="1h"))
        w.wait_log(rule_ok("one"), 15 * SLOW)
        before = {l["worker"]: l["pid"] for l in w.logs() if "worker" in l and "pid" in l}
        started = {}
        for l in w.logs():
            m = re.match(r"started worker (\w+) \(pid (\d+)\)", l.get("msg", ""))
            if m:
                started[m.group(1)] = int(m.group(2))
        self.assertEqual(set(started), {"git", "redis"}, before)
        text = self.config(self.r, hash_rule("one").format(repo=self.g.path), poll="1h")
        text = text.replace("    type: redis\n", "    type: redis\n    command_timeout: 3s\n")
        mark, line = self.reload(w, text, "configuration reloaded")
        self.assertIn("0 unchanged, 1 new or changed", line["msg"])
        self.assertIn("workers: 1 kept, 1 started, 0 stopped", line["msg"])
        w.wait_log(rule_ok("one"), 15 * SLOW, start=mark)
        kids = self.workers(w)
        self.assertIn(started["git"], kids)
        self.assertNotIn(started["redis"], kids)
        w.proc.send_signal(signal.SIGTERM)
        self.assertEqual(w.proc.wait(15 * SLOW), 0)


class Churn(WatcherTest):
    """50 worker kills and 20 reloads leave the supervisor as it was:
    descriptors back to their count, RSS back near its level."""

    def test_fifty_kills_and_twenty_reloads_leak_nothing(self):
        if os.environ.get("VTW_VALGRIND"):
            self.skipTest("RSS under valgrind says nothing")
        if not os.environ.get("VTW_TEST_HOOKS"):
            self.skipTest("needs a test build (restart backoff cap)")
        r = self.redis()
        g = self.repo({"config/app.yaml": APP_YAML})
        write_hash(r)
        one = self.config(r, hash_rule("one").format(repo=g.path), poll="200ms")
        two = self.config(r, (hash_rule("one") + hash_rule("two")).format(repo=g.path),
                          poll="200ms")
        w = self.watcher(one, env={"VTW_TEST_RESTART_BACKOFF_MAX_MS": "50"})
        w.wait_log(rule_ok("one"), 15)

        def fds():
            return len(os.listdir("/proc/%d/fd" % w.proc.pid))

        def rss_kb():
            with open("/proc/%d/status" % w.proc.pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])

        def redis_worker():
            m = w.find(lambda l: re.match(r"started worker redis \(pid \d+\)",
                                          l.get("msg", "")))
            return int(re.search(r"pid (\d+)", m[-1]["msg"]).group(1))

        def settled():
            mark = w.mark()
            w.wait_log(rule_ok("one"), 20, start=mark)

        # warm up: one kill and one reload before the figures are taken
        for text in (two, one):
            mark = w.mark()
            with open(w.config, "w") as f:
                f.write(text)
            w.proc.send_signal(signal.SIGHUP)
            w.wait_log(lambda l: "configuration reloaded" in l.get("msg", ""), 10,
                       start=mark)
        settled()
        fd0, rss0 = fds(), rss_kb()
        for i in range(50):
            pid, mark = redis_worker(), w.mark()
            os.kill(pid, signal.SIGKILL)
            w.wait_log(lambda l: re.match(r"started worker redis \(pid \d+\)",
                                          l.get("msg", "")), 20, start=mark)
            if i % 10 == 9:
                settled()
        for i in range(20):
            mark = w.mark()
            # every other reload changes the redis datasource: its worker
            # restarts; the others only add and remove a rule
            text = (two if i % 2 == 0 else one)
            if i % 4 == 0:
                text = text.replace("    type: redis\n",
                                    "    type: redis\n    command_timeout: 3s\n")
            with open(w.config, "w") as f:
                f.write(text)
            w.proc.send_signal(signal.SIGHUP)
            w.wait_log(lambda l: "configuration reloaded" in l.get("msg", ""), 10,
                       start=mark)
        with open(w.config, "w") as f:
            f.write(one)
        mark = w.mark()
        w.proc.send_signal(signal.SIGHUP)
        w.wait_log(lambda l: "configuration reloaded" in l.get("msg", ""), 10, start=mark)
        settled()
        settled()
        self.assertEqual(fds(), fd0, os.listdir("/proc/%d/fd" % w.proc.pid))
        # RSS: back within half a megabyte (allocator pages); an ASan
        # build's allocator keeps freed memory in quarantine
        if not sanitized():
            self.assertLess(rss_kb(), rss0 + 512, (rss0, rss_kb()))
        self.assertIsNone(w.proc.poll())
