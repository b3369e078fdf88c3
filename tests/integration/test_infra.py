"""Smoke tests of the test infrastructure itself: each throwaway server in
harness.py starts, takes a write through its client, gives it back, and is
gone after stop(). A failure here means the peers the datasource tests need
(ZooKeeper, sshd, the Mongo-wire fake) are broken, not the daemon."""
import os
import socket
import subprocess
import sys

from harness import (MongoFake, Sshd, WatcherTest, ZooKeeper, descendant_pids, pid_alive,
                     stop_process)


def _state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rpartition(")")[2].split()[0]
    except OSError:
        return "gone"


def _refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return False
    except OSError:
        return True


class InfraTest(WatcherTest):

    def started(self, server):
        """start() server with its stop() as a cleanup; report the start time."""
        self.cleanups.append(server.stop)
        server.start()
        sys.stderr.write("[%s ready in %.2f s] " % (type(server).__name__, server.startup_s))
        return server

    def assertStopped(self, server):
        pid = server.proc.pid
        server.stop()
        self.assertIsNone(server.proc)
        self.assertFalse(pid_alive(pid), "pid %d still alive after stop()" % pid)
        self.assertTrue(_refused(server.port), "port %d still accepts" % server.port)

    def test_zookeeper(self):
        zk = self.started(ZooKeeper(self.tmp))
        self.assertEqual(zk.hosts, "127.0.0.1:%d" % zk.port)
        self.assertIn("Mode: standalone", zk.four("srvr"))
        zk.set("/vtw/app/max_connections", "50")
        zk.set("/vtw/app/blob", b"\x00\xff")
        self.assertEqual(zk.get("/vtw/app/max_connections"), b"50")
        self.assertEqual(zk.get("/vtw/app/blob"), b"\x00\xff")
        zk.set("/vtw/app/max_connections", "60")          # overwrite
        c = zk.client()                                    # a second, independent session
        self.assertEqual(c.get("/vtw/app/max_connections")[0], b"60")
        self.assertEqual(sorted(c.get_children("/vtw/app")), ["blob", "max_connections"])
        zk.delete("/vtw")
        self.assertIsNone(zk.get("/vtw/app/blob"))
        zk.delete("/vtw")                                  # absent: no error
        self.assertStopped(zk)

    def test_sshd(self):
        d = self.started(Sshd(self.tmp))
        for p in (d.client_key, d.authorized_keys):
            self.assertEqual(os.stat(p).st_mode & 0o777, 0o600, p)
        with open(d.known_hosts) as f:
            self.assertIn("[127.0.0.1]:%d ssh-ed25519 " % d.port, f.read())
        r = d.ssh("echo drift > %s/remote.txt && cat %s/remote.txt && id -un" % (d.dir, d.dir))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.decode().split(), ["drift", d.user])
        other = d.write_known_hosts_with_other_key(os.path.join(self.tmp, "other_known_hosts"))
        r = d.ssh("true", known_hosts=other)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"REMOTE HOST IDENTIFICATION HAS CHANGED", r.stderr)
        # a session still open when sshd stops must not outlive it
        cl = subprocess.Popen(d.ssh_argv("echo up; exec sleep 300"), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.cleanups.append(lambda: stop_process(cl))
        self.assertEqual(cl.stdout.readline(), b"up\n")
        kids = descendant_pids(d.proc.pid)    # session processes, shell, sleep
        self.assertTrue(kids)
        self.assertStopped(d)
        self.assertEqual([p for p in kids if pid_alive(p) and _state(p) != "Z"], [])
        cl.wait(10)

    def test_mongo_fake(self):
        m = self.started(MongoFake(self.tmp))
        self.assertEqual(m.uri, "mongodb://127.0.0.1:%d" % m.port)
        coll = m.client().vtw.config
        coll.insert_one({"key": "max_connections", "value": "50"})  # driver adds an ObjectId _id
        coll.update_one({"key": "max_connections"}, {"$set": {"value": "60"}})
        doc = m.client().vtw.config.find_one({"key": "max_connections"})  # a second client
        self.assertEqual(doc["value"], "60")
        self.assertStopped(m)

    def test_mongo_fake_missing_packages_is_a_clear_error(self):
        import harness
        saved = harness.MONGO_FAKE_DIR
        harness.MONGO_FAKE_DIR = os.path.join(self.tmp, "no-such-dir")
        try:
            with self.assertRaisesRegex(RuntimeError, "npm ci"):
                MongoFake(self.tmp).start()
        finally:
            harness.MONGO_FAKE_DIR = saved
