"""A hung datasource worker (SIGSTOP) and a key of the wrong type (Redis
WRONGTYPE): issue 13 items 2 and 7. Real redis-server, real Git repo."""
import os
import signal
import time

from harness import WatcherTest, redis_datasource, rule_ok, rule_unknown, wait_until
from fixtures import APP_YAML, FLAT
from test_redis import PREFIX, hash_rule, write_hash

# 1 s connect + 1 s command: a poll of the 7 keys waits at most
# 1 + 1 x (4 + 2) + 2 (margin) = 9 s (supervisor/deadline.h)
TIMEOUTS = "    connect_timeout: 1s\n    command_timeout: 1s\n"
BOUND_S = 9
UP = 'vartrack_watcher_worker_up{worker="redis"}'
RESTARTS = 'vartrack_watcher_worker_restarts_total{worker="redis"}'


def not_answering(name):
    return lambda l: (rule_unknown(name)(l) and
                      l.get("reason", "").startswith("worker not answering"))


class HungWorker(WatcherTest):
    def setUp(self):
        super().setUp()
        self.r = self.redis()
        self.g = self.repo({"config/app.yaml": APP_YAML})
        write_hash(self.r)
        cfg = self.config(self.r, hash_rule().format(repo=self.g.path))
        cfg = cfg.replace(redis_datasource(self.r), redis_datasource(self.r, extra=TIMEOUTS))
        self.w = self.watcher(cfg)
        self.w.wait_log(rule_ok("app"), 15, what="first OK poll")
        self.pid = wait_until(lambda: self.w.worker_pid("redis"), 5)

    def _stop_worker(self):
        mark = self.w.mark()
        t0 = time.monotonic()
        os.kill(self.pid, signal.SIGSTOP)
        self.cleanups.append(lambda: os.kill(self.pid, signal.SIGCONT))
        # the next poll (<= 1 s) waits the bound, the tick (1 s) sees it
        u = self.w.wait_log(not_answering("app"), BOUND_S + 6, start=mark,
                            what="unknown: worker not answering")
        took = time.monotonic() - t0
        self.assertLess(took, BOUND_S + 1 + 1 + 1.5, u)
        self.assertEqual(u["stage"], "read")
        # hung: not up, not ready, with the reason
        self.assertEqual(self.w.metric(UP, -1), 0)
        code, body = self.w.http("/health/readiness")
        self.assertEqual(code, 503, body)
        self.assertIn("worker redis is not answering", body)
        return mark

    def test_sigstop_is_unknown_within_the_bound_and_sigcont_recovers(self):
        mark = self._stop_worker()
        os.kill(self.pid, signal.SIGCONT)
        wait_until(lambda: self.w.metric(UP, -1) == 1, 5, what="worker_up 1 again")
        mark2 = self.w.mark()
        self.w.wait_log(rule_ok("app"), 5, start=mark2, what="OK after SIGCONT")
        wait_until(lambda: self.w.http("/health/readiness")[0] == 200, 5,
                   what="ready again")
        # the same worker: it was not restarted, and its late reply was no
        # protocol violation
        self.assertEqual(self.w.worker_pid("redis"), self.pid)
        self.assertEqual(self.w.metric(RESTARTS, -1), 0)
        self.assertEqual(self.w.find(lambda l: "protocol violation" in l.get("msg", ""),
                                     mark), [])
        self.assertEqual(self.w.stop(), 0)

    def test_sigstop_worker_is_killed_and_restarted(self):
        mark = self._stop_worker()
        # polls meanwhile are unknown at once, not queued behind it
        mark2 = self.w.mark()
        self.w.wait_log(lambda l: not_answering("app")(l) and
                        l["reason"] == "worker not answering", 3, start=mark2)
        self.w.wait_log(lambda l: "still not answering" in l.get("msg", ""), 15,
                        start=mark, what="the hung worker killed")
        wait_until(lambda: self.w.worker_pid("redis") not in (None, self.pid), 10,
                   what="a new redis worker")
        mark3 = self.w.mark()
        self.w.wait_log(rule_ok("app"), 10, start=mark3, what="OK after the restart")
        wait_until(lambda: self.w.metric(UP, -1) == 1, 5)
        wait_until(lambda: self.w.http("/health/readiness")[0] == 200, 5)
        self.assertEqual(self.w.metric(RESTARTS, -1), 1)
        self.assertEqual(self.w.stop(), 0)


class WrongType(WatcherTest):
    def test_wrongtype_is_the_rules_unknown_not_a_datasource_outage(self):
        r = self.redis()
        g = self.repo({"config/app.yaml": APP_YAML})
        write_hash(r)
        r.pipe([["HSET", PREFIX + ":other"] + [x for kv in FLAT.items() for x in kv]])
        # a second rule on the same datasource, its own hash
        rules = (hash_rule().format(repo=g.path) +
                 hash_rule("other", "    redis_hash_key: other\n").format(repo=g.path))
        ds = redis_datasource(r, extra="    breaker_failures: 1\n")
        w = self.watcher(self.config(r, rules).replace(redis_datasource(r), ds))
        w.wait_log(rule_ok("app"), 15, what="first OK poll of app")
        w.wait_log(rule_ok("other"), 15, what="first OK poll of other")
        mark = w.mark()
        # somebody replaces the rule's hash by a string
        r.pipe([["DEL", PREFIX + ":vartrack"], ["SET", PREFIX + ":vartrack", "oops"]])
        key = PREFIX + ":vartrack"

        def wrongtype(l):
            return rule_unknown("app")(l) and l.get("reason") == (
                "key %s holds a string, rule expects a hash" % key)
        wait_until(lambda: len(w.find(wrongtype, mark)) >= 3, 15,
                   what="three polls of app unknown naming the key")
        # the other rule of that datasource keeps being polled and is OK
        wait_until(lambda: len(w.find(rule_ok("other"), mark)) >= 3, 10)
        after = w.logs()[mark:]
        self.assertEqual([l for l in after if "unreachable" in l.get("msg", "") or
                          l.get("circuit") == "open"], [])
        self.assertEqual([l for l in after if rule_unknown("other")(l)], [])
        self.assertEqual(w.metric('vartrack_watcher_datasource_circuit_state'
                                  '{datasource="redis"}', -1), 0)
        # the hash back: app is OK again
        r.pipe([["DEL", key]])
        write_hash(r)
        mark2 = w.mark()
        w.wait_log(rule_ok("app"), 10, start=mark2, what="OK once the hash is back")
        self.assertEqual(w.stop(), 0)


def no_outage(test, w, mark, ds):
    after = w.logs()[mark:]
    test.assertEqual([l for l in after if "unreachable" in l.get("msg", "") or
                      l.get("circuit") == "open"], [])
    test.assertEqual(w.metric('vartrack_watcher_datasource_circuit_state'
                              '{datasource="%s"}' % ds, -1), 0)


class MongoWrongShape(WatcherTest):
    def test_file_document_whose_data_is_not_a_document(self):
        from test_mongo import mongo_config, write_file_document
        m = self.mongo()
        coll = m.client().vartrack.configs
        g = self.repo({"config/app.yaml": APP_YAML})
        write_file_document(coll, "config/app.yaml", FLAT)
        rule = """  - name: files
    platform: local
    datasource: mongo
    repo_url: %s
    branch: main
    file_name: config/app.yaml
    tenant_id: acme
    env: production
    mongo_strategy: file
""" % g.path
        w = self.watcher(mongo_config(self, m, rule, ds_extra="    breaker_failures: 1\n"))
        w.wait_log(rule_ok("files"), 60, what="first OK poll")
        mark = w.mark()
        write_file_document(coll, "config/app.yaml", "oops")

        def wrongshape(l):
            return rule_unknown("files")(l) and l.get("stage") == "data" and l.get(
                "reason") == ("the document of file config/app.yaml in configs: data "
                              "holds a string, rule expects a document")
        wait_until(lambda: len(w.find(wrongshape, mark)) >= 3, 15,
                   what="three polls unknown naming the document")
        no_outage(self, w, mark, "mongo")
        mark2 = w.mark()
        write_file_document(coll, "config/app.yaml", FLAT)
        w.wait_log(rule_ok("files"), 10, start=mark2, what="OK once data is back")
        self.assertEqual(w.stop(), 0)


class TestkvMalformed(WatcherTest):
    def test_malformed_file_is_a_data_error(self):
        from test_testkv import netstrings
        d = os.path.join(self.tmp, "kv")
        os.makedirs(d)
        os.chmod(d, 0o755)
        path = os.path.join(d, "acme.production.kv")

        def write(data):
            with open(path + ".tmp", "wb") as f:
                f.write(data)
            os.chmod(path + ".tmp", 0o644)
            os.replace(path + ".tmp", path)
        write(netstrings(FLAT))
        g = self.repo({"config/app.yaml": APP_YAML})
        ds = "  - name: testkv\n    type: testkv\n    dir: %s\n    breaker_failures: 1\n" % d
        rule = ("  - name: kv\n    platform: local\n    datasource: testkv\n"
                "    repo_url: %s\n    file_name: config/app.yaml\n"
                "    tenant_id: acme\n    env: production\n" % g.path)
        from harness import watcher_config
        w = self.watcher(watcher_config(self.tmp, ds, rule))
        w.wait_log(rule_ok("kv"), 15, what="first OK poll")
        mark = w.mark()
        write(b"3:abc,oops")
        wait_until(lambda: len(w.find(lambda l: rule_unknown("kv")(l) and
                                      l.get("stage") == "data" and
                                      "malformed pair at byte 6" in l.get("reason", ""),
                                      mark)) >= 3, 15, what="three data-error polls")
        no_outage(self, w, mark, "testkv")
        self.assertEqual(w.stop(), 0)
