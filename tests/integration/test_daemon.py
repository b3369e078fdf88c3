"""Operator-facing daemon behaviour: SIGHUP reload, environment overrides,
per-rule poll intervals (real redis-server and git, see harness.py)."""
import os
import signal
import subprocess

from harness import WATCHER, WatcherTest, rule_ok, wait_until
from test_redis import APP_YAML, hash_rule, write_hash


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
