#!/usr/bin/python3
"""Failover and handover of the leader election, measured on loopback:
three replicas (renew 500 ms, deadline 2 s), one real redis-server for the
data, the gRPC peer, and the election store: a second redis-server (lease
3 s) or, with "zookeeper", a real ZooKeeper (tickTime 500 ms, session
timeout 4 s), as test_ha.py and test_ha_zk.py run them.

  failover: kill -9 of the leader -> the first heal call by another
            replica (a drift is written right after the kill)
  handover: SIGTERM of the leader -> another replica holds the lock
  load:     commands per second the election adds on the lock's Redis,
            per replica (INFO stats over 10 s, divided by 3); ZooKeeper:
            packets received (mntr) over 10 s, divided by 3

usage: VTW_BIN=build/bin scripts/bench_ha.py [runs [redis|zookeeper]]
       (default 10 redis)
"""
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "../tests/integration"))
from harness import GitRepo, Redis, ZooKeeper, wait_until  # noqa: E402
from test_ha import Replicas, instance  # noqa: E402
from test_ha_zk import ZooKeeperReplicas  # noqa: E402
from test_heal import Peer, restore_cmd  # noqa: E402
from test_redis import APP_YAML, write_hash  # noqa: E402


class Bench(Replicas):
    """Replicas' helpers, driven by hand (no unittest run)."""
    BASE = Replicas

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
        if self.BASE is ZooKeeperReplicas:
            self.e = ZooKeeper(self.tmp, tick_ms=500)
        else:
            self.e = Redis(os.path.join(self.tmp, "e"))
        self.e.start()
        self.cleanups.append(self.e.stop)
        self.g = GitRepo(self.tmp)
        self.g.commit({"config/app.yaml": APP_YAML}, "initial")
        write_hash(self.r)

    def done(self):
        self.tearDown()

    def load(self):
        """The store's request counter."""
        if self.BASE is ZooKeeperReplicas:
            return int([l for l in self.e.four("mntr").splitlines()
                        if l.startswith("zk_packets_received")][0].split()[1])
        out = self.e.cli("INFO", "stats")
        return int([l for l in out.splitlines()
                    if l.startswith("total_commands_processed:")][0].split(":")[1])


class BenchZk(ZooKeeperReplicas, Bench):
    BASE = ZooKeeperReplicas

    def __init__(self):
        Bench.__init__(self)


def stats(xs):
    return "min %.2f s  median %.2f s  max %.2f s" % (min(xs), statistics.median(xs), max(xs))


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    zk = len(sys.argv) > 2 and sys.argv[2] == "zookeeper"
    Bench_ = BenchZk if zk else Bench
    fail, hand = [], []
    for _ in range(runs):
        b = Bench_()
        ws, lead = b.fresh()
        ws[lead].proc.kill()
        t0 = time.monotonic()
        b.drift()
        wait_until(lambda: [c for c in b.p.calls() if instance(c) != "r%d" % lead], 20)
        fail.append(time.monotonic() - t0)
        b.done()
    for _ in range(runs):
        b = Bench_()
        ws, lead = b.fresh()
        t0 = time.monotonic()
        ws[lead].stop()
        wait_until(lambda: b.holder() not in ("", "r%d" % lead) and b.holder(), 20)
        hand.append(time.monotonic() - t0)
        b.done()
    b = Bench_()
    b.fresh()
    c0, t0 = b.load(), time.monotonic()
    time.sleep(10)      # a measuring window, not synchronisation
    rate = (b.load() - c0 - 1) / (time.monotonic() - t0) / 3
    b.done()
    name = "zookeeper" if zk else "redis"
    print("[%s] failover (kill -9 leader -> first heal by another), %d runs: %s"
          % (name, runs, stats(fail)))
    print("[%s] handover (SIGTERM leader -> new holder), %d runs: %s" % (name, runs, stats(hand)))
    if zk:
        print("[zookeeper] election load: %.1f requests/s per replica, pings "
              "counted (renew every 500 ms; at the default 5 s: less)" % rate)
    else:
        print("[redis] election load on its Redis: %.1f commands/s per replica, the "
              "scripts' own SET/GET/PEXPIRE counted "
              "(renew every 500 ms; at the default 5 s: a tenth of that)" % rate)


if __name__ == "__main__":
    main()
