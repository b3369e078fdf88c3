"""Nothing a worker sends may crash the supervisor: a misbehaving worker
(tests/integration/fake_worker.c, built as vtw-fake-worker) stands in for the
redis worker; the supervisor must log the violation, kill and restart it, and
keep serving (real git worker, real redis-server)."""
import json
import os

from harness import BIN, WatcherTest, wait_until
from test_redis import APP_YAML, hash_rule, write_hash


class MisbehavingWorker(WatcherTest):
    def fake_watcher(self, mode, rules=None):
        r = self.redis()
        g = self.repo({"config/app.yaml": APP_YAML})
        write_hash(r)
        wdir = os.path.join(self.tmp, "workers")
        os.makedirs(wdir)
        os.symlink(os.path.join(BIN, "vartrack-worker-git"),
                   os.path.join(wdir, "vartrack-worker-git"))
        os.symlink(os.path.join(BIN, "vtw-fake-worker"),
                   os.path.join(wdir, "vartrack-worker-redis"))
        conf = self.config(r, (rules or hash_rule()).format(repo=g.path)).replace(
            "watcher:\n", "watcher:\n  worker_dir: %s\n" % wdir)
        return self.watcher(conf, env={"VTW_FAKE_MODE": mode})

    def run_mode(self, mode):
        w = self.fake_watcher(mode)
        w.wait_log(lambda l: "protocol violation" in l.get("msg", ""), 15,
                   what="a protocol violation for mode " + mode)
        wait_until(lambda: w.metric(
            'vartrack_watcher_worker_restarts_total{worker="redis"}') >= 1, 10,
            what="the fake worker to be restarted")
        self.assertEqual(w.http("/health/liveness")[0], 200)
        # while the worker waits for its restart (500 ms, then 1 s, 2 s ...
        # -+20 %) the daemon is alive but not ready, and says which worker:
        # asked right after the next restart 800 ms or more away is announced
        mark = w.mark()
        w.wait_log(lambda l: l.get("msg", "").startswith("worker redis restarts in ") and
                   int(l["msg"].split()[4]) >= 800, 15, start=mark,
                   what="a restart 800 ms or more away")
        code, body = w.http("/health/readiness")
        self.assertEqual(code, 503, body)
        self.assertEqual(json.loads(body),
                         {"status": "NOT_READY", "detail": "worker redis is not running"})
        self.assertIsNone(w.proc.poll(), "supervisor died")

    def test_garbage_instead_of_hello(self):
        self.run_mode("garbage")

    def test_hello_of_the_wrong_kind(self):
        self.run_mode("bad-hello")

    def test_unsolicited_reply(self):
        self.run_mode("unsolicited")

    def test_reply_with_keys_not_asked_for(self):
        self.run_mode("wrong-keys")

    def test_a_missing_reply_is_that_rules_unknown_only(self):
        # the worker never answers rule 0 (issue 13 item 1: the git worker
        # sent nothing for a baseline it could not send): rule 1's replies
        # are not unsolicited, rule 0 is unknown, nobody is restarted
        w = self.fake_watcher("skip-rule-0", hash_rule("zero") + hash_rule(
            "one").replace("env: production", "env: staging"))
        u = w.wait_log(lambda l: l.get("result") == "unknown" and
                       l.get("rule") == "zero", 15, what="rule zero unknown")
        self.assertEqual(u["stage"], "read")
        self.assertEqual(u["reason"],
                         "the datasource worker sent no reply to its request")
        mark = w.mark()
        wait_until(lambda: len(w.find(lambda l: l.get("result") == "drift" and
                                      l.get("rule") == "one", mark)) >= 3, 15,
                   what="rule one polling on")
        self.assertEqual(w.find(lambda l: "violation" in l.get("msg", "")), [])
        self.assertEqual(w.metric(
            'vartrack_watcher_worker_restarts_total{worker="redis"}'), 0)
