#!/usr/bin/python3
"""Failover and handover of the Redis-lock leader election, measured on
loopback: three replicas (lease 3 s, renew 500 ms, deadline 2 s), one
real redis-server for the data, one for the lock, the gRPC peer.

  failover: kill -9 of the leader -> the first heal call by another
            replica (a drift is written right after the kill)
  handover: SIGTERM of the leader -> another replica holds the lock
  load:     commands per second the election adds on the lock's Redis,
            per replica (INFO stats over 10 s, divided by 3)

usage: VTW_BIN=build/bin scripts/bench_ha.py [runs]   (default 10)
"""
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "../tests/integration"))
from harness import GitRepo, Redis, wait_until  # noqa: E402
from test_ha import Replicas, instance  # noqa: E402
from test_heal import Peer, restore_cmd  # noqa: E402
from test_redis import APP_YAML, write_hash  # noqa: E402


class Bench(Replicas):
    """Replicas' helpers, driven by hand (no unittest run)."""

    def __init__(self):
        super().__init__("test_one_leader_heals_all_detect")

    def fresh(self):
        self.setUp_bench()
        self.p = Peer(self.tmp, on_sync=restore_cmd(self.r))
        self.p.start()
        self.cleanups.append(self.p.stop)
        return self.three(self.p)

    def setUp_bench(self):
        self.tmp = tempfile.mkdtemp(prefix="vtw-bench-ha-")
        os.chmod(self.tmp, 0o755)
        self.cleanups, self.watchers = [], []
        self.r = Redis(self.tmp)
        self.r.start()
        self.cleanups.append(self.r.stop)
        self.e = Redis(os.path.join(self.tmp, "e"))
        self.e.start()
        self.cleanups.append(self.e.stop)
        self.g = GitRepo(self.tmp)
        self.g.commit({"config/app.yaml": APP_YAML}, "initial")
        write_hash(self.r)

    def done(self):
        self.tearDown()


def stats(xs):
    return "min %.2f s  median %.2f s  max %.2f s" % (min(xs), statistics.median(xs), max(xs))


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    fail, hand = [], []
    for _ in range(runs):
        b = Bench()
        ws, lead = b.fresh()
        ws[lead].proc.kill()
        t0 = time.monotonic()
        b.drift()
        wait_until(lambda: [c for c in b.p.calls() if instance(c) != "r%d" % lead], 20)
        fail.append(time.monotonic() - t0)
        b.done()
    for _ in range(runs):
        b = Bench()
        ws, lead = b.fresh()
        t0 = time.monotonic()
        ws[lead].stop()
        wait_until(lambda: b.holder() not in ("", "r%d" % lead) and b.holder(), 20)
        hand.append(time.monotonic() - t0)
        b.done()
    b = Bench()
    b.fresh()

    def cmds():
        out = b.e.cli("INFO", "stats")
        return int([l for l in out.splitlines()
                    if l.startswith("total_commands_processed:")][0].split(":")[1])
    c0, t0 = cmds(), time.monotonic()
    time.sleep(10)      # a measuring window, not synchronisation
    rate = (cmds() - c0 - 1) / (time.monotonic() - t0) / 3
    b.done()
    print("failover (kill -9 leader -> first heal by another), %d runs: %s" % (runs, stats(fail)))
    print("handover (SIGTERM leader -> new holder), %d runs: %s" % (runs, stats(hand)))
    print("election load on its Redis: %.1f commands/s per replica, the "
          "scripts' own SET/GET/PEXPIRE counted "
          "(renew every 500 ms; at the default 5 s: a tenth of that)" % rate)


if __name__ == "__main__":
    main()
