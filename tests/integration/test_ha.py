"""Several replicas, one leader (watcher.ha, backend redis): three watchers
on one real redis-server holding the data, a second real redis-server
holding the lock (db 4, vtwatch:leader, as the Go watcher), and one gRPC
peer (orchestrator_peer.py) that records who called through the metadata
x-vartrack-watcher-instance.

Short times so the tests are quick: lease 3 s, renew every 500 ms, renew
deadline 2 s."""
import os
import signal
import time

from harness import Watcher, rule_drift, rule_ok, redis_datasource, wait_until, watcher_config
from test_heal import HealTest, restore_cmd
from test_redis import PREFIX, hash_rule

LEASE_S, RENEW, DEADLINE = 3.0, "500ms", "2s"
KEY = "vtwatch:leader"


def instance(call):
    return call.get("metadata", {}).get("x-vartrack-watcher-instance")


class Replicas(HealTest):
    BACKEND, TTL_S = "redis", LEASE_S   # test_ha_zk.py runs these on ZooKeeper

    def setUp(self):
        super().setUp()
        self.e = self.redis()   # the election store, apart from the data

    def replica(self, i, peer, standbys_poll=True, ha_extra="", orch_extra="", rule_extra=""):
        d = os.path.join(self.tmp, "r%d" % i)
        os.makedirs(d)
        os.chmod(d, 0o755)
        rule = hash_rule("app", "    self_heal: true\n" + rule_extra).format(repo=self.g.path)
        text = watcher_config(d, redis_datasource(self.r), rule, "300ms")
        ha = self.ha_yaml(i, standbys_poll) + ha_extra
        text = text.replace("watcher:\n", "watcher:\n  orchestrator:\n    addr: "
                            "\"127.0.0.1:%d\"\n    heal_timeout: 2s\n    retry_initial: 300ms\n"
                            "%s%s" % (peer.port, orch_extra, ha), 1)
        w = Watcher(d, text)
        self.watchers.append(w)
        w.start()
        self.cleanups.append(w.stop)
        return w

    def ha_yaml(self, i, standbys_poll):
        return ("  ha:\n    backend: redis\n    instance_id: r%d\n    lease: %ds\n"
                "    renew_interval: %s\n    renew_deadline: %s\n"
                "    standbys_poll: %s\n    redis:\n      hosts: [\"127.0.0.1:%d\"]\n"
                % (i, LEASE_S, RENEW, DEADLINE, "true" if standbys_poll else "false",
                   self.e.port))

    def holder(self):
        return self.e.cli("GET", KEY, db=4)

    def three(self, peer, **kw):
        ws = [self.replica(i, peer, **kw) for i in range(3)]
        lead = wait_until(lambda: self.holder(), 10, what="a leader")
        for w in ws:
            w.wait_log(rule_ok("app"), 15)
        return ws, int(lead[1:])

    def drift(self):
        self.r.cli("HSET", PREFIX + ":vartrack", "max_connections", "5")

    def test_one_leader_heals_all_detect(self):
        # the orchestrator's task takes a while (as a Celery task does):
        # every replica's 300 ms polls see the drift before it is healed
        p = self.peer(on_sync="sleep 1.5; " + restore_cmd(self.r))
        ws, lead = self.three(p)
        self.assertEqual(ws[lead].metric('vartrack_watcher_leader{instance="r%d"}' % lead), 1)
        marks = [w.mark() for w in ws]
        self.drift()
        for w, m in zip(ws, marks):
            w.wait_log(rule_drift("app"), 10, start=m)
        ws[lead].wait_log(lambda l: l.get("result") == "heal_accepted", 10, start=marks[lead])
        ws[lead].wait_log(rule_ok("app"), 10, start=marks[lead])
        # every standby saw the drift, deferred, and then saw it healed
        for i, w in enumerate(ws):
            if i == lead:
                continue
            d = w.find(rule_drift("app"), marks[i])[0]
            self.assertEqual(d.get("heal"), "deferred to leader r%d" % lead, d)
            w.wait_log(rule_ok("app"), 10, start=marks[i])
            self.assertEqual(w.metric('vartrack_watcher_leader{instance="r%d"}' % i), 0)
            self.assertGreaterEqual(w.metric('vartrack_watcher_drift_total{datasource="redis"}'),
                                    1)
        calls = p.calls()
        self.assertTrue(calls)
        self.assertEqual({instance(c) for c in calls}, {"r%d" % lead}, calls)

    def test_a_killed_leader_is_replaced_within_the_lease(self):
        p = self.peer(on_sync=restore_cmd(self.r))
        ws, lead = self.three(p)
        ws[lead].proc.kill()
        t0 = time.monotonic()
        self.drift()
        call = wait_until(lambda: [c for c in p.calls() if instance(c) != "r%d" % lead],
                          self.TTL_S + 5, what="a heal by another replica")[0]
        took = time.monotonic() - t0
        # the lock expires after the lease; a standby tries every renew_interval
        self.assertLess(took, self.TTL_S + 1.5, took)
        self.assertNotEqual(instance(call), "r%d" % lead)
        self.assertEqual(self.holder(), instance(call))

    def test_sigterm_hands_over_within_one_retry(self):
        p = self.peer(on_sync=restore_cmd(self.r))
        ws, lead = self.three(p)
        marks = [w.mark() for w in ws]
        t0 = time.monotonic()
        self.assertEqual(ws[lead].stop(), 0)
        new = wait_until(lambda: self.holder() not in ("", "r%d" % lead) and self.holder(),
                         LEASE_S, what="a new holder")
        took = time.monotonic() - t0
        self.assertLess(took, 1.5, "handover took %.2fs: the lock was not released" % took)
        i = int(new[1:])
        ws[i].wait_log(lambda l: l.get("role") == "leader", 5, start=marks[i])

    def test_a_frozen_leader_does_not_heal_when_it_wakes(self):
        # no restore: the drift stays, every poll of the leader sees it
        p = self.peer()
        ws, lead = self.three(p)
        old = ws[lead]
        os.kill(old.proc.pid, signal.SIGSTOP)
        self.cleanups.append(lambda: os.kill(old.proc.pid, signal.SIGCONT))
        t_stop = time.time()
        new = wait_until(lambda: self.holder() not in ("", "r%d" % lead) and self.holder(),
                         self.TTL_S + 3, what="a new leader while the old one is frozen")
        self.drift()
        wait_until(lambda: [c for c in p.calls() if instance(c) == new], 10,
                   what="a heal by the new leader")
        mark = old.mark()
        os.kill(old.proc.pid, signal.SIGCONT)
        # the old leader wakes, polls, sees the drift several times ...
        wait_until(lambda: len(old.find(rule_drift("app"), mark)) >= 4, 15,
                   what="the woken leader's drift lines")
        old.wait_log(lambda l: l.get("role") == "standby", 5, start=mark)
        # ... and never called the orchestrator after it was frozen
        late = [c for c in p.calls() if instance(c) == "r%d" % lead and c["t"] >= t_stop]
        self.assertEqual(late, [])
        d = old.find(rule_drift("app"), mark)[-1]
        self.assertEqual(d.get("heal"), "deferred to leader %s" % new, d)

    def test_no_election_store_no_heals_detection_goes_on(self):
        p = self.peer(on_sync=restore_cmd(self.r))
        ws, lead = self.three(p)
        marks = [w.mark() for w in ws]
        self.e.stop()
        for w, m in zip(ws, marks):
            w.wait_log(lambda l: "election store " + self.BACKEND in l.get("msg", "") and
                       "unreachable" in l.get("msg", ""), 10, start=m)
        ws[lead].wait_log(lambda l: l.get("role") == "standby", 5, start=marks[lead])
        n0 = len(p.calls())
        self.drift()
        for w, m in zip(ws, marks):
            d = w.wait_log(rule_drift("app"), 10, start=m)
            self.assertEqual(d.get("heal"), "no leader: election store unreachable", d)
        for w, m in zip(ws, marks):
            wait_until(lambda: len(w.find(rule_drift("app"), m)) >= 3, 10)
            self.assertEqual(w.metric('vartrack_watcher_election_up{backend="%s"}'
                                      % self.BACKEND), 0)
        self.assertEqual(len(p.calls()), n0)
        # the store is back: one leader, the drift is healed by it alone
        marks = [w.mark() for w in ws]
        self.e.start()
        wait_until(lambda: self.holder(), 10, what="a leader again")
        wait_until(lambda: len(p.calls()) > n0, 10, what="the heal")
        for w, m in zip(ws, marks):
            w.wait_log(rule_ok("app"), 10, start=m)
        self.assertEqual({instance(c) for c in p.calls()[n0:]}, {self.holder()})

    def test_standbys_can_idle(self):
        p = self.peer(on_sync=restore_cmd(self.r))
        ws = [self.replica(i, p, standbys_poll=False) for i in range(2)]
        lead = int(wait_until(lambda: self.holder(), 10, what="a leader")[1:])
        ws[lead].wait_log(rule_ok("app"), 15)
        wait_until(lambda: len(ws[lead].find(rule_ok("app"))) >= 3, 10)
        self.assertEqual(ws[1 - lead].find(lambda l: "result" in l), [])
