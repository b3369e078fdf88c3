"""Git at scale: one fetch per (repository, branch) per interval. Ten rules
read one repository served by a real `git daemon --verbose` (which logs one
"Connection from" line per upload-pack request: a fetch, or a ref-list
check); the watcher's git worker must not make a request per poll. It
fetches in parallel (watcher.git.max_parallel_fetches), each fetch bounded by
watcher.git.fetch_timeout: a slow or hung remote delays only its own rules."""
import datetime
import os
import socket
import subprocess
import threading

from fixtures import APP_YAML
from harness import WatcherTest, free_port, redis_datasource, rule_drift, rule_ok, \
    stop_process, wait_until, watcher_config
from test_redis import hash_rule, write_hash

NRULES = 10


class GitDaemon:
    def __init__(self, base, extra=()):
        self.base = base
        self.extra = list(extra)
        self.port = free_port()
        self.log = os.path.join(base, "git-daemon.log")
        self.proc = None

    def start(self):
        f = open(self.log, "wb")
        self.proc = subprocess.Popen(
            ["git", "daemon", "--verbose", "--export-all", "--reuseaddr",
             "--listen=127.0.0.1", "--port=%d" % self.port, "--base-path=" + self.base] +
            self.extra + [self.base], stdout=f, stderr=subprocess.STDOUT)
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


def ts(line):
    return datetime.datetime.strptime(line["ts"], "%Y-%m-%dT%H:%M:%S.%fZ")


def git_conf(config, max_parallel=None, timeout=None):
    """config with a watcher.git section."""
    keys = "".join("    %s: %s\n" % kv for kv in (("max_parallel_fetches", max_parallel),
                                                  ("fetch_timeout", timeout)) if kv[1])
    return config.replace("  cache_dir:", "  git:\n" + keys + "  cache_dir:", 1)


def polls(w, name, start=0):
    """The poll results (ok, drift, unknown) of a rule, in order."""
    return w.find(lambda l: l.get("rule") == name and l.get("result") in
                  ("ok", "drift", "unknown"), start)


def took(line):
    """A poll's duration in seconds."""
    return line["duration_us"] / 1e6 if "duration_us" in line else 0.0


def started(line):
    """When a poll started: its result's ts less its duration."""
    return ts(line) - datetime.timedelta(seconds=took(line))


def max_gap(lines, when=ts):
    """The longest time between two lines (infinite with fewer than two)."""
    return max(((when(b) - when(a)).total_seconds() for a, b in zip(lines, lines[1:])),
               default=float("inf"))


NREPOS = 10
SLOW_S = 5


class ParallelFetch(WatcherTest):
    """Ten repositories on one `git daemon`; its access hook (run before
    each request) holds every request for repo-slow 5 s. The git worker
    fetches in parallel, one request per repository at a time: the nine
    other repositories' rules keep polling every interval."""

    def setUp(self):
        super().setUp()
        self.r = self.redis()
        write_hash(self.r)
        for i in range(NREPOS):
            self.repo({"config/app.yaml": APP_YAML}, name=self.name_of(i))
        hook = os.path.join(self.tmp, "access-hook")
        with open(hook, "w") as f:
            # argv: service, repository path, host, ...
            f.write("#!/bin/sh\ncase \"$2\" in */repo-slow*) sleep %d;; esac\nexit 0\n"
                    % SLOW_S)
        os.chmod(hook, 0o755)
        self.d = GitDaemon(self.tmp, ["--access-hook=" + hook])
        self.d.start()
        self.cleanups.append(self.d.stop)

    @staticmethod
    def name_of(i):
        return "repo-slow" if i == 0 else "repo-%d" % i

    def config(self, max_parallel):
        rules = "".join(hash_rule("app%d" % i).format(
            repo="git://127.0.0.1:%d/%s" % (self.d.port, self.name_of(i)))
            for i in range(NREPOS))
        return git_conf(watcher_config(self.tmp, redis_datasource(self.r), rules, "1s"),
                        max_parallel=max_parallel)

    def run_rules(self, max_parallel):
        """The slow rule's polls, and each other rule's over a window that
        holds one whole delayed request of repo-slow."""
        w = self.watcher(self.config(max_parallel))
        # the first fetch of every repository (repo-slow's is delayed too)
        wait_until(lambda: all(polls(w, "app%d" % i) for i in range(NREPOS)), 20,
                   what="a first poll of every rule")
        mark = w.mark()
        # the slow rule's next poll: a ref-list request, delayed
        wait_until(lambda: polls(w, "app0", mark), 2 * SLOW_S + 5,
                   what="a second poll of the slow repository's rule")
        return [polls(w, "app0")] + [polls(w, "app%d" % i, mark) for i in range(1, NREPOS)]

    def test_a_slow_repository_delays_only_its_rules(self):
        res = self.run_rules(None)      # the default: 4
        slow = max_gap(res[0])
        fast = res[1:]
        print("\n  slow repository: %.2f s between polls; the nine others: %s polls, at "
              "most %.2f s between poll starts, %.2f s between results, polls of at most "
              "%.3f s" % (slow, sorted({len(r) for r in fast}),
                          max(max_gap(r, started) for r in fast), max(max_gap(r) for r in fast),
                          max(took(l) for r in fast for l in r)))
        self.assertGreaterEqual(slow, SLOW_S - 0.5, "the access hook delays repo-slow")
        for r in fast:
            name = r[0]["rule"] if r else "?"
            # the window is a little over 5 s (repo-slow's request)
            self.assertGreaterEqual(len(r), SLOW_S - 1, "%s: %d polls" % (name, len(r)))
            self.assertTrue(all(l["result"] == "ok" for l in r), r)
            # every poll on time: started 1 s after the one before (each
            # poll's start is its result's ts less its duration), and done
            # before the next one is due (a poll waiting for repo-slow would
            # take 5 s, and the next would start that late)
            when = [(l["ts"], took(l)) for l in r]
            self.assertLess(max_gap(r, started), 1.5, "%s: polls %s" % (name, when))
            self.assertLess(max(took(l) for l in r), 1.0, "%s: polls %s" % (name, when))


class HungRemote(GitDaemonTest):
    """A Git server that accepts connections and never answers: each fetch
    gives up at watcher.git.fetch_timeout (counted as result="timeout"),
    the rules on it are unknown, its circuit opens after 3; a rule on
    another repository keeps polling on time."""

    def setUp(self):
        super().setUp()
        self.hung = socket.socket()
        self.hung.bind(("127.0.0.1", 0))
        self.hung.listen(16)
        self.held = []
        self.cleanups.append(self.stop_hung)
        t = threading.Thread(target=self.accept, daemon=True)
        t.start()

    def accept(self):
        while True:
            try:
                c, _ = self.hung.accept()
            except OSError:
                return
            self.held.append(c)     # never answered

    def stop_hung(self):
        self.hung.close()
        for c in self.held:
            c.close()

    def test_a_hung_remote_times_out_alone(self):
        good = "git://127.0.0.1:%d/config-repo" % self.d.port
        port = self.hung.getsockname()[1]
        dead = "git://127.0.0.1:%d/config-repo" % port
        name = "127.0.0.1:%d/config-repo" % port
        rules = (hash_rule("app").format(repo=good) + hash_rule("hung1").format(repo=dead) +
                 hash_rule("hung2").format(repo=dead))
        w = self.watcher(git_conf(watcher_config(self.tmp, redis_datasource(self.r), rules,
                                                 "500ms"), timeout="1s"))
        for rule in ("hung1", "hung2"):
            u = w.wait_log(lambda l: l.get("rule") == rule and l.get("result") == "unknown",
                           10, what="%s unknown" % rule)
            self.assertIn("no answer from the remote within 1000 ms", u["reason"])
        opened = w.wait_log(lambda l: l.get("msg", "").startswith(
            "git repository %s unreachable: circuit open" % name), 15, what="circuit open")
        timeouts = 'vartrack_watcher_git_fetch_total{repo="%s",result="timeout"}' % name
        n = w.metric(timeouts)
        self.assertGreaterEqual(n, 3)
        self.assertEqual(w.metric('vartrack_watcher_git_circuit_state{repo="%s"}' % name), 1)
        mark = w.mark()
        w.wait_log(lambda l: l.get("rule") == "hung1" and "git repository circuit open"
                   in l.get("reason", ""), 5, start=mark, what="a skipped baseline")
        self.assertEqual(w.metric(timeouts), n, "not asked while the circuit is open")
        # the other repository kept its rhythm all along
        after = w.wait_log(lambda l: l.get("rule") == "app" and "result" in l and
                           ts(l) > ts(opened), 5, what="a poll of app after the circuit opened")
        app = polls(w, "app")
        self.assertTrue(all(l["result"] == "ok" for l in app), app)
        self.assertIn(after, app)
        self.assertLess(max_gap(app, started), 0.75, [(l["ts"], took(l)) for l in app])
        self.assertLess(max(took(l) for l in app), 0.5, [(l["ts"], took(l)) for l in app])
