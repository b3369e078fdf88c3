"""Integration test harness for vartrack-watcher.

Runs the real binaries against real servers on 127.0.0.1: redis-server
(Debian's redis-server package) and Git repositories made with `git` in a
temporary directory. No fakes are used here.

Environment:
  VTW_BIN   directory holding vartrack-watcher and its workers (required)
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

BIN = os.environ.get("VTW_BIN", os.path.join(os.path.dirname(__file__), "../../build/bin"))
WATCHER = os.path.join(BIN, "vartrack-watcher")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_until(pred, timeout=10.0, step=0.02, what="condition"):
    """Poll pred() until it returns a truthy value or timeout (seconds)."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(step)


class Redis:
    """A throwaway redis-server on a free loopback port, stopped by PID."""

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "redis")
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", self.dir, "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: self.ping(), 10, what="redis to answer PING")

    def ping(self):
        try:
            return self.cli("PING") == "PONG"
        except Exception:
            return False

    def cli(self, *args, db=0):
        out = subprocess.run(["redis-cli", "-p", str(self.port), "-n", str(db)] + list(args),
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip()

    def pipe(self, commands, db=0):
        """Send many commands at once (redis-cli --pipe with RESP)."""
        buf = []
        for c in commands:
            buf.append("*%d\r\n" % len(c))
            for a in c:
                b = a.encode() if isinstance(a, str) else a
                buf.append("$%d\r\n" % len(b))
                buf.append(b.decode("latin-1") + "\r\n")
        data = "".join(buf).encode("latin-1")
        subprocess.run(["redis-cli", "-p", str(self.port), "-n", str(db), "--pipe"],
                       input=data, capture_output=True, timeout=60, check=True)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class GitRepo:
    """A local Git repository made with the git command."""

    def __init__(self, workdir, name="config-repo"):
        self.path = os.path.join(workdir, name)
        os.makedirs(self.path)
        self.git("init", "-q", "-b", "main")
        self.git("config", "user.email", "t@example.com")
        self.git("config", "user.name", "test")

    def git(self, *args):
        subprocess.run(["git", "-C", self.path] + list(args), check=True,
                       capture_output=True)

    def commit(self, files, msg="update"):
        for rel, content in files.items():
            p = os.path.join(self.path, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(content.encode() if isinstance(content, str) else content)
            self.git("add", rel)
        self.git("commit", "-q", "-m", msg)


class Watcher:
    """vartrack-watcher running on a config file; log lines collected."""

    def __init__(self, workdir, config_text, env=None):
        self.workdir = workdir
        self.config = os.path.join(workdir, "watcher.yaml")
        with open(self.config, "w") as f:
            f.write(config_text)
        self.admin_port = free_port()
        self.env = dict(os.environ)
        self.env.update({"ADMIN_ADDR": "127.0.0.1:%d" % self.admin_port,
                         "LOG_LEVEL": "debug"})
        if env:
            self.env.update(env)
        self.proc = None
        self.lines = []
        self.raw = []
        self.lock = threading.Lock()

    def start(self):
        cmd = [WATCHER, "-f", self.config]
        if os.environ.get("VTW_VALGRIND"):
            # every process (supervisor and workers) under memcheck; a leak
            # or error makes it exit 9, which the tests see
            supp = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../valgrind.supp")
            cmd = ["valgrind", "-q", "--leak-check=full", "--error-exitcode=9",
                   "--trace-children=yes", "--suppressions=" + supp] + cmd
            self.env["VTW_TEST_SANDBOX_DISABLE"] = "1"
        self.proc = subprocess.Popen(cmd, env=self.env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        wait_until(lambda: self.http("/health/liveness")[0] == 200,
                   60 if os.environ.get("VTW_VALGRIND") else 10,
                   what="the admin HTTP server")

    def _read(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.lock:
                self.raw.append(line)
                try:
                    self.lines.append(json.loads(line))
                except ValueError:
                    self.lines.append({"msg": line, "unparsed": True})

    def logs(self):
        with self.lock:
            return list(self.lines)

    def find(self, pred, start=0):
        return [l for l in self.logs()[start:] if pred(l)]

    def wait_log(self, pred, timeout=10.0, start=0, what="log line"):
        return wait_until(lambda: self.find(pred, start), timeout, what=what)[0]

    def mark(self):
        return len(self.logs())

    def http(self, path):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.admin_port, path),
                                        timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except Exception as e:  # connection refused etc.
            return 0, str(e)

    def metrics(self):
        code, body = self.http("/metrics")
        assert code == 200, body
        out = {}
        for line in body.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
        return out

    def metric(self, name, default=0.0):
        return self.metrics().get(name, default)

    def worker_pid(self, kind):
        """pid of the current worker of that kind, from the log."""
        started = self.find(lambda l: l.get("msg", "").startswith("worker %s (pid" % kind)
                            and "running" in l.get("msg", ""))
        if not started:
            return None
        msg = started[-1]["msg"]
        return int(msg.split("(pid ")[1].split(")")[0])

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(5)
        rc = self.proc.returncode
        self.proc = None
        return rc


def rule_ok(name):
    return lambda l: l.get("result") == "ok" and l.get("rule") == name


def rule_drift(name):
    return lambda l: l.get("result") == "drift" and l.get("rule") == name


def rule_unknown(name):
    return lambda l: l.get("result") == "unknown" and l.get("rule") == name


class WatcherTest(unittest.TestCase):
    """Base: a temp dir readable by the sandbox user, cleaned up after."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vtw-it-")
        os.chmod(self.tmp, 0o755)   # workers run as 'nobody' when we are root
        self.cleanups = []
        self.watchers = []

    def tearDown(self):
        for fn in reversed(self.cleanups):
            try:
                fn()
            except Exception:
                pass
        shutil.rmtree(self.tmp, ignore_errors=True)
        # any sanitizer report from the supervisor or a worker fails the test
        for w in self.watchers:
            bad = [l for l in w.raw if "Sanitizer" in l or "runtime error:" in l]
            self.assertEqual(bad, [], "sanitizer report:\n" + "\n".join(w.raw[-60:]))

    def redis(self):
        r = Redis(self.tmp)
        r.start()
        self.cleanups.append(r.stop)
        return r

    def repo(self, files, name="config-repo"):
        g = GitRepo(self.tmp, name)
        g.commit(files, "initial")
        return g

    def watcher(self, config_text, env=None, start=True):
        w = Watcher(self.tmp, config_text, env)
        self.watchers.append(w)
        if start:
            w.start()
        self.cleanups.append(w.stop)
        return w

    def config(self, redis, rules, poll="1s", extra_ds=""):
        return """watcher:
  poll_interval: %s
  cache_dir: %s/cache
platforms:
  - name: local
    type: local
datasources:
  - name: redis
    type: redis
    hosts: ["127.0.0.1:%d"]
%s
rules:
%s
""" % (poll, self.tmp, redis.port, extra_ds, rules)
