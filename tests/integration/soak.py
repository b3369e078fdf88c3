#!/usr/bin/python3
"""Seeded chaos soak: one watcher over every datasource kind the
conformance suite has an adapter for (real redis-server, ZooKeeper, sshd,
the Mongo-wire fake, s3rver, and the Kubernetes and Vercel loopback fakes),
self-heal against the gRPC peer (orchestrator_peer.py), while faults are
injected at random from one seed:

  drift      change, delete or add a key where a rule reads
  restore    write Git's values back (the orchestrator's job)
  heal       the peer logged a SyncDatasource: restore that datasource, as
             the orchestrator's task does after answering
  kill9      SIGKILL a worker (the supervisor restarts it)
  freeze     SIGSTOP a server for 1-4 s, then SIGCONT
  restart    stop a server, start it again (it may come back empty) and
             rewrite what the model says is there
  hup        SIGHUP with a good file (the poll interval toggled 1s/900ms)
  hup_bad    SIGHUP with a file that does not parse; the refusal awaited,
             the good file put back
  peer       the orchestrator answers UNAVAILABLE, or hangs, for 2-5 s

The soak keeps a model of each datasource: the live pairs, the intervals in
which a fault was in force (unknown allowed, plus a grace of the breaker's
longest open period, the kind's reconnect time and two poll intervals),
the intervals in which the server could not answer at all (no OK and no
drift may come from inside one), and the short windows of a write in
flight or of a server back empty before its data is rewritten (any drift
or OK allowed). Every poll result line (result ok / drift / unknown) is
checked against the model over the time the poll could have read the
datasource ([end - duration - 0.3 s, end]): OK needs a clean moment, drift
needs a moment with exactly its changed / missing / extra counts, unknown
needs a fault. A rule without a result for 20 s is stalled (a false
result too). The supervisor must stay alive; its descriptors may not grow
beyond 32 over the count after warm-up and its RSS not beyond twice the
warm-up figure plus 16 MiB.

usage: soak.py [--minutes M] [--seed S] [--kinds redis,zk,...] [--keep]
Run with /usr/bin/python3 (Debian's grpcio, kazoo, pymongo) and VTW_BIN set
to the directory of the built binaries (scripts/soak.sh does both). Prints
the seed first, each fault as it is injected, every false result with its
model, and one closing line:

  soak: seed S: N faults injected, M polls checked, F false results,
        peak RSS X KiB, peak fds Y

Exit status 1 when F > 0, a bound was exceeded or the supervisor died.
"""
import argparse
import datetime
import json
import os
import random
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import conformance  # noqa: E402
import test_configmap  # noqa: E402
import test_linux  # noqa: E402
import test_mongo  # noqa: E402
import test_redis  # noqa: E402
import test_s3  # noqa: E402
import test_vercel  # noqa: E402
import test_zookeeper  # noqa: E402
from fixtures import APP_YAML, FLAT  # noqa: E402
from harness import rule_ok, wait_until, watcher_config  # noqa: E402
from test_heal import Peer  # noqa: E402

SLACK_S = 0.3           # a poll's read may start this long before its timer
STALL_S = 20.0          # no result of a rule for this long: stalled
FD_MARGIN = 32
RSS_MARGIN_KIB = 16 * 1024


class Host(test_linux.LinuxBase):
    """The harness's test fixture (tmp dir, servers, cleanups), driven by
    hand instead of by unittest."""

    def runTest(self):
        pass


# key: (adapter, self_heal, process of the server or None (in-process fake),
#       SIGSTOP stops its reads (sshd's session processes keep serving))
KINDS = {
    "redis": (test_redis.RedisKind, True, lambda k: k.r.proc, True),
    "zk": (test_zookeeper.ZkKind, True, lambda k: k.z.proc, True),
    "linux": (test_linux.LinuxKind, True, lambda k: k.sshd.proc, False),
    "mongo": (test_mongo.MongoKind, False, lambda k: k.m.proc, True),
    "s3": (test_s3.JsonKind, True, lambda k: k.s3.proc, True),
    "configmap": (test_configmap.ConfigMapKind, False, None, True),
    "vercel": (test_vercel.VercelKind, False, None, True),
}


def epoch(ts):
    """The log's ISO 8601 timestamp (UTC, milliseconds) as seconds."""
    return datetime.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


class Model:
    """What one datasource holds and went through, for its one rule."""

    def __init__(self, key, kind, heal, proc, freezes):
        self.key, self.kind, self.heal, self.proc, self.freezes = key, kind, heal, proc, freezes
        self.rule = "soak_" + key
        self.live = dict(FLAT)
        self.states = []        # (since, (changed, missing, extra))
        self.loose = []         # [t0, t1]: a write in flight, data lost
        self.faults = []        # [t0, t1 or None]: unknown allowed
        self.down = []          # [t0, t1 or None]: no answer possible
        self.up = True
        self.grace = conformance.MAX_OPEN_S + kind.reconnect_s + 2.0
        self.last_result = None
        self.record()

    def counts(self):
        changed = sum(1 for k, v in FLAT.items() if k in self.live and self.live[k] != v)
        missing = sum(1 for k in FLAT if k not in self.live)
        extra = sum(1 for k in self.live if k not in FLAT)
        return (changed, missing, extra)

    def record(self, t=None):
        self.states.append((time.time() if t is None else t, self.counts()))

    def write(self, changed=None, missing=(), extra=None):
        """A change applied to the server and the model, the time it took
        being a loose window."""
        t0 = time.time()
        self.kind.apply(changed=changed, missing=missing, extra=extra)
        t1 = time.time()
        for k, v in dict(changed or {}, **(extra or {})).items():
            self.live[k] = v
        for k in missing:
            self.live.pop(k, None)
        self.loose.append([t0, t1 + 0.05])
        self.record(t1)

    def restore(self):
        # a key that is gone is added again (an update would not create it)
        bad = {k: v for k, v in FLAT.items() if k in self.live and self.live[k] != v}
        gone = {k: v for k, v in FLAT.items() if k not in self.live}
        extras = [k for k in self.live if k not in FLAT]
        if bad or gone or extras:
            self.write(changed=bad, missing=extras, extra=gone)
            return True
        return False

    def fault(self, down=False):
        iv = [time.time(), None]
        self.faults.append(iv)
        if down:
            self.down.append(iv)     # the same list: ends together
        return iv

    # checking one result
    @staticmethod
    def _overlaps(a0, a1, ivs, extend=0.0):
        now = time.time()
        for t0, t1 in ivs:
            end = (now + 3600 if t1 is None else t1) + extend
            if a0 <= end and t0 <= a1:
                return True
        return False

    def _state_in(self, a0, a1, want):
        for i, (since, c) in enumerate(self.states):
            until = self.states[i + 1][0] if i + 1 < len(self.states) else time.time() + 3600
            if since <= a1 and a0 <= until and (want is None or c == want):
                return True
        return False

    def _inside_down(self, a0, a1):
        for t0, t1 in self.down:
            if t0 <= a0 and (t1 is None or a1 <= t1):
                return True
        return False

    def check(self, line):
        """None if the result could be true, else why not."""
        end = epoch(line["ts"]) + 0.001     # the log's stamp is truncated to ms
        start = end - line.get("duration_us", 0) / 1e6 - SLACK_S
        res = line["result"]
        if res == "unknown":
            if self._overlaps(start, end, self.faults, self.grace):
                return None
            return "unknown without a fault (reason: %s)" % line.get("reason")
        if self._inside_down(start, end):
            return "%s while the server could not answer" % res
        if self._overlaps(start, end, self.loose):
            return None
        want = (0, 0, 0) if res == "ok" else (line.get("changed"), line.get("missing"),
                                               line.get("extra"))
        if self._state_in(start, end, want):
            return None
        return "%s %s, but the datasource held %s" % (
            res, want, [c for s, c in self.states if s <= end][-1:])


class Soak:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.host = Host("runTest")
        self.host.setUp()
        self.models = {}
        self.faults = 0
        self.checked = 0
        self.false = []
        self.peak_rss = self.peak_fds = 0
        self.base_rss = self.base_fds = None
        self.seen_lines = 0      # log lines read by note_workers()
        self.pending = []        # result lines not checked yet
        self.worker_pids = {}    # worker kind -> pid, from the log
        self.peer_off = 0        # bytes of the peer's log read
        self.poll_toggle = False
        self.extra_n = 0
        self.workers_busy = {}   # worker kind -> fault interval until it runs again

    def log(self, msg):
        print("soak: %7.1fs %s" % (time.monotonic() - self.t0, msg), flush=True)

    # setting up
    def start(self):
        self.t0 = time.monotonic()
        for key in self.args.kinds:
            adapter, heal, proc, freezes = KINDS[key]
            k = adapter(self.host)
            k.start()
            k.write_baseline(FLAT)
            self.models[key] = Model(key, k, heal, proc, freezes)
        self.git = self.host.repo({"config/app.yaml": APP_YAML})
        self.peer = Peer(self.host.tmp)
        self.peer.start()
        self.host.cleanups.append(self.peer.stop)
        self.w = self.host.watcher(self.config(), env={"VTW_TEST_RESTART_BACKOFF_MAX_MS": "1000"})
        for m in self.models.values():
            self.w.wait_log(rule_ok(m.rule), 60, what="first OK poll of " + m.rule)
        self.log("warm: %d rules OK" % len(self.models))

    def config(self, poll="1s"):
        ds = "".join(m.kind.datasource_yaml(conformance.BREAKER) for m in self.models.values())
        rules = "".join(m.kind.rule_yaml(m.rule, self.git.path, "    self_heal: %s\n" % (
            "true" if m.heal else "false")) for m in self.models.values())
        text = watcher_config(self.host.tmp, ds, rules, poll)
        return text.replace("watcher:\n", "watcher:\n  orchestrator:\n    addr: "
                            "\"127.0.0.1:%d\"\n    heal_timeout: 2s\n" % self.peer.port, 1)

    # watching
    def sample(self):
        pid = self.w.proc.pid
        if self.w.proc.poll() is not None:
            raise SystemExit("soak: the supervisor exited with %s" % self.w.proc.returncode)
        fds = len(os.listdir("/proc/%d/fd" % pid))
        with open("/proc/%d/status" % pid) as f:
            rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
        self.peak_fds = max(self.peak_fds, fds)
        self.peak_rss = max(self.peak_rss, rss)
        if self.base_rss is None:
            self.base_rss, self.base_fds = rss, fds

    def serve_heals(self):
        # the peer's log, read on from where the last look ended
        if not os.path.exists(self.peer.log):
            return
        with open(self.peer.log) as f:
            f.seek(self.peer_off)
            chunk = f.read()
        end = chunk.rfind("\n") + 1
        self.peer_off += len(chunk[:end].encode())
        for raw in chunk[:end].splitlines():
            c = json.loads(raw)
            if not c.get("method", "").endswith("SyncDatasource"):
                continue
            ds = c.get("fields", {}).get("datasource")
            m = next((m for m in self.models.values() if m.kind.datasource == ds), None)
            if m is not None and m.up and c.get("mode") == "ok" and m.restore():
                self.log("heal: restored %s after SyncDatasource" % m.key)

    def new_lines(self):
        """The watcher's log lines not seen yet (without copying it all)."""
        with self.w.lock:
            out = self.w.lines[self.seen_lines:]
        self.seen_lines += len(out)
        return out

    def wait(self, seconds):
        """Sleep in steps, serving heals, noting restarted workers and
        sampling the supervisor."""
        end = time.monotonic() + seconds
        while True:
            self.serve_heals()
            self.note_workers()
            self.sample()
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(0.1, left))

    def note_workers(self):
        """Read new log lines: workers running again, results to check."""
        for l in self.new_lines():
            msg = l.get("msg", "")
            if l.get("result") in ("ok", "drift", "unknown") and l.get("rule"):
                self.pending.append(l)
            elif msg.startswith("worker ") and "is sandboxed and running" in msg:
                name = msg.split()[1]
                pid = int(msg.split("(pid ")[1].split(")")[0])
                self.worker_pids[name] = pid
                busy = self.workers_busy.get(name)
                if busy is not None and pid != busy[1]:
                    busy[0][1] = time.time()
                    del self.workers_busy[name]

    def check_lines(self, upto):
        """Check every result line that ended before upto (epoch s)."""
        self.note_workers()
        i = 0
        while i < len(self.pending) and epoch(self.pending[i]["ts"]) <= upto:
            l = self.pending[i]
            m = next((m for m in self.models.values() if m.rule == l["rule"]), None)
            if m is not None:
                self.checked += 1
                m.last_result = epoch(l["ts"])
                why = m.check(l)
                if why is not None:
                    self.false.append(why)
                    self.log("FALSE %s at %s: %s" % (m.rule, l["ts"], why))
            i += 1
        del self.pending[:i]
        now = time.time()
        for m in self.models.values():
            if m.last_result is not None and now - m.last_result > STALL_S + 15:
                self.false.append("stalled")
                self.log("FALSE %s: no poll result for %.0f s" % (m.rule, now - m.last_result))
                m.last_result = now

    # the faults
    def up_models(self):
        return [m for m in self.models.values() if m.up]

    def f_drift(self):
        m = self.rng.choice(self.up_models())
        what = self.rng.choice(("change", "delete", "extra"))
        present = sorted(k for k in FLAT if k in m.live)
        if what == "change" and present:
            k = self.rng.choice(present)
            m.write(changed={k: "soak-%d" % self.rng.randrange(1000)})
        elif what == "delete" and present:
            k = self.rng.choice(present)
            m.write(missing=[k])
        else:
            self.extra_n += 1
            k = "soak_extra_%d" % self.extra_n
            m.write(extra={k: "x"})
        self.log("drift %s: %s %s -> %s" % (m.key, what, k, m.counts()))

    def f_restore(self):
        m = self.rng.choice(self.up_models())
        m.restore()
        self.log("restore %s" % m.key)

    def f_kill9(self):
        m = self.rng.choice(list(self.models.values()))
        name = m.kind.name
        if name in self.workers_busy:
            return self.f_drift()
        self.note_workers()
        pid = self.worker_pids[name]
        iv = m.fault()
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:      # restarting already
            iv[1] = time.time()
            return
        self.workers_busy[name] = (iv, pid)
        self.log("kill -9 worker %s (pid %d)" % (name, pid))

    def f_freeze(self):
        cands = [m for m in self.up_models() if m.proc is not None]
        if not cands:
            return self.f_drift()
        m = self.rng.choice(cands)
        secs = self.rng.uniform(1, 4)
        proc = m.proc(m.kind)
        iv = m.fault()
        m.up = False
        os.kill(proc.pid, signal.SIGSTOP)
        # down from when it is stopped to just before it goes on (a read
        # blocked meanwhile is answered after the SIGCONT: not from inside)
        down = [time.time(), None]
        if m.freezes:
            m.down.append(down)
        self.log("SIGSTOP %s for %.1f s" % (m.key, secs))
        try:
            self.wait(secs)
        finally:
            down[1] = time.time()
            os.kill(proc.pid, signal.SIGCONT)
            iv[1] = time.time()
            m.up = True

    def f_restart(self):
        m = self.rng.choice(self.up_models())
        iv = m.fault()
        m.up = False
        self.log("restart %s" % m.key)
        m.kind.stop()
        # down once it has exited (ZooKeeper takes a while), until it is
        # started again: it answers before restart() has seen it answer
        down = [time.time(), None]
        m.down.append(down)
        self.wait(self.rng.uniform(0.5, 2))
        down[1] = t0 = time.time()
        m.kind.restart()
        # back, maybe empty, until the data is written again: anything goes
        if isinstance(m.kind, conformance.FileKind):
            m.kind.cur = {}
        m.kind.write_baseline(m.live)
        m.loose.append([t0, time.time() + 0.05])
        iv[1] = time.time()
        m.up = True

    def f_hup(self):
        self.poll_toggle = not self.poll_toggle
        with open(self.w.config, "w") as f:
            f.write(self.config("900ms" if self.poll_toggle else "1s"))
        mark = self.w.mark()
        self.w.proc.send_signal(signal.SIGHUP)
        self.log("SIGHUP (poll_interval %s)" % ("900ms" if self.poll_toggle else "1s"))
        self.w.wait_log(lambda l: l.get("msg", "").startswith("configuration reloaded"), 20,
                        start=mark, what="the reload")

    def f_hup_bad(self):
        with open(self.w.config) as f:
            good = f.read()
        with open(self.w.config, "w") as f:
            f.write(good.replace("rules:\n", "rules: [\n", 1))
        mark = self.w.mark()
        self.w.proc.send_signal(signal.SIGHUP)
        self.log("SIGHUP with a broken file")
        self.w.wait_log(lambda l: "reload failed" in l.get("msg", ""), 20, start=mark,
                        what="the refused reload")
        with open(self.w.config, "w") as f:
            f.write(good)

    def f_peer(self):
        mode = self.rng.choice(("unavailable", "hang"))
        secs = self.rng.uniform(2, 5)
        self.log("orchestrator %s for %.1f s" % (mode, secs))
        self.peer_mode(mode)
        try:
            self.wait(secs)
        finally:
            self.peer_mode("ok")

    def peer_mode(self, mode):
        port = self.peer.port
        self.peer.stop()
        self.peer.args[self.peer.args.index("--mode") + 1] = mode
        self.peer.start(port=port)

    FAULTS = (("drift", 5), ("restore", 2), ("kill9", 2), ("freeze", 2), ("restart", 1.5),
              ("hup", 1), ("hup_bad", 1), ("peer", 1))

    def run(self):
        self.start()
        self.wait(3)
        self.base_rss = None     # after warm-up
        self.sample()
        deadline = time.monotonic() + self.args.minutes * 60
        names = [n for n, _ in self.FAULTS]
        weights = [w for _, w in self.FAULTS]
        while time.monotonic() < deadline:
            f = self.rng.choices(names, weights)[0]
            getattr(self, "f_" + f)()
            self.faults += 1
            self.wait(self.rng.uniform(0.3, 2.0))
            self.check_lines(time.time() - 12)
        # let every fault end and its grace pass, then check the rest
        for m in self.models.values():
            m.restore()
        def settled():
            self.note_workers()
            return not self.workers_busy
        wait_until(settled, 30, what="the killed workers to run again")
        self.wait(max(m.grace for m in self.models.values()) + 3)
        self.check_lines(time.time() - 1)
        for m in self.models.values():
            last = [l for l in self.w.logs() if l.get("rule") == m.rule and
                    l.get("result") in ("ok", "drift", "unknown")]
            if not last or last[-1]["result"] != "ok":
                self.false.append("not OK at the end")
                self.log("FALSE %s: not OK at the end (%s)" % (
                    m.rule, last[-1]["result"] if last else "no polls"))
        bad = []
        if self.peak_fds > self.base_fds + FD_MARGIN:
            bad.append("descriptors grew from %d to %d" % (self.base_fds, self.peak_fds))
        if self.peak_rss > 2 * self.base_rss + RSS_MARGIN_KIB:
            bad.append("RSS grew from %d KiB to %d KiB" % (self.base_rss, self.peak_rss))
        for b in bad:
            self.log("BOUND " + b)
        print("soak: seed %d: %d faults injected, %d polls checked, %d false results, "
              "peak RSS %d KiB, peak fds %d" % (self.args.seed, self.faults, self.checked,
                                                len(self.false), self.peak_rss, self.peak_fds),
              flush=True)
        return 0 if not self.false and not bad else 1


def main():
    ap = argparse.ArgumentParser(description="seeded chaos soak of vartrack-watcher")
    ap.add_argument("--minutes", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--kinds", default=",".join(KINDS),
                    help="comma-separated, of: " + ", ".join(KINDS))
    ap.add_argument("--keep", action="store_true", help="keep the watcher's log")
    args = ap.parse_args()
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1 << 31)
    args.kinds = [k for k in args.kinds.split(",") if k]
    for k in args.kinds:
        if k not in KINDS:
            ap.error("unknown kind %r" % k)
    print("soak: seed %d, %.1f minutes, kinds %s (replay: --seed %d)" % (
        args.seed, args.minutes, ",".join(args.kinds), args.seed), flush=True)
    # a SIGTERM (CI's timeout, kill) still stops every server by PID
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    s = Soak(args)
    rc = 1
    try:
        rc = s.run()
    finally:
        if args.keep and hasattr(s, "w"):
            import shutil
            shutil.copy(s.w.config, "/tmp/soak-watcher.yaml")
            with open("/tmp/soak-watcher.log", "w") as f:
                f.write("\n".join(s.w.raw) + "\n")
            print("soak: log kept in /tmp/soak-watcher.log")
        s.host.tearDown()
    sys.exit(rc)


if __name__ == "__main__":
    main()
