#!/usr/bin/python3
"""Benchmark of Git fetches at scale and of the per-poll cost (issue "Git at
scale"). Real servers on loopback: `git daemon --verbose` (one "Request
upload-pack" line per fetch or ref-list check) serving R repositories, and
redis-server.

 1. fetches: RULES (1 000) rules over R (10) repositories, one file of 20
    keys each, polled every 2 s on one Redis HASH: upload-pack requests per
    2-s interval over a 20 s window, with the build given and, when BEFORE
    names another build (e.g. one of 2d5ccf5, before the shared fetch), with
    that one too;
 2. poll rate: BIG (10 000) rules of 20 keys on Redis, poll_interval 1s (the
    demand: BIG polls/s): the polls per second one watcher sustains, and the
    CPU time per poll of the supervisor, each worker and redis-server (utime
    + stime from /proc over the window).
Prints figures; asserts nothing.
usage: bench_git.py BUILD [BEFORE_BUILD]   env: RULES, BIG, REPOS, WINDOW
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

B = sys.argv[1]
BEFORE = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else None
RULES = int(os.environ.get("RULES", 1000))
BIG = int(os.environ.get("BIG", 10000))
REPOS = int(os.environ.get("REPOS", 10))
WINDOW = float(os.environ.get("WINDOW", 20))
TICK = os.sysconf("SC_CLK_TCK")


def port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise SystemExit("bench_git: timed out waiting for " + what)


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        st = f.read().rsplit(")", 1)[1].split()
    return (int(st[11]) + int(st[12])) / TICK


class Log:
    def __init__(self, path):
        self.path = path
        self.f = open(path, "w+")
        self.pos = 0
        self.oks = 0
        self.pids = {}

    def scan(self):
        with open(self.path, errors="replace") as f:
            f.seek(self.pos)
            for line in f:
                if not line.endswith("\n"):
                    break
                self.pos += len(line.encode("utf-8", "surrogateescape"))
                if '"result":"ok"' in line:
                    self.oks += 1
                elif "started worker" in line:
                    msg = json.loads(line)["msg"]
                    self.pids[msg.split()[2]] = int(msg.split("(pid ")[1].rstrip(")"))
        return self.oks


def main():
    d = tempfile.mkdtemp(prefix="vtw-bench-git.")
    os.chmod(d, 0o755)
    procs = []
    try:
        keys = {"key_%02d" % i: "value-%02d-abcdefghij" % i for i in range(20)}
        g = ["-c", "user.email=b@x", "-c", "user.name=b"]
        for r in range(REPOS):
            repo = os.path.join(d, "repo%d" % r)
            os.makedirs(os.path.join(repo, "config"))
            with open(os.path.join(repo, "config", "app.yaml"), "w") as f:
                f.writelines("%s: %s\n" % kv for kv in keys.items())
            subprocess.run(["git", "-C", repo, "init", "-q", "-b", "main"], check=True)
            subprocess.run(["git", "-C", repo] + g + ["add", "-A"], check=True)
            subprocess.run(["git", "-C", repo] + g + ["commit", "-q", "-m", "b"], check=True)
        gport, rport = port(), port()
        glog = os.path.join(d, "git-daemon.log")
        gd = subprocess.Popen(["git", "daemon", "--verbose", "--export-all", "--reuseaddr",
                               "--listen=127.0.0.1", "--port=%d" % gport, "--base-path=" + d, d],
                              stdout=open(glog, "wb"), stderr=subprocess.STDOUT)
        procs.append(gd)
        rs = subprocess.Popen(["redis-server", "--port", str(rport), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no", "--dir", d],
                              stdout=subprocess.DEVNULL)
        procs.append(rs)
        wait(lambda: b"Ready to rumble" in open(glog, "rb").read(), 10, "git daemon")
        wait(lambda: subprocess.run(["redis-cli", "-p", str(rport), "ping"],
                                    capture_output=True).stdout.strip() == b"PONG", 10, "redis")
        subprocess.run(["redis-cli", "-p", str(rport), "HSET", "acme:redis:production:vartrack"]
                       + sum(([k, v] for k, v in keys.items()), []), check=True,
                       stdout=subprocess.DEVNULL)

        def uploads():
            return open(glog, "rb").read().count(b"Request upload-pack")

        def run(build, n, interval, measure):
            ap = port()
            conf = os.path.join(d, "w.yaml")
            with open(conf, "w") as f:
                f.write("watcher: {poll_interval: %s, admin_addr: \"127.0.0.1:%d\", "
                        "cache_dir: %s/cache-%d}\nplatforms: [{name: local, type: local}]\n"
                        "datasources: [{name: redis, type: redis, hosts: [\"127.0.0.1:%d\"]}]\n"
                        "rules:\n" % (interval, ap, d, n, rport))
                for i in range(n):
                    f.write("  - {name: r%d, platform: local, datasource: redis, "
                            "repo_url: \"git://127.0.0.1:%d/repo%d\", file_name: config/app.yaml, "
                            "tenant_id: acme, env: production, redis_data_structure: HASH}\n"
                            % (i, gport, i % REPOS))
            log = Log(os.path.join(d, "w-%d.log" % n))
            w = subprocess.Popen([os.path.join(build, "bin", "vartrack-watcher"), "-f", conf],
                                 stderr=log.f, stdout=subprocess.DEVNULL)
            try:
                # warm: every rule polled twice
                wait(lambda: log.scan() >= 2 * n, 300, "%d first polls" % (2 * n))
                return measure(w, log)
            finally:
                w.terminate()
                w.wait()

        def fetches(w, log):
            u0, o0, t0 = uploads(), log.scan(), time.monotonic()
            time.sleep(WINDOW)
            u1, o1, t1 = uploads(), log.scan(), time.monotonic()
            return (u1 - u0) / ((t1 - t0) / 2.0), (o1 - o0) / (t1 - t0)

        print("=== bench_git: %d repositories on git daemon, 20 keys a rule, redis-server"
              % REPOS)
        for name, build in (("after", B), ("before", BEFORE)):
            if build is None:
                continue
            per, rate = run(build, RULES, "2s", fetches)
            print("%-7s %d rules / %d repos, polled every 2 s: %.1f upload-pack requests "
                  "per interval (%.0f polls/s)" % (name, RULES, REPOS, per, rate))

        def cpu(w, log):
            who = {"supervisor": w.pid}
            who.update({"worker " + k: v for k, v in sorted(log.pids.items())})
            who["redis-server"] = rs.pid
            c0 = {k: cpu_s(p) for k, p in who.items()}
            o0, t0 = log.scan(), time.monotonic()
            time.sleep(WINDOW)
            c1 = {k: cpu_s(p) for k, p in who.items()}
            o1, t1 = log.scan(), time.monotonic()
            polls = o1 - o0
            return polls / (t1 - t0), {k: (c1[k] - c0[k]) / max(polls, 1) * 1e6 for k in who}

        rate, per = run(B, BIG, "1s", cpu)
        print("%d rules of 20 keys, poll_interval 1s (demand %d polls/s): %.0f polls/s "
              "sustained" % (BIG, BIG, rate))
        print("  CPU per poll: " + ", ".join("%s %.0f us" % kv for kv in per.items()))
        ours = sum(v for k, v in per.items() if k != "redis-server")
        print("  ours %.0f us, redis-server %.0f us: %.1fx" %
              (ours, per["redis-server"], ours / max(per["redis-server"], 0.001)))
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        if not os.environ.get("KEEP"):
            shutil.rmtree(d, ignore_errors=True)


main()
