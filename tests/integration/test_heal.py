"""Self-heal end to end: vartrack-watcher -> vartrack.v1.Watcher/SyncDatasource
on a real gRPC server (tests/integration/orchestrator_peer.py, Debian's
python3-grpcio) that, like the varTrack orchestrator, re-applies the Git
values to a real redis-server (its --on-sync command)."""
import json
import os
import shlex
import subprocess

from harness import WatcherTest, rule_drift, rule_ok, wait_until
from test_redis import APP_YAML, FLAT, PREFIX, hash_rule, write_hash

PEER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "orchestrator_peer.py")
CERTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "certs.sh")


class Peer:
    """orchestrator_peer.py on a free port, stopped by PID."""

    def __init__(self, tmp, mode="ok", on_sync=None, tls=None, name="peer"):
        self.log = os.path.join(tmp, name + ".jsonl")
        args = ["/usr/bin/python3", PEER, "--port", "0", "--mode", mode, "--log", self.log]
        if on_sync:
            args += ["--on-sync", on_sync]
        if tls:
            args += tls
        self.args = args
        self.proc = None
        self.port = None

    def start(self, port=None):
        args = list(self.args)
        if port:
            args[args.index("--port") + 1] = str(port)
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("READY"), line
        self.port = int(line.split()[1])

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    def calls(self, method="SyncDatasource"):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            out = [json.loads(l) for l in f if l.strip()]
        return [c for c in out if c.get("method", "").endswith(method)]


def restore_cmd(redis):
    """What the orchestrator does on SyncDatasource here: HSET the Git values."""
    args = ["redis-cli", "-p", str(redis.port), "HSET", PREFIX + ":vartrack"]
    for k, v in FLAT.items():
        args += [k, v]
    return " ".join(shlex.quote(a) for a in args)


class HealTest(WatcherTest):
    def peer(self, **kw):
        p = Peer(self.tmp, **kw)
        p.start()
        self.cleanups.append(p.stop)
        return p

    def conf(self, redis, peer_port, rules, extra=""):
        text = self.config(redis, rules)
        return text.replace("watcher:\n", "watcher:\n  orchestrator:\n    addr: "
                            "\"127.0.0.1:%d\"\n    heal_timeout: 2s\n%s" % (peer_port, extra))

    def setUp(self):
        super().setUp()
        self.r = self.redis()
        self.g = self.repo({"config/app.yaml": APP_YAML})
        write_hash(self.r)


class Heal(HealTest):
    def test_drift_is_healed_with_exactly_the_five_fields(self):
        p = self.peer(on_sync=restore_cmd(self.r))
        rule = hash_rule("app", "    self_heal: true\n").format(repo=self.g.path)
        w = self.watcher(self.conf(self.r, p.port, rule))
        w.wait_log(rule_ok("app"), 15)
        wait_until(lambda: w.http("/health/readiness")[0] == 200, 10, what="ready")
        mark = w.mark()
        self.r.cli("HSET", PREFIX + ":vartrack", "max_connections", "5")
        w.wait_log(rule_drift("app"), 5, start=mark)
        acc = w.wait_log(lambda l: l.get("result") == "heal_accepted", 5, start=mark)
        self.assertTrue(acc["task_id"])
        calls = wait_until(lambda: p.calls(), 5)
        self.assertEqual(len(calls), 1)
        f = calls[0]["fields"]
        self.assertEqual(set(f), {"datasource", "platform", "tenant", "env", "reason"})
        self.assertEqual((f["datasource"], f["platform"], f["tenant"], f["env"]),
                         ("redis", "local", "acme", "production"))
        self.assertIn("max_connections", f["reason"])
        self.assertNotIn("5", f["reason"].replace("production", ""))  # no values
        w.wait_log(lambda l: l.get("result") == "heal_verified", 5, start=mark)
        w.wait_log(rule_ok("app"), 5, start=mark)
        m = w.metrics()
        self.assertEqual(m['vartrack_watcher_heal_total{datasource="redis"}'], 1)
        self.assertEqual(m['vartrack_watcher_heal_errors_total{datasource="redis"}'], 0)

    def test_self_heal_false_counts_drift_and_calls_nothing(self):
        p = self.peer(on_sync=restore_cmd(self.r))
        rule = hash_rule("app", "    self_heal: false\n").format(repo=self.g.path)
        w = self.watcher(self.conf(self.r, p.port, rule))
        w.wait_log(rule_ok("app"), 15)
        mark = w.mark()
        self.r.cli("HSET", PREFIX + ":vartrack", "max_connections", "5")
        wait_until(lambda: len(w.find(rule_drift("app"), mark)) >= 3, 10)
        self.assertEqual(p.calls(), [])
        self.assertEqual(w.metric('vartrack_watcher_heal_total{datasource="redis"}'), 0)
        self.assertGreaterEqual(w.metric('vartrack_watcher_drift_total{datasource="redis"}'), 3)

    def test_flap_guard_stops_calls_when_something_keeps_rewriting(self):
        # the orchestrator restores the value, a rogue script re-writes it
        sabotage = "%s; sleep 0.1; redis-cli -p %d HSET %s:vartrack max_connections 5" % (
            restore_cmd(self.r), self.r.port, PREFIX)
        p = self.peer(on_sync=sabotage)
        rule = hash_rule("app", "    self_heal: true\n    poll_interval: 500ms\n").format(
            repo=self.g.path)
        w = self.watcher(self.conf(self.r, p.port, rule, "    flap_limit: 3\n"))
        w.wait_log(rule_ok("app"), 15)
        mark = w.mark()
        self.r.cli("HSET", PREFIX + ":vartrack", "max_connections", "5")
        ineff = w.wait_log(lambda l: l.get("result") == "heal_ineffective", 15, start=mark)
        self.assertIn("max_connections", ineff["reason"])
        n = len(p.calls())
        self.assertEqual(n, 3)
        drifts = len(w.find(rule_drift("app"), mark))
        wait_until(lambda: len(w.find(rule_drift("app"), mark)) >= drifts + 4, 10)
        self.assertEqual(len(p.calls()), n, "no calls during the hold-off")
        self.assertEqual(w.metric(
            'vartrack_watcher_heal_ineffective{datasource="redis",rule="app"}'), 1)


class Failures(HealTest):
    FAST = ("    retry_initial: 200ms\n    retry_max: 1s\n    retry_attempts: 3\n"
            "    breaker_failures: 3\n    breaker_open: 2s\n")

    def test_orchestrator_down_breaker_bounds_calls_then_heals_again(self):
        p = Peer(self.tmp, on_sync=restore_cmd(self.r))
        p.start()
        port = p.port
        p.stop()                                   # nobody listens there now
        rule = hash_rule("app", "    self_heal: true\n    poll_interval: 300ms\n").format(
            repo=self.g.path)
        w = self.watcher(self.conf(self.r, port, rule, self.FAST))
        w.wait_log(rule_ok("app"), 15)
        mark = w.mark()
        self.r.cli("HSET", PREFIX + ":vartrack", "max_connections", "5")
        w.wait_log(lambda l: "orchestrator circuit open" in l.get("msg", ""), 10, start=mark)
        opened = w.mark()
        errs0 = w.metric('vartrack_watcher_heal_errors_total{datasource="redis"}')
        self.assertGreaterEqual(errs0, 3)       # 3 failed calls open it
        # a window of 12 more drift polls (300 ms: 3.6 s or more) spans a
        # 2 s open period: only its half-open probes may call
        wait_until(lambda: len(w.find(rule_drift("app"), opened)) >= 12, 20,
                   what="12 drift polls while the orchestrator is down")
        probes = len(w.find(lambda l: l.get("msg") == "orchestrator circuit half-open",
                            opened))
        errs = w.metric('vartrack_watcher_heal_errors_total{datasource="redis"}')
        self.assertGreaterEqual(probes, 1)
        self.assertLessEqual(errs - errs0, probes, "heal calls while the circuit was open")
        code, body = w.http("/health/readiness")
        self.assertEqual(code, 503)
        self.assertIn("orchestrator", body)
        p.start(port)
        self.cleanups.append(p.stop)
        w.wait_log(lambda l: l.get("result") == "heal_accepted", 15, start=mark)
        w.wait_log(rule_ok("app"), 10, start=mark)

    def _status(self, mode, retried):
        p = self.peer(mode=mode)
        rule = hash_rule("app", "    self_heal: true\n    poll_interval: 300ms\n").format(
            repo=self.g.path)
        # a new round of calls only after retry_max (5 s here): any second
        # call before that is a retry
        w = self.watcher(self.conf(self.r, p.port, rule,
                                   self.FAST.replace("retry_max: 1s", "retry_max: 5s")))
        w.wait_log(rule_ok("app"), 15)
        mark = w.mark()
        self.r.cli("HSET", PREFIX + ":vartrack", "max_connections", "5")
        fail = w.wait_log(lambda l: l.get("result") == "heal_failed", 10, start=mark)
        self.assertEqual(fail["retry"], "yes" if retried else "no")
        after = w.mark()
        if retried:
            # retry_initial 200 ms: the next drift poll calls again
            w.wait_log(lambda l: l.get("result") == "heal_call", 5, start=after,
                       what="a retried heal call")
            wait_until(lambda: len(p.calls()) >= 2, 5, what="the peer to see the retry")
        else:
            # three more drift polls decided not to call
            wait_until(lambda: len(w.find(lambda l: l.get("msg") ==
                                          "rule app: no heal call: attempts exhausted",
                                          after)) >= 3, 10,
                       what="three drift polls without a heal call")
            self.assertEqual(w.find(lambda l: l.get("result") == "heal_call", after), [])
            self.assertEqual(len(p.calls()), 1)
        self.assertGreaterEqual(w.metric('vartrack_watcher_heal_errors_total{datasource="redis"}'), 1)
        self.assertEqual(w.metric('vartrack_watcher_heal_total{datasource="redis"}'), 0)

    def test_unavailable_is_retried(self):
        self._status("unavailable", True)

    def test_internal_is_retried(self):
        self._status("internal", True)

    def test_unimplemented_is_not_retried(self):
        self._status("unimplemented", False)

    def test_hang_times_out_and_other_rules_poll_on_time(self):
        p = self.peer(mode="hang")
        rules = (hash_rule("healme", "    self_heal: true\n") +
                 hash_rule("other", "    poll_interval: 200ms\n")).format(repo=self.g.path)
        conf = self.conf(self.r, p.port, rules).replace("heal_timeout: 2s", "heal_timeout: 1500ms")
        w = self.watcher(conf)
        w.wait_log(rule_ok("healme"), 15)
        mark = w.mark()
        self.r.cli("HSET", PREFIX + ":vartrack", "max_connections", "5")
        w.wait_log(lambda l: l.get("result") == "heal_call", 5, start=mark)
        fail = w.wait_log(lambda l: l.get("result") == "heal_failed", 5, start=mark)
        self.assertEqual(fail["grpc_status"], "DEADLINE_EXCEEDED")
        self.assertLess(fail["elapsed_ms"], 2500)
        # during the hang the other rule kept its 200 ms rhythm
        ts = [l["ts"] for l in w.find(lambda l: l.get("rule") == "other" and
                                      l.get("result") in ("ok", "drift"), mark)]
        self.assertGreaterEqual(len(ts), 5)

        def secs(t):
            return int(t[11:13]) * 3600 + int(t[14:16]) * 60 + float(t[17:23])
        gaps = [secs(b) - secs(a) for a, b in zip(ts, ts[1:])]
        self.assertLess(max(gaps), 0.6, gaps)


class Tls(HealTest):
    def certs(self):
        d = os.path.join(self.tmp, "certs")
        subprocess.run(["bash", CERTS, d], check=True, capture_output=True)
        return d

    def _tls(self, client_ca, env_extra, expect_ok):
        d = self.certs()
        tls = ["--tls-cert", d + "/server.pem", "--tls-key", d + "/server.key"]
        if client_ca:
            tls += ["--client-ca", d + "/ca.pem"]
        p = self.peer(on_sync=restore_cmd(self.r), tls=tls)
        env = {k: v.replace("@", d + "/") for k, v in env_extra.items()}
        rule = hash_rule("app", "    self_heal: true\n").format(repo=self.g.path)
        conf = self.conf(self.r, p.port, rule).replace("127.0.0.1:%d" % p.port,
                                                        "localhost:%d" % p.port)
        w = self.watcher(conf, env=env)
        w.wait_log(rule_ok("app"), 15)
        mark = w.mark()
        self.r.cli("HSET", PREFIX + ":vartrack", "max_connections", "5")
        if expect_ok:
            w.wait_log(lambda l: l.get("result") == "heal_accepted", 10, start=mark)
        else:
            f = w.wait_log(lambda l: l.get("result") == "heal_failed", 10, start=mark)
            self.assertRegex(f["error"].lower(), "certificate|ssl|tls")

    def test_tls(self):
        self._tls(False, {"TLS_CA_FILE": "@ca.pem"}, True)

    def test_mtls(self):
        self._tls(True, {"TLS_CA_FILE": "@ca.pem", "TLS_CERT_FILE": "@client.pem",
                         "TLS_KEY_FILE": "@client.key"}, True)

    def test_wrong_ca_is_a_clear_error(self):
        self._tls(False, {"TLS_CA_FILE": "@other-ca.pem"}, False)


class Production(HealTest):
    def test_production_without_tls_refuses_to_start(self):
        from harness import WATCHER
        rule = hash_rule("app", "    self_heal: true\n").format(repo=self.g.path)
        path = os.path.join(self.tmp, "prod.yaml")
        with open(path, "w") as f:
            f.write(self.conf(self.r, 1, rule))
        env = dict(os.environ, APP_ENV="production")
        p = subprocess.run([WATCHER, "-f", path], capture_output=True, text=True, env=env,
                           timeout=10)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("TLS", p.stderr)
        self.assertIn("production", p.stderr)
