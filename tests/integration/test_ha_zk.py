"""Several replicas, one leader, elected through a real ZooKeeper (watcher.ha,
backend zookeeper): test_ha.py's three-replica tests (one heals, all
detect; kill -9; SIGTERM; SIGSTOP past the session; the store stopped and
back; idle standbys) run again with the election in ZooKeeper, plus what
is ZooKeeper's own (the candidates' names and data, a standby's node going
with its SIGTERM).

The data stays on redis-server (as in test_ha.py); the election has its own
znode path. Short times: ZooKeeper ticks every 500 ms (sessions may be
1..10 s), session_timeout 4 s, renew every 500 ms, renew deadline 2 s."""
import re
import time

import test_ha
from harness import wait_until
from test_heal import HealTest, restore_cmd

SESSION_S, RENEW, DEADLINE = 4.0, "500ms", "2s"
PATH = "/vtw-it/ha/election"
CANDIDATE = re.compile(r"^[0-9a-f]{32}-n_[0-9]{10}$")


# test_ha.Replicas, not imported by name: unittest would run it here too
class ZooKeeperReplicas(test_ha.Replicas):
    BACKEND, TTL_S = "zookeeper", SESSION_S

    def setUp(self):
        HealTest.setUp(self)
        self.e = self.zookeeper(tick_ms=500)   # the election store

    def ha_yaml(self, i, standbys_poll):
        return ("  ha:\n    backend: zookeeper\n    instance_id: r%d\n"
                "    renew_interval: %s\n    renew_deadline: %s\n"
                "    standbys_poll: %s\n    zookeeper:\n      hosts: [\"%s\"]\n"
                "      path: %s\n      session_timeout: %ds\n"
                % (i, RENEW, DEADLINE, "true" if standbys_poll else "false",
                   self.e.hosts, PATH, SESSION_S))

    def candidates(self):
        """{name: data} of the election's children, sorted by sequence."""
        kz = self.e._shared()
        names = sorted((n for n in kz.get_children(PATH) if CANDIDATE.match(n)),
                       key=lambda n: n[-10:])
        return [(n, kz.get(PATH + "/" + n)[0].decode()) for n in names]

    def holder(self):
        """The lowest candidate's instance id, as a standby reads it."""
        try:
            c = self.candidates()
        except Exception:
            return ""
        return c[0][1] if c else ""

    def test_candidates_carry_a_guid_and_the_instance_id(self):
        p = self.peer(on_sync=restore_cmd(self.r))
        ws, lead = self.three(p)
        c = wait_until(lambda: len(self.candidates()) == 3 and self.candidates(), 10,
                       what="three candidates")
        self.assertEqual(sorted(d for _, d in c), ["r0", "r1", "r2"], c)
        self.assertEqual(len({n[:32] for n, _ in c}), 3, c)
        self.assertEqual(c[0][1], "r%d" % lead, "the lowest sequence leads")
        for i, w in enumerate(ws):
            if i != lead:
                self.assertEqual(w.metric('vartrack_watcher_leader{instance="r%d"}' % i), 0)
            self.assertEqual(w.metric('vartrack_watcher_election_up{backend="zookeeper"}'),
                             1)

    def test_a_stopped_standby_takes_its_candidate_with_it(self):
        p = self.peer(on_sync=restore_cmd(self.r))
        ws, lead = self.three(p)
        wait_until(lambda: len(self.candidates()) == 3, 10, what="three candidates")
        s = (lead + 1) % 3
        t0 = time.monotonic()
        self.assertEqual(ws[s].stop(), 0)
        # the session is closed, not left to expire (its node would stand
        # in line for the whole session timeout)
        wait_until(lambda: "r%d" % s not in [d for _, d in self.candidates()],
                   SESSION_S / 2, what="the standby's candidate gone")
        self.assertLess(time.monotonic() - t0, SESSION_S)
        self.assertEqual(self.holder(), "r%d" % lead)

    def test_a_leader_whose_connection_drops_stops_at_once_and_resumes(self):
        p = self.peer(on_sync=restore_cmd(self.r))
        ws, lead = self.three(p)
        marks = [w.mark() for w in ws]
        self.e.stop()
        # CONNECTING (Curator's SUSPENDED): not the renew deadline running out
        line = ws[lead].wait_log(lambda l: l.get("role") == "standby", 5,
                                 start=marks[lead])
        self.assertIn("the connection to the election store dropped", line["msg"], line)
        # back within the session: the same sessions, the same lowest node;
        # it leads again once it has seen its node there
        self.e.start()
        ws[lead].wait_log(lambda l: l.get("role") == "leader", 10, start=marks[lead])
        self.assertEqual(self.holder(), "r%d" % lead)
        for i, w in enumerate(ws):
            if i != lead:
                self.assertEqual(w.find(lambda l: l.get("role") == "leader", marks[i]), [])
