"""Git at scale: one fetch per (repository, branch) per interval. Ten rules
read one repository served by a real `git daemon --verbose` (which logs one
"Connection from" line per upload-pack request: a fetch, or a ref-list
check); the watcher's git worker must not make a request per poll."""
import os
import subprocess

from fixtures import APP_YAML
from harness import WatcherTest, free_port, redis_datasource, rule_drift, rule_ok, \
    stop_process, wait_until, watcher_config
from test_redis import hash_rule, write_hash

NRULES = 10


class GitDaemon:
    def __init__(self, base):
        self.base = base
        self.port = free_port()
        self.log = os.path.join(base, "git-daemon.log")
        self.proc = None

    def start(self):
        f = open(self.log, "wb")
        self.proc = subprocess.Popen(
            ["git", "daemon", "--verbose", "--export-all", "--reuseaddr",
             "--listen=127.0.0.1", "--port=%d" % self.port, "--base-path=" + self.base,
             self.base], stdout=f, stderr=subprocess.STDOUT)
        f.close()
        wait_until(lambda: "Ready to rumble" in self.text(), 10, what="git daemon")

    def text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def requests(self):
        return self.text().count("Request upload-pack")

    def stop(self):
        if self.proc:
            stop_process(self.proc)


class GitDaemonTest(WatcherTest):
    """Base: a Redis with the rules' hash, config-repo served by git daemon."""

    def setUp(self):
        super().setUp()
        self.r = self.redis()
        self.g = self.repo({"config/app.yaml": APP_YAML})
        write_hash(self.r)
        self.d = GitDaemon(self.tmp)
        self.d.start()
        self.cleanups.append(self.d.stop)


class SharedFetch(GitDaemonTest):

    def rules(self, extra=""):
        url = "git://127.0.0.1:%d/config-repo" % self.d.port
        return "".join(hash_rule("app%d" % i, extra).format(repo=url) for i in range(NRULES))

    def test_rules_on_one_branch_share_its_fetch(self):
        w = self.watcher(watcher_config(self.tmp, redis_datasource(self.r), self.rules(),
                                        "500ms"))
        mark = w.mark()
        n0 = self.d.requests()
        # every rule polls at least 6 times
        wait_until(lambda: all(len(w.find(rule_ok("app%d" % i), mark)) >= 6
                               for i in range(NRULES)), 30, what="6 polls of each rule")
        polls = len(w.find(lambda l: l.get("result") == "ok", mark))
        reqs = self.d.requests() - n0
        print("\n  %d polls of %d rules, %d upload-pack requests" % (polls, NRULES, reqs))
        # one request per interval of the branch, not one per poll
        self.assertGreaterEqual(polls, 60)
        self.assertLess(reqs, polls / 4, "%d upload-pack requests for %d polls" % (reqs, polls))
        # a push is still seen within about an interval
        mark = w.mark()
        self.g.commit({"config/app.yaml": APP_YAML.replace("50", "60")})
        for i in range(NRULES):
            d = w.wait_log(rule_drift("app%d" % i), 10, start=mark)
            keys = {k["key"]: k for k in d["keys"]}
            self.assertEqual(keys["max_connections"]["expected"], "60")

    def test_git_refresh_interval_stretches_the_window(self):
        w = self.watcher(watcher_config(self.tmp, redis_datasource(self.r),
                                        self.rules("    git_refresh_interval: 1h\n"), "300ms"))
        wait_until(lambda: all(len(w.find(rule_ok("app%d" % i))) >= 5
                               for i in range(NRULES)), 30, what="5 polls of each rule")
        # one fetch at start serves them all for the hour
        self.assertEqual(self.d.requests(), 1, self.d.text())


class RepositoryBreaker(GitDaemonTest):
    """A Git host that refuses connections opens its repository's circuit
    (a datasource's backoff: 3 failures, then 5 s doubling): its rules fail
    fast without asking it, the rules on another repository keep polling."""

    def test_an_unreachable_repository_backs_off_alone(self):
        good = "git://127.0.0.1:%d/config-repo" % self.d.port
        dead_port = free_port()
        dead = "git://127.0.0.1:%d/config-repo" % dead_port
        rules = hash_rule("app").format(repo=good) + hash_rule("down").format(repo=dead)
        w = self.watcher(watcher_config(self.tmp, redis_datasource(self.r), rules, "300ms"))
        name = "127.0.0.1:%d/config-repo" % dead_port
        opened = w.wait_log(lambda l: l.get("msg", "").startswith(
            "git repository %s unreachable: circuit open" % name), 15, what="circuit open")
        self.assertEqual(w.metric('vartrack_watcher_git_circuit_state{repo="%s"}' % name), 1)
        mark = w.mark()
        skipped = w.wait_log(lambda l: l.get("rule") == "down" and "git repository circuit open"
                             in l.get("reason", ""), 5, start=mark, what="a skipped baseline")
        self.assertGreaterEqual(skipped["ts"], opened["ts"])   # ISO 8601, UTC
        errors = w.metric('vartrack_watcher_git_fetch_total{repo="%s",result="error"}' % name)
        self.assertEqual(errors, 3, "the remote is not asked while the circuit is open")
        # the other repository keeps its rhythm
        wait_until(lambda: len(w.find(rule_ok("app"), mark)) >= 5, 10, what="5 more polls of app")
        self.assertEqual(w.metric('vartrack_watcher_git_circuit_state{repo="127.0.0.1:%d/'
                                  'config-repo"}' % self.d.port, -1), 0)
