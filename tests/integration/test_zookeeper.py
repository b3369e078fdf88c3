"""End-to-end tests: vartrack-watcher + its git and zookeeper workers against a
real ZooKeeper 3.8 server (Debian's zookeeper package, harness.ZooKeeper) and
real Git repositories.

The znodes are written the way the orchestrator's zookeeper sink writes them
(interop §3.3): root = zk_base_path + template (default /{tenant}/{env});
key_format slash nests (db.host -> {root}/db/host, intermediate znodes with
empty data), slash_dot is flat (db.host -> {root}/db.host); the labels JSON in
{root}/__vartrack__.

Run with /usr/bin/python3 (python3-kazoo)."""
import json
import os
import shutil
import signal
import time
import unittest

import conformance
from harness import (WatcherTest, rule_drift, rule_ok, rule_unknown, wait_until,
                     watcher_config)
from fixtures import APP_YAML, FLAT

ROOT = "/acme/production"

LABELS = json.dumps({
    "app.kubernetes.io/managed-by": "vartrack",
    "vartrack.io/datasource": "zookeeper",
    "vartrack.io/env": "production",
    "vartrack.io/source-branch": "main",
    "vartrack.io/source-commit": "093ba4721569",
    "vartrack.io/source-repo": "repo",
    "vartrack.io/sync-file": "config/app.yaml",
    "vartrack.io/tenant": "default",
}, sort_keys=True)


def znode(root, key, fmt):
    """The znode the orchestrator writes key to."""
    if fmt == "slash_dot":
        return root + "/" + key
    return root + "/" + key.replace(".", "/")


def write_tree(zk, flat=FLAT, root=ROOT, fmt="slash"):
    """Like the sink: ensure_path(root), the meta znode, then every key
    (set, else create with makepath: intermediate znodes get empty data)."""
    zk.set(root, b"")
    zk.set(root + "/__vartrack__", LABELS)
    for k, v in flat.items():
        zk.set(znode(root, k, fmt), v)


def rule(name="app", fmt="slash", extra=""):
    return """  - name: %s
    platform: local
    datasource: zk
    repo_url: {repo}
    branch: main
    file_name: config/app.yaml
    tenant_id: acme
    env: production
    key_format: %s
%s""" % (name, fmt, extra)


def zk_datasource(hosts, extra=""):
    return """  - name: zk
    type: zookeeper
    hosts: ["%s"]
    connect_timeout: 1s
    command_timeout: 2s
    session_timeout: 4s
%s""" % (hosts, extra)


def zk_config(tmp, zk, rules, poll="1s", ds_extra=""):
    return watcher_config(tmp, zk_datasource(zk.hosts, ds_extra), rules, poll)


class ZkKind(conformance.Kind):
    """The conformance adapter: key_format slash under /acme/production
    (intermediate znodes with empty data, the __vartrack__ labels znode),
    as the orchestrator's sink writes it. Its no-false-drift scenario also
    shows that the marker and the empty intermediates are not extras."""
    name = "zookeeper"
    datasource = "zk"
    # the default jute.maxbuffer is 1 MiB (0xfffff bytes): the biggest
    # value is just under it, 4x the 256 KiB the worker sends whole
    big_value_bytes = 1024 * 1024 - 1024
    # the server keeps its data directory over a restart, but the client
    # may need a new session
    reconnect_s = 6.0

    def start(self):
        self.z = self.test.zookeeper()

    def stop(self):
        self.z.stop()

    def restart(self):
        self.z.start()

    def write_baseline(self, flat):
        write_tree(self.z, flat)

    def set_value(self, key, value):
        self.z.set(znode(ROOT, key, "slash"), value)

    add_extra = set_value

    def delete(self, key):
        self.z.delete(znode(ROOT, key, "slash"))

    def datasource_yaml(self, extra=""):
        return zk_datasource(self.z.hosts, extra)

    def rule_yaml(self, name, repo, extra=""):
        return rule(name, "slash", extra).replace("{repo}", repo)

    def key_name(self, key):
        return key[1:].replace("/", ".")


class Conformance(conformance.Suite, WatcherTest):
    kind = ZkKind


class ZkTest(WatcherTest):
    fmt = "slash"

    def start(self, rules=None, poll="1s", ds_extra="", flat=FLAT, root=ROOT,
              write=True, env=None):
        self.z = self.zookeeper()
        self.g = self.repo({"config/app.yaml": APP_YAML})
        if write:
            write_tree(self.z, flat, root, self.fmt)
        if rules is None:
            rules = rule(fmt=self.fmt)
        self.w = self.watcher(zk_config(self.tmp, self.z, rules.replace("{repo}", self.g.path),
                                        poll, ds_extra), env=env)

    def keys_of(self, d):
        """Drift keys, shown in the key format ("/db/host", ".db.host"), by
        their dotted name."""
        out = {}
        for k in d["keys"]:
            name = k["key"]
            if self.fmt == "slash":
                name = name[1:].replace("/", ".")
            else:
                name = name[1:]
            out[name] = k
        return out


class SlashLayout(ZkTest):
    fmt = "slash"

    def setUp(self):
        super().setUp()
        self.start()
        self.ok = self.w.wait_log(rule_ok("app"), 20, what="first OK poll")

    def test_ok_poll_reports_marker_and_target(self):
        self.assertEqual(self.ok["datasource"], "zk")
        self.assertEqual(self.ok["target"], ROOT)
        self.assertEqual(self.ok["key_count"], len(FLAT))

    def test_nested_extras(self):
        # (changed, missing, flat extras: test_zookeeper.Conformance)
        mark = self.w.mark()
        self.z.set(ROOT + "/rogue/deep", "1")      # nested extra
        self.z.set(ROOT + "/database/port", "5432")  # extra beside Git's keys
        d = self.w.wait_log(lambda l: rule_drift("app")(l) and l["extra"] == 2, 10,
                            start=mark, what="drift line")
        self.assertEqual((d["changed"], d["missing"], d["extra"]), (0, 0, 2))
        keys = self.keys_of(d)
        self.assertEqual(keys["rogue.deep"]["change"], "extra")
        self.assertEqual(keys["rogue.deep"]["actual"], "1")
        self.assertEqual(keys["database.port"]["change"], "extra")
        self.assertEqual(keys["database.port"]["actual"], "5432")

    def test_value_in_an_intermediate_znode_is_extra(self):
        mark = self.w.mark()
        self.z.set(ROOT + "/database", "surprise")
        d = self.w.wait_log(rule_drift("app"), 10, start=mark)
        keys = self.keys_of(d)
        self.assertEqual(keys["database"]["change"], "extra")
        self.assertEqual(keys["database"]["actual"], "surprise")

    def test_root_deleted_is_all_missing_not_unknown(self):
        mark = self.w.mark()
        self.z.delete(ROOT)
        # a recursive delete removes one znode after the other, and watches
        # fire on the first ones: wait for the final state
        d = self.w.wait_log(lambda l: rule_drift("app")(l) and l["missing"] == len(FLAT),
                            10, start=mark)
        self.assertEqual(d["missing"], len(FLAT))
        self.assertEqual(d["marker"], "absent")

    def test_stderr_is_json_lines_only(self):
        bad = [l for l in self.w.logs() if l.get("unparsed")]
        self.assertEqual(bad, [])


class SlashDotLayout(ZkTest):
    fmt = "slash_dot"

    def setUp(self):
        super().setUp()
        self.start()
        self.w.wait_log(rule_ok("app"), 20, what="first OK poll")

    def test_changed_missing_extra(self):
        mark = self.w.mark()
        self.z.set(ROOT + "/max_connections", "5")
        self.z.delete(ROOT + "/log_level")
        self.z.set(ROOT + "/rogue.entry", "1")
        # watches re-poll after each write: wait for the final state
        d = self.w.wait_log(lambda l: rule_drift("app")(l) and l["extra"] == 1, 10,
                            start=mark, what="drift line")
        self.assertEqual((d["changed"], d["missing"], d["extra"]), (1, 1, 1))
        keys = self.keys_of(d)
        self.assertEqual(keys["max_connections"]["actual"], "5")
        self.assertEqual(keys["log_level"]["change"], "missing")
        self.assertEqual(keys["rogue.entry"]["change"], "extra")
        self.assertEqual(keys["rogue.entry"]["actual"], "1")

    def test_nested_layout_is_not_slash_dot(self):
        # values written in the other layout are missing + extra, not OK
        mark = self.w.mark()
        self.z.delete(ROOT + "/database.host")
        self.z.set(ROOT + "/database/host", "db.internal")
        d = self.w.wait_log(lambda l: rule_drift("app")(l) and l["extra"] == 1, 10,
                            start=mark)
        keys = self.keys_of(d)
        self.assertEqual(keys["database.host"]["change"], "missing")
        self.assertEqual(keys["database"]["change"], "extra")


class Roots(ZkTest):
    """zk_base_path + zk_path_template / destination_template (interop §3.3)."""

    def _run(self, extra, root, fmt="slash"):
        self.fmt = fmt
        self.start(rules=rule(fmt=fmt, extra=extra), root=root)
        ok = self.w.wait_log(rule_ok("app"), 20, what="OK poll")
        self.assertEqual(ok["target"], root)
        mark = self.w.mark()
        self.z.set(znode(root, "max_connections", fmt), "7")
        d = self.w.wait_log(rule_drift("app"), 10, start=mark)
        self.assertEqual(self.keys_of(d)["max_connections"]["actual"], "7")

    def test_base_path_and_path_template(self):
        self._run("    zk_base_path: /apps/\n"
                  "    zk_path_template: \"/{env}/{tenant}\"\n",
                  "/apps/production/acme")

    def test_destination_template_wins(self):
        self._run("    zk_base_path: /cfg\n"
                  "    zk_path_template: \"/{env}/{tenant}\"\n"
                  "    destination_template: \"/t/{tenant}-{env}/\"\n",
                  "/cfg/t/acme-production", fmt="slash_dot")

    def test_datasource_base_path(self):
        self.fmt = "slash"
        self.z = None
        z = self.zookeeper()
        g = self.repo({"config/app.yaml": APP_YAML})
        write_tree(z, FLAT, "/vt/acme/production")
        self.w = self.watcher(zk_config(self.tmp, z, rule().replace("{repo}", g.path),
                                        ds_extra="    base_path: /vt\n"))
        ok = self.w.wait_log(rule_ok("app"), 20, what="OK poll")
        self.assertEqual(ok["target"], "/vt/acme/production")


class Watches(ZkTest):
    """Event-assisted detection: poll_interval 60 s, so only a watch can
    bring a drift line within a few seconds."""

    def _detect(self, path_value, window=3.0):
        self.start(poll="60s")
        self.w.wait_log(rule_ok("app"), 20, what="first OK poll")
        # the watches are set by the gets and listings of that poll, which
        # all completed before its reply: they are armed now
        mark = self.w.mark()
        t0 = time.monotonic()
        self.z.set(*path_value)
        try:
            self.w.wait_log(rule_drift("app"), window, start=mark, what="drift line")
            return time.monotonic() - t0
        except AssertionError:
            return None

    def test_changed_znode_detected_at_once(self):
        dt = self._detect((ROOT + "/max_connections", "5"))
        self.assertIsNotNone(dt, "no drift within 3 s with watches")
        self.assertLess(dt, 2.0)
        # the watch is re-armed by that poll: a second change is seen too
        mark = self.w.mark()
        self.z.set(ROOT + "/log_level", "debug")
        d = self.w.wait_log(lambda l: rule_drift("app")(l) and l["changed"] == 2, 3,
                            start=mark, what="second drift line")
        self.assertEqual(self.keys_of(d)["log_level"]["actual"], "debug")

    def test_new_nested_extra_detected_at_once(self):
        dt = self._detect((ROOT + "/database/port", "5432"))
        self.assertIsNotNone(dt, "child watch did not fire")

    def test_deleted_znode_detected_at_once(self):
        self.start(poll="60s")
        self.w.wait_log(rule_ok("app"), 20, what="first OK poll")
        mark = self.w.mark()
        self.z.delete(ROOT + "/features")
        # the two children go one after the other: a watch may fire (and
        # the poll run) between them; the second brings its own poll
        self.w.wait_log(lambda l: rule_drift("app")(l) and l["missing"] == 2, 3,
                        start=mark, what="drift: both deleted keys missing")

    def test_root_written_again_detected_at_once(self):
        # root missing: all keys missing; the orchestrator writing the tree
        # again (heal) is seen through a watch on root's creation
        self.start(poll="60s", write=False)
        d = self.w.wait_log(rule_drift("app"), 20, what="all missing")
        self.assertEqual(d["missing"], len(FLAT))
        mark = self.w.mark()
        write_tree(self.z)
        # the tree is written node by node, each write a watch and a poll:
        # under a sanitizer on a loaded machine that takes seconds, still
        # far from the 60 s timer
        self.w.wait_log(rule_ok("app"), 10, start=mark, what="OK after the rewrite")

    def test_without_watch_nothing_before_the_timer(self):
        # rule app without watches, rule probe (another env's root) with
        # them, on the same worker: once the probe's watch has brought its
        # drift line, app's change, made first, would have brought one too
        # had app a watch
        self.start(rules=rule("app", extra="    watch: false\n") +
                   rule("probe").replace("env: production", "env: staging"), poll="60s")
        write_tree(self.z, FLAT, "/acme/staging")
        self.w.wait_log(rule_ok("app"), 20, what="first OK poll of app")
        # (its first poll may have come before the tree: then a watch on
        # the root's creation brings the OK)
        self.w.wait_log(rule_ok("probe"), 20, what="OK poll of probe")
        mark = self.w.mark()
        self.z.set(ROOT + "/max_connections", "5")
        self.z.set("/acme/staging/max_connections", "5")
        self.w.wait_log(rule_drift("probe"), 5, start=mark, what="drift of probe (watch)")
        self.assertEqual(self.w.find(lambda l: l.get("rule") == "app" and "result" in l, mark),
                         [], "app polled before its 60 s timer without a watch")


class Hostile(ZkTest):
    def test_many_extras_and_empty_values(self):
        self.start()
        self.w.wait_log(rule_ok("app"), 20, what="first OK poll")
        mark = self.w.mark()
        for i in range(200):
            self.z.set(ROOT + "/bulk/k%03d" % i, "" if i % 2 else "v")
        d = self.w.wait_log(lambda l: rule_drift("app")(l) and l["extra"] == 200, 15,
                            start=mark, what="200 extras")
        keys = self.keys_of(d)
        self.assertEqual(keys["bulk.k001"]["actual"], "")
        self.assertEqual(keys["bulk.k000"]["actual"], "v")


class ServerDown(ZkTest):
    def test_session_expired_new_session(self):
        # the worker frozen (SIGSTOP) for longer than the session timeout
        # (4 s): the server expires the session; when the worker runs again
        # its client is told so, the worker closes the handle and opens a
        # new session; no OK from the dead session
        self.start(poll="3s")
        self.w.wait_log(rule_ok("app"), 20, what="first OK poll")
        pid = wait_until(lambda: self.w.worker_pid("zookeeper"), 5)
        conn = self.w.find(lambda l: l.get("proc") == "worker/zookeeper" and
                           "connected to zookeeper" in l.get("msg", ""))[-1]
        sid = conn["msg"].split("(session ")[1].rstrip(")")
        self.assertIn("sid=" + sid, self.z.four("cons"))
        os.kill(pid, signal.SIGSTOP)
        try:
            # the server expires the session and drops its connection
            wait_until(lambda: "sid=" + sid not in (self.z.four("cons") or "sid=" + sid),
                       15, step=0.2, what="the server to expire the session")
        finally:
            os.kill(pid, signal.SIGCONT)
        mark = self.w.mark()
        self.w.wait_log(lambda l: l.get("proc") == "worker/zookeeper" and
                        "session expired" in l.get("msg", ""), 15, what="session expired")
        self.w.wait_log(lambda l: l.get("proc") == "worker/zookeeper" and
                        "connected to zookeeper" in l.get("msg", ""), 15, start=mark,
                        what="new session")
        self.w.wait_log(rule_ok("app"), 15, start=mark, what="OK in a new session")
        self.assertEqual(self.w.worker_pid("zookeeper"), pid)   # same worker

    def test_server_lost_its_data_new_session(self):
        # a server that lost its data (new data directory) refuses the old
        # session (the client has seen a later zxid) without ever saying
        # "expired": after the session timeout (4 s here) the worker gives
        # the session up and opens a new one
        self.start()
        self.w.wait_log(rule_ok("app"), 20, what="first OK poll")
        self.z.stop()
        shutil.rmtree(self.z.datadir)
        os.makedirs(self.z.datadir)
        mark = self.w.mark()
        self.w.wait_log(rule_unknown("app"), 10, start=mark, what="unknown poll")
        self.z.start()
        write_tree(self.z)
        def new_session(l):
            return (l.get("proc") == "worker/zookeeper" and
                    "starting a new one" in l.get("msg", ""))
        self.w.wait_log(new_session, 20, start=mark, what="new session")
        back = self.w.mark()
        self.w.wait_log(rule_ok("app"), 20, start=mark, what="OK in a new session")
        self.assertEqual(self.w.find(rule_drift("app"), mark), [])
        # no OK before the new session (an OK may follow it before the
        # test reads the log: count from the line, not from the read)
        lines = self.w.logs()[mark:]
        at = [i for i, l in enumerate(lines) if new_session(l)][0]
        self.assertEqual([l for l in lines[:at] if rule_ok("app")(l)], [])
        # the new session's poll re-armed the watches
        self.z.set(ROOT + "/max_connections", "3")
        d = self.w.wait_log(rule_drift("app"), 5, start=back)
        self.assertEqual(self.keys_of(d)["max_connections"]["actual"], "3")

    def test_never_reachable_is_unknown(self):
        self.start(write=False)
        self.z.stop()
        mark = self.w.mark()
        u = self.w.wait_log(rule_unknown("app"), 15, what="unknown poll")
        self.assertIn("not connected", u.get("reason", ""))
        self.assertEqual(self.w.find(rule_ok("app"), mark), [])


class Listener:
    """A TCP listener that accepts and drops every connection, counting them."""

    def __init__(self):
        import socket
        import threading
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepts = []
        self.stopped = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.accepts.append(time.monotonic())
            c.close()

    def stop(self):
        self.stopped = True
        self.sock.close()


class Backoff(ZkTest):
    def test_unreachable_server_is_not_hammered(self):
        # the C client retries a connection several times a second on its
        # own; a handle that never got a session is closed after the poll,
        # so while the circuit is open nothing knocks on the server
        lst = Listener()
        self.cleanups.append(lst.stop)
        g = self.repo({"config/app.yaml": APP_YAML})

        class Fake:
            hosts = "127.0.0.1:%d" % lst.port
        w = self.watcher(zk_config(self.tmp, Fake, rule().replace("{repo}", g.path),
                                   poll="500ms",
                                   ds_extra="    breaker_failures: 2\n"
                                            "    breaker_backoff: 3s\n"
                                            "    breaker_max_backoff: 6s\n"))
        o = w.wait_log(lambda l: l.get("circuit") == "open", 20, what="circuit open")
        opened = w.mark()
        self.assertIn("not connected", w.find(rule_unknown("app"))[0]["reason"])
        n = len(lst.accepts)
        self.assertGreater(n, 0)
        # the open period is 3 s -20 % at least: three polls skipped in it
        # (500 ms apart), and no connection attempt meanwhile
        wait_until(lambda: len(w.find(lambda l: rule_unknown("app")(l) and l["reason"].startswith(
            "datasource circuit open"), opened)) >= 3, 10, what="three skipped polls")
        accepts = len(lst.accepts)     # then no half-open yet: still in the open period
        self.assertEqual(w.find(lambda l: l.get("circuit") == "half-open", opened), [],
                         "the window was not inside the open period")
        self.assertEqual(accepts, n, "connection attempts while the circuit was open")
        self.assertLess(o["backoff_ms"], 4000)


class DigestAuth(ZkTest):
    def test_digest_auth(self):
        os.environ["VTW_T_ZK_PASSWORD"] = "zk-S3CRET-pw"
        self.start(ds_extra="    username: vartrack\n"
                            "    password: {env: VTW_T_ZK_PASSWORD}\n")
        self.w.wait_log(rule_ok("app"), 20, what="OK poll with digest auth")
        self.assertNotIn("zk-S3CRET-pw", "\n".join(self.w.raw))

    def test_znode_with_acl_for_other_identity_is_unknown(self):
        from kazoo.security import make_digest_acl
        self.start(write=True)
        self.w.wait_log(rule_ok("app"), 20, what="first OK poll")
        c = self.z.client(auth_data=[("digest", "owner:pw")])
        c.set_acls(ROOT + "/max_connections", [make_digest_acl("owner", "pw", all=True)])
        mark = self.w.mark()
        u = self.w.wait_log(rule_unknown("app"), 10, start=mark, what="unknown poll")
        self.assertIn("ACL", u.get("reason", ""))


class HostNames(ZkTest):
    def test_host_name_and_several_hosts(self):
        # getaddrinfo inside the sandbox; a dead first host is skipped
        self.z = self.zookeeper()
        self.g = self.repo({"config/app.yaml": APP_YAML})
        write_tree(self.z, FLAT)
        from harness import free_port
        text = zk_config(self.tmp, self.z, rule().replace("{repo}", self.g.path))
        text = text.replace('hosts: ["%s"]' % self.z.hosts,
                            'hosts: ["127.0.0.1:%d", "localhost:%d"]' % (free_port(), self.z.port))
        self.w = self.watcher(text, env={"VTW_TEST_SECCOMP_TRAP": "1"})
        self.w.wait_log(rule_ok("app"), 20, what="OK poll")
        self.assertEqual([l for l in self.w.raw if "seccomp" in l], [])


class WorkerRestart(ZkTest):
    def test_kill_worker_restarts_and_polling_resumes(self):
        self.start()
        self.w.wait_log(rule_ok("app"), 20, what="first OK poll")
        pid = wait_until(lambda: self.w.worker_pid("zookeeper"), 5)
        mark = self.w.mark()
        os.kill(pid, signal.SIGKILL)
        self.w.wait_log(lambda l: "lost child" in l.get("msg", "") and
                        "zookeeper" in l.get("msg", ""), 5, start=mark)
        self.w.wait_log(rule_ok("app"), 15, start=mark, what="OK after restart")


if __name__ == "__main__":
    unittest.main()
