"""Operator-facing daemon behaviour: SIGHUP reload, environment overrides,
per-rule poll intervals (real redis-server and git, see harness.py)."""
import signal

from harness import WatcherTest, rule_ok, wait_until
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
