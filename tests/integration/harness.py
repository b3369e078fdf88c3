"""Integration test harness for vartrack-watcher.

Runs the real binaries against real servers on 127.0.0.1: redis-server
(Debian's redis-server package), ZooKeeper (Debian's zookeeper), OpenSSH's
sshd and Git repositories made with `git` in a temporary directory. The one
fake is MongoFake: no MongoDB server is packaged for Debian, so a Mongo-wire
fake (CongoDB, tests/mongo-fake; `npm ci` there first) stands in for it.

Environment:
  VTW_BIN   directory holding vartrack-watcher and its workers (required)
"""
import json
import os
import pwd
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


REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../.."))
MONGO_FAKE_DIR = os.path.join(REPO_ROOT, "tests", "mongo-fake")


def stop_process(proc, timeout=10.0):
    """SIGTERM proc, wait up to timeout seconds, then SIGKILL; always reaps it."""
    if proc is None:
        return None
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def pid_alive(pid):
    """True if a process with that pid exists (a zombie counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def child_pids(pid):
    """Direct children of pid (from /proc), [] if none or pid is gone."""
    out = []
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def descendant_pids(pid):
    """Children, grandchildren, ... of pid (from /proc), parents first."""
    out, queue = [], child_pids(pid)
    while queue:
        p = queue.pop(0)
        out.append(p)
        queue += child_pids(p)
    return out


def _running(pid):
    """pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def _log_tail(path, n=40):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        return "\n".join(lines[-n:])
    except OSError as e:
        return "(no log: %s)" % e


def _wait_started(proc, ready, timeout, what, log):
    """wait_until(ready) that fails at once, with the log tail, if proc exits."""
    def pred():
        if proc.poll() is not None:
            raise RuntimeError("%s (pid %d) exited with status %s before it was ready "
                               "(waiting for %s); log %s:\n%s"
                               % (os.path.basename(proc.args[0]), proc.pid, proc.returncode,
                                  what, log, _log_tail(log)))
        return ready()
    try:
        wait_until(pred, timeout, what=what)
    except AssertionError as e:
        raise AssertionError("%s; log %s:\n%s" % (e, log, _log_tail(log))) from None


class ZooKeeper:
    """A throwaway standalone ZooKeeper (Debian's zookeeper package, run with
    java directly) on a free loopback port, stopped by PID.

    .port, .hosts ("127.0.0.1:PORT"), .proc, .log (path), .startup_s.
    Helpers use python3-kazoo (run the tests with /usr/bin/python3)."""

    JARS = ["/usr/share/java/zookeeper.jar", "/usr/share/java/slf4j-simple.jar"]

    def __init__(self, workdir, tick_ms=2000):
        self.tick_ms = tick_ms   # sessions last 2..20 ticks
        self.dir = os.path.join(workdir, "zookeeper")
        self.confdir = os.path.join(self.dir, "conf")
        self.datadir = os.path.join(self.dir, "data")
        os.makedirs(self.confdir, exist_ok=True)
        os.makedirs(self.datadir, exist_ok=True)
        self.port = free_port()
        self.hosts = "127.0.0.1:%d" % self.port
        self.cfg = os.path.join(self.confdir, "zoo.cfg")
        self.log = os.path.join(self.dir, "zookeeper.log")
        self.proc = None
        self.startup_s = None
        self._clients = []
        self._kz = None

    def start(self, timeout=30.0):
        with open(self.cfg, "w") as f:
            f.write("tickTime=%d\n"
                    "dataDir=%s\n"
                    "clientPort=%d\n"
                    "clientPortAddress=127.0.0.1\n"
                    "maxClientCnxns=100\n"
                    "admin.enableServer=false\n"
                    "4lw.commands.whitelist=*\n" % (self.tick_ms, self.datadir, self.port))
        cp = ":".join([self.confdir] + self.JARS)
        t0 = time.monotonic()
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                ["java", "-Xmx256m", "-cp", cp,
                 "org.apache.zookeeper.server.ZooKeeperServerMain", self.cfg],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                cwd=self.dir)
        try:
            # imok only says the process is up: srvr still answers "This
            # ZooKeeper instance is not currently serving requests" for a
            # moment after it, and clients connecting then are dropped
            _wait_started(self.proc, self.serving, timeout,
                          "zookeeper to answer ruok with imok and serve", self.log)
        except BaseException:
            self.stop()
            raise
        self.startup_s = time.monotonic() - t0

    def serving(self):
        """ruok answers imok and srvr reports a mode (standalone)."""
        return self.four("ruok") == "imok" and "Mode: " in (self.four("srvr") or "")

    def four(self, word, timeout=1.0):
        """Send a four-letter word (ruok, srvr, mntr, ...); the reply, or None."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
                s.sendall(word.encode())
                chunks = []
                while True:
                    b = s.recv(4096)
                    if not b:
                        break
                    chunks.append(b)
            return b"".join(chunks).decode("utf-8", "replace").strip()
        except OSError:
            return None

    def client(self, timeout=10.0, **kw):
        """A started kazoo KazooClient (stopped and closed by stop())."""
        from kazoo.client import KazooClient
        c = KazooClient(hosts=self.hosts, timeout=timeout, **kw)
        c.start(timeout=timeout)
        self._clients.append(c)
        return c

    def _shared(self):
        if self._kz is None:
            self._kz = self.client()
        return self._kz

    def set(self, path, value):
        """Create (with parents) or overwrite the node at path."""
        from kazoo.exceptions import NodeExistsError
        data = value.encode() if isinstance(value, str) else bytes(value)
        kz = self._shared()
        if kz.exists(path):
            kz.set(path, data)
        else:
            try:
                kz.create(path, data, makepath=True)
            except NodeExistsError:   # created meanwhile
                kz.set(path, data)

    def get(self, path):
        """The node's data (bytes), or None if there is no such node."""
        from kazoo.exceptions import NoNodeError
        try:
            return self._shared().get(path)[0]
        except NoNodeError:
            return None

    def delete(self, path, recursive=True):
        """Delete the node (and, by default, its children); no error if absent."""
        from kazoo.exceptions import NoNodeError
        try:
            self._shared().delete(path, recursive=recursive)
        except NoNodeError:
            pass

    def stop(self):
        # clients first, or kazoo logs reconnect attempts against a dead server
        for c in self._clients:
            try:
                c.stop()
                c.close()
            except Exception:
                pass
        self._clients = []
        self._kz = None
        stop_process(self.proc, 10)   # ZooKeeper takes ~2 s to exit on SIGTERM
        self.proc = None


class Sshd:
    """A throwaway OpenSSH server on a free loopback port, stopped by PID.

    Host keys ed25519 + ecdsa; one ed25519 client key in authorized_keys;
    public-key auth only. Attributes: .port, .user (root, or the current
    user when not root), .client_key (private key path, 0600), .known_hosts
    (ssh-keyscan output, written once sshd answers), .proc, .log, .startup_s."""

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "sshd")
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.user = "root" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        self.host_keys = [os.path.join(self.dir, "host_ed25519"),
                          os.path.join(self.dir, "host_ecdsa")]
        self.client_key = os.path.join(self.dir, "client_ed25519")
        self.authorized_keys = os.path.join(self.dir, "authorized_keys")
        self.known_hosts = os.path.join(self.dir, "known_hosts")
        self.config = os.path.join(self.dir, "sshd_config")
        self.pidfile = os.path.join(self.dir, "sshd.pid")
        self.log = os.path.join(self.dir, "sshd.log")
        self.proc = None
        self.startup_s = None

    @staticmethod
    def keygen(path, kind="ed25519", comment="vtw-test"):
        """ssh-keygen a passphrase-less key pair at path (+ .pub); private key 0600."""
        for p in (path, path + ".pub"):
            if os.path.exists(p):
                os.unlink(p)
        subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", comment, "-f", path],
                       check=True, capture_output=True, stdin=subprocess.DEVNULL)
        os.chmod(path, 0o600)
        with open(path + ".pub") as f:
            return f.read().strip()

    def start(self, timeout=15.0):
        t0 = time.monotonic()
        for path, kind in zip(self.host_keys, ("ed25519", "ecdsa")):
            self.keygen(path, kind, "vtw-test-host")
        pub = self.keygen(self.client_key, "ed25519", "vtw-test-client")
        with open(self.authorized_keys, "w") as f:
            f.write(pub + "\n")
        os.chmod(self.authorized_keys, 0o600)
        lines = ["Port %d" % self.port, "ListenAddress 127.0.0.1"]
        lines += ["HostKey %s" % k for k in self.host_keys]
        lines += ["PidFile %s" % self.pidfile,
                  "AuthorizedKeysFile %s" % self.authorized_keys,
                  "PubkeyAuthentication yes",
                  "PasswordAuthentication no",
                  "KbdInteractiveAuthentication no",
                  "PermitRootLogin prohibit-password",
                  "UsePAM no",
                  "StrictModes no",
                  "LogLevel VERBOSE",
                  "Subsystem sftp internal-sftp"]
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        # privilege separation directory (missing on this image); only root can make it
        try:
            os.makedirs("/run/sshd", exist_ok=True)
            os.chmod("/run/sshd", 0o755)
        except PermissionError:
            pass
        self._launch("wb", self._keyscan, timeout)
        self.startup_s = time.monotonic() - t0

    def restart(self, timeout=15.0):
        """Start sshd again after stop(): same port, config and host keys
        (known_hosts is left as it is: a worker may be reading it)."""
        self._launch("ab", lambda: self._keyscan(write=False), timeout)

    def _launch(self, logmode, ready, timeout):
        with open(self.log, logmode) as log:
            self.proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", self.config],
                                         stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)
        try:
            _wait_started(self.proc, ready, timeout, "sshd to answer ssh-keyscan", self.log)
        except BaseException:
            self.stop()
            raise

    def _keyscan(self, write=True):
        out = subprocess.run(["ssh-keyscan", "-T", "2", "-p", str(self.port), "127.0.0.1"],
                             capture_output=True, text=True, timeout=10,
                             stdin=subprocess.DEVNULL).stdout
        if not out.strip():
            return False
        if write:
            with open(self.known_hosts, "w") as f:
                f.write(out)
        return True

    def ssh(self, command, known_hosts=None, timeout=30):
        """Run command over ssh (OpenSSH client, strict host key checking);
        a CompletedProcess with bytes stdout/stderr."""
        return subprocess.run(self.ssh_argv(command, known_hosts), capture_output=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)

    def ssh_argv(self, command, known_hosts=None):
        """The ssh command line that ssh() runs (for Popen)."""
        return ["ssh", "-p", str(self.port), "-i", self.client_key, "-o", "BatchMode=yes",
                "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=yes",
                "-o", "UserKnownHostsFile=%s" % (known_hosts or self.known_hosts),
                "-o", "GlobalKnownHostsFile=/dev/null", "-o", "ConnectTimeout=5",
                "%s@127.0.0.1" % self.user, command]

    def write_known_hosts_with_other_key(self, path):
        """Write a known_hosts at path whose [127.0.0.1]:PORT entries carry
        freshly generated keys (ed25519 and ecdsa, so whichever host key type
        the client negotiates) that the server does not have: a host key
        mismatch. Returns path."""
        scratch = tempfile.mkdtemp(prefix="vtw-otherkey-", dir=self.dir)
        try:
            entries = []
            for kind in ("ed25519", "ecdsa"):
                pub = self.keygen(os.path.join(scratch, kind), kind, "vtw-test-other")
                ktype, blob = pub.split()[:2]
                entries.append("[127.0.0.1]:%d %s %s\n" % (self.port, ktype, blob))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        with open(path, "w") as f:
            f.writelines(entries)
        return path

    def stop(self):
        # sshd's per-connection processes and the commands they run (setsid,
        # so not in its process group) outlive the listener: note them
        # first, stop them after it
        kids = descendant_pids(self.proc.pid) if self.proc is not None else []
        stop_process(self.proc, 10)
        self.proc = None
        for pid in kids:
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
        try:
            wait_until(lambda: not any(_running(p) for p in kids), 5,
                       what="sshd's connection processes to exit")
        except AssertionError:
            for pid in kids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass


class MongoFake:
    """A Mongo-wire fake (CongoDB from @push.rocks/smartmongo 2.2.0, see
    tests/mongo-fake) on a free loopback port, stopped by PID. In memory.
    Documents need ObjectId _ids (let the driver add them); no auth, TLS,
    replica sets or change streams.

    .port, .uri ("mongodb://127.0.0.1:PORT"), .proc, .log, .startup_s."""

    SERVER = os.path.join(MONGO_FAKE_DIR, "server.mjs")

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "mongo-fake")
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.uri = "mongodb://127.0.0.1:%d" % self.port
        self.log = os.path.join(self.dir, "mongo-fake.log")
        self.proc = None
        self.startup_s = None
        self._ready = threading.Event()
        self._reader = None
        self._clients = []

    def start(self, timeout=20.0):
        if not os.path.isdir(os.path.join(MONGO_FAKE_DIR, "node_modules", "@push.rocks",
                                          "smartmongo")):
            raise RuntimeError("the Mongo-wire fake's npm packages are missing: run "
                               "`npm ci --no-audit --no-fund` in %s (scripts/test.sh does)"
                               % MONGO_FAKE_DIR)
        if shutil.which("node") is None:
            raise RuntimeError("node is not installed (scripts/install-deps.sh installs it)")
        t0 = time.monotonic()
        self._ready.clear()
        self._logf = open(self.log, "wb")
        try:
            self.proc = subprocess.Popen(["node", self.SERVER, str(self.port)],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=self._logf, cwd=MONGO_FAKE_DIR)
        except BaseException:
            self._logf.close()
            raise
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        try:
            _wait_started(self.proc, self._ready.is_set, timeout,
                          "the Mongo-wire fake to print READY", self.log)
        except BaseException:
            self.stop()
            raise
        self.startup_s = time.monotonic() - t0

    def _read(self):
        # stdout goes to the log too; READY marks the listener as up
        for raw in self.proc.stdout:
            self._logf.write(raw)
            self._logf.flush()
            if raw.startswith(b"READY"):
                self._ready.set()

    def client(self, **kw):
        """A pymongo MongoClient on .uri (closed by stop())."""
        import pymongo
        kw.setdefault("serverSelectionTimeoutMS", 5000)
        c = pymongo.MongoClient(self.uri, **kw)
        self._clients.append(c)
        return c

    def stop(self):
        for c in self._clients:
            try:
                c.close()
            except Exception:
                pass
        self._clients = []
        stop_process(self.proc, 10)
        if self._reader is not None:
            self._reader.join(5)
            self._reader = None
        if self.proc is not None:
            self.proc.stdout.close()
            self._logf.close()
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
        self.proc.stderr.close()
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

    def zookeeper(self, **kw):
        z = ZooKeeper(self.tmp, **kw)
        z.start()
        self.cleanups.append(z.stop)
        return z

    def sshd(self):
        d = Sshd(self.tmp)
        d.start()
        self.cleanups.append(d.stop)
        return d

    def mongo(self):
        m = MongoFake(self.tmp)
        m.start()
        self.cleanups.append(m.stop)
        return m

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
        return watcher_config(self.tmp, redis_datasource(redis) + extra_ds, rules, poll)


def watcher_config(tmp, datasources, rules, poll="1s"):
    """A whole watcher.yaml: the local platform, the datasources and rules
    given (YAML list items, indented two spaces), cache under tmp."""
    return """watcher:
  poll_interval: %s
  cache_dir: %s/cache
platforms:
  - name: local
    type: local
datasources:
%s
rules:
%s
""" % (poll, tmp, datasources, rules)


def redis_datasource(redis, name="redis", extra=""):
    """The datasource entry for a Redis (harness.Redis) on loopback."""
    return ("  - name: %s\n    type: redis\n    hosts: [\"127.0.0.1:%d\"]\n%s"
            % (name, redis.port, extra))
