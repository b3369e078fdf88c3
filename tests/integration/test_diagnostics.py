"""Operator-facing diagnostics (issue 13, item 10): command-line options,
-n output, start-up failures, metrics and messages that name the cause."""
import os
import signal
import socket
import subprocess

from harness import (WATCHER, WatcherTest, redis_datasource, rule_drift, rule_ok,
                     rule_unknown, wait_until, watcher_config)
from test_heal import CERTS, HealTest, restore_cmd
from test_redis import APP_YAML, PREFIX, hash_rule, write_hash

CHECK_YAML = """watcher:
  poll_interval: 1s
  cache_dir: %s/cache
platforms:
  - name: gh
    type: github
datasources:
  - name: redis
    type: redis
    hosts: ["127.0.0.1:6399"]
    password: hunter2
rules:
  - name: app
    platform: gh
    datasource: redis
    repo_url: https://github.com/acme/config
    file_name: config/app.yaml
    tenant_id: acme
    env: production
    redis_data_structure: Set
"""


class CommandLine(WatcherTest):
    def test_long_help_and_version_exit_0(self):
        for opt, want in (("--help", "usage: vartrack-watcher"),
                          ("--version", "vartrack-watcher ")):
            p = subprocess.run([WATCHER, opt], capture_output=True, text=True, timeout=10)
            self.assertEqual(p.returncode, 0, opt + ": " + p.stderr)
            self.assertTrue(p.stdout.startswith(want), opt + ": " + p.stdout)

    def test_check_labels_messages_in_file_order_and_counts_warnings(self):
        path = os.path.join(self.tmp, "w.yaml")
        with open(path, "w") as f:
            f.write(CHECK_YAML % self.tmp)
        p = subprocess.run([WATCHER, "-n", "-f", path], capture_output=True, text=True,
                           timeout=10)
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stderr.splitlines()
        self.assertEqual(len(lines), 4, p.stderr)
        self.assertTrue(lines[0].startswith(path + ":5:5: warning: platform 'gh' has no token"),
                        p.stderr)
        self.assertTrue(lines[1].startswith(path + ":11:15: warning: literal secret"), p.stderr)
        self.assertTrue(lines[2].startswith(path + ":20:27: info: redis_data_structure 'Set'"),
                        p.stderr)
        self.assertTrue(lines[3].endswith(", 2 warnings"), p.stderr)


class StartFailure(WatcherTest):
    def _start_on_a_busy_port(self):
        self.run = os.path.join(self.tmp, "run")
        os.mkdir(self.run)
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        self.cleanups.append(busy.close)
        self.addr = "127.0.0.1:%d" % busy.getsockname()[1]
        path = os.path.join(self.tmp, "w.yaml")
        with open(path, "w") as f:
            f.write(watcher_config(self.tmp, "  - name: redis\n    type: redis\n"
                                   "    hosts: [\"127.0.0.1:1\"]\n",
                                   hash_rule().format(repo=self.tmp)))
        env = dict(os.environ, ADMIN_ADDR=self.addr, RUNTIME_DIRECTORY=self.run)
        p = subprocess.run([WATCHER, "-f", path], capture_output=True, text=True, env=env,
                           timeout=20)
        self.assertEqual(p.returncode, 1, p.stderr)
        return p

    def test_listen_failure_names_the_reason(self):
        p = self._start_on_a_busy_port()
        self.assertIn("cannot listen on %s: Address already in use" % self.addr, p.stderr)

    def test_failed_start_leaves_no_run_dir(self):
        self._start_on_a_busy_port()
        self.assertEqual(os.listdir(self.run), [], "the run directory is removed")


class Metrics(WatcherTest):
    def test_no_orchestrator_circuit_without_self_heal(self):
        r = self.redis()
        g = self.repo({"config/app.yaml": APP_YAML})
        write_hash(r)
        w = self.watcher(self.config(r, hash_rule().format(repo=g.path)))
        w.wait_log(rule_ok("app"), 15)
        code, body = w.http("/metrics")
        self.assertEqual(code, 200)
        self.assertIn("vartrack_watcher_heal_total", body)
        self.assertNotRegex(body, r"(?m)^vartrack_watcher_orchestrator_circuit_state")
        self.assertNotRegex(body, r"(?m)^vartrack_watcher_orchestrator_up")


class HealErrors(HealTest):
    FAST = ("    retry_initial: 200ms\n    retry_max: 5s\n    retry_attempts: 3\n")

    def _drift_and_fail(self, peer_port, env=None):
        rule = hash_rule("app", "    self_heal: true\n    poll_interval: 300ms\n").format(
            repo=self.g.path)
        w = self.watcher(self.conf(self.r, peer_port, rule, self.FAST), env=env)
        w.wait_log(rule_ok("app"), 15)
        mark = w.mark()
        self.r.cli("HSET", PREFIX + ":vartrack", "max_connections", "5")
        return w, w.wait_log(lambda l: l.get("result") == "heal_failed", 10, start=mark)

    def test_reply_that_does_not_decode_is_internal_and_retried(self):
        p = self.peer(mode="garbage")
        w, fail = self._drift_and_fail(p.port)
        self.assertEqual((fail["grpc_status"], fail["retry"]), ("INTERNAL", "yes"), fail)
        wait_until(lambda: len(p.calls()) >= 2, 5, what="the peer to see the retry")

    def test_plaintext_client_on_a_tls_port_gets_a_hint(self):
        d = os.path.join(self.tmp, "certs")
        subprocess.run(["bash", CERTS, d], check=True, capture_output=True)
        p = self.peer(on_sync=restore_cmd(self.r),
                      tls=["--tls-cert", d + "/server.pem", "--tls-key", d + "/server.key"])
        w, fail = self._drift_and_fail(p.port)
        self.assertIn("the server may want TLS", fail["error"])


class RedisMessages(WatcherTest):
    def setUp(self):
        super().setUp()
        self.r = self.redis()
        self.g = self.repo({"config/app.yaml": APP_YAML})
        write_hash(self.r)

    def freeze(self):
        os.kill(self.r.proc.pid, signal.SIGSTOP)
        self.cleanups.append(lambda: os.kill(self.r.proc.pid, signal.SIGCONT))

    def conf(self):
        ds = redis_datasource(self.r, extra="    connect_timeout: 300ms\n"
                              "    command_timeout: 400ms\n")
        return watcher_config(self.tmp, ds, hash_rule().format(repo=self.g.path))

    def test_an_invalid_utf8_byte_prints_alike_in_keys_and_values(self):
        # real bytes (a Python str would reach Redis as UTF-8: "\xff" is
        # then the valid "\u00ff", printed as the letter it is)
        self.r.pipe([["HSET", PREFIX + ":vartrack", b"bad\xffkey", b"x",
                      "max_connections", b"5\xff"]])
        w = self.watcher(self.conf())
        d = w.wait_log(rule_drift("app"), 15)
        keys = {k["key"]: k for k in d["keys"]}
        self.assertIn("bad\\xffkey", keys, d)
        self.assertEqual(keys["max_connections"]["actual"], "5\\xff")
        self.assertNotIn("\u00ff", "".join(w.raw))

    def test_frozen_server_times_out_and_is_never_connected(self):
        # a stopped redis-server still accepts TCP in the kernel backlog
        self.freeze()
        w = self.watcher(self.conf())
        u = w.wait_log(rule_unknown("app"), 15, what="an unknown poll")
        self.assertEqual(w.find(lambda l: l.get("proc") == "worker/redis" and
                                "connected" in l.get("msg", "")), [])
        self.assertIn("PING: timeout after 400 ms", u["msg"], u)
        # thawed: connected, then OK
        mark = w.mark()
        os.kill(self.r.proc.pid, signal.SIGCONT)
        w.wait_log(rule_ok("app"), 15, start=mark)
        w.wait_log(lambda l: l.get("proc") == "worker/redis" and
                   l.get("msg", "").startswith("connected to"), 5, start=mark)

    def test_read_timeout_says_timeout(self):
        w = self.watcher(self.conf())
        w.wait_log(rule_ok("app"), 15)
        mark = w.mark()
        self.freeze()
        u = w.wait_log(rule_unknown("app"), 15, start=mark, what="an unknown poll")
        text = u.get("error", "") + u.get("msg", "")
        self.assertIn("timeout after 400 ms", text, u)
        self.assertNotIn("Resource temporarily unavailable", text)

    def test_extras_at_the_cap_say_at_least(self):
        w = self.watcher(self.config(self.r, hash_rule().format(repo=self.g.path)))
        w.wait_log(rule_ok("app"), 15)
        mark = w.mark()
        cmd = ["HSET", PREFIX + ":vartrack"]
        for i in range(100005):
            cmd += ["x%d" % i, "v"]
        self.r.pipe([cmd])
        d = w.wait_log(lambda l: l.get("result") == "drift", 30, start=mark)
        self.assertEqual(d["extra"], 100000)
        self.assertIn("at least 100000 extra", d["msg"])

    def test_url_userinfo_is_redacted_whatever_the_key(self):
        w = self.watcher(self.config(self.r, hash_rule().format(repo=self.g.path)))
        w.wait_log(rule_ok("app"), 15)
        mark = w.mark()
        self.r.cli("HSET", PREFIX + ":vartrack", "db.dsn", "postgres://user:pw@host/db")
        d = w.wait_log(lambda l: l.get("result") == "drift", 10, start=mark)
        self.assertEqual([(k["key"], k["actual"]) for k in d["keys"]],
                         [("db.dsn", "postgres://<redacted>@host/db")])
        self.assertFalse([l for l in w.raw if "user:pw" in l])

    def test_worker_messages_name_the_rule(self):
        w = self.watcher(self.conf())
        w.wait_log(rule_ok("app"), 15)
        mark = w.mark()
        self.freeze()
        l = w.wait_log(lambda l: l.get("proc") == "worker/redis" and
                       "read failed" in l.get("msg", ""), 15, start=mark)
        self.assertTrue(l["msg"].startswith("rule app: read failed: "), l)
