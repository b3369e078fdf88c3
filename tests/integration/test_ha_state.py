"""Shared state between replicas (watcher.ha.state: redis): the leader
writes each rule's record (vtwatch:rule:<id>, db 3 of the election's
redis-server), standbys read it, compare their Git with it and keep its
heal state, so a new leader continues the old one's flap guard and
back-off instead of starting a fresh round of heal calls.

Same set-up as test_ha.py (three replicas, lease 3 s, 300 ms polls)."""
import json
import subprocess
import time

import test_ha
from fixtures import APP_YAML
from harness import rule_drift, wait_until
from test_ha import KEY, LEASE_S, instance

STATE = ("    state: redis\n")
FLAP = "    flap_limit: 2\n    flap_holdoff: 60s\n"
RKEY = "vtwatch:rule:app"


class SharedState(test_ha.Replicas):
    # test_ha's own tests run there, not again here
    locals().update({n: None for n in dir(test_ha.Replicas) if n.startswith("test_")})

    def shared(self, i, peer, **kw):
        return self.replica(i, peer, ha_extra=STATE, orch_extra=FLAP,
                            rule_extra="    id: app\n", **kw)

    def record(self):
        out = self.e.cli("HGETALL", RKEY, db=3).split("\n")
        return dict(zip(out[0::2], out[1::2])) if len(out) > 1 else {}

    def head(self):
        return subprocess.run(["git", "-C", self.g.path, "rev-parse", "HEAD"], check=True,
                              capture_output=True, text=True).stdout.strip()

    def heal(self):
        h = self.record().get("heal")
        return json.loads(h) if h else {}

    def test_flap_guard_survives_a_failover(self):
        # the orchestrator accepts but nothing changes: after two accepted
        # heals the leader's flap guard holds off for 60 s
        p = self.peer()
        ws = [self.shared(i, p) for i in range(3)]
        lead = int(wait_until(lambda: self.holder(), 10, what="a leader")[1:])
        for w in ws:
            w.wait_log(lambda l: l.get("result") == "ok", 15)
        marks = [w.mark() for w in ws]
        self.drift()
        ws[lead].wait_log(lambda l: l.get("result") == "heal_ineffective", 15,
                          start=marks[lead])
        self.assertEqual(len(p.calls()), 2)
        wait_until(lambda: self.heal().get("holdoff_until", 0) > time.time() * 1000 + 30000,
                   5, what="the hold-off in the shared record")
        rec = self.record()
        self.assertEqual(rec["by"], "r%d" % lead)
        self.assertEqual(rec["result"], "drift")
        self.assertIn("max_connections", json.loads(rec["drifted"]))
        self.assertRegex(rec["digest"], "^[0-9a-f]{64}$")
        self.assertEqual(rec["commit"], self.head())
        self.assertGreater(int(self.e.cli("PTTL", RKEY, db=3)), 0)
        # every standby has read the record since
        for i, w in enumerate(ws):
            if i != lead:
                m = w.mark()
                wait_until(lambda: len(w.find(rule_drift("app"), m)) >= 2, 10)
        ws[lead].proc.kill()
        new = wait_until(lambda: self.holder() not in ("", "r%d" % lead) and self.holder(),
                         LEASE_S + 3, what="a new leader")
        nw = ws[int(new[1:])]
        took = nw.wait_log(lambda l: "heal state taken over from r%d" % lead in l.get("msg", "")
                           and "flap guard holding off" in l.get("msg", ""), 10)
        self.assertIn("rule app", took["msg"])
        # many polls of the new leader see the drift: still no call
        m = nw.mark()
        wait_until(lambda: len(nw.find(rule_drift("app"), m)) >= 6, 10)
        self.assertEqual([c for c in p.calls() if instance(c) != "r%d" % lead], [])
        self.assertEqual(self.heal()["holdoffs"], 1)
        self.assertEqual(self.record()["by"], new)

    def test_standbys_compare_their_git_with_the_leaders(self):
        # someone else holds the lock: all three are standbys, and the
        # record is what this test writes
        self.e.cli("SET", KEY, "old-leader", "PX", "600000", db=4)
        p = self.peer()
        ws = [self.shared(i, p) for i in range(2)]
        for w in ws:
            w.wait_log(lambda l: l.get("result") == "ok", 15)
        head = self.head()
        marks = [w.mark() for w in ws]
        self.e.cli("HSET", RKEY, "v", "1", "by", "old-leader", "commit", "f" * 40,
                   "digest", "", "result", "ok", db=3)
        for w, m in zip(ws, marks):
            l = w.wait_log(lambda l: "the leader old-leader compared against ffffffffffff"
                           in l.get("msg", ""), 10, start=m)
            self.assertIn("Git here is at commit %s" % head[:12], l["msg"])
        marks = [w.mark() for w in ws]
        self.e.cli("HSET", RKEY, "commit", head, "digest", "0" * 64, db=3)
        for w, m in zip(ws, marks):
            l = w.wait_log(lambda l: "is not the leader old-leader's (sha256 %s)" % ("0" * 64)
                           in l.get("msg", ""), 10, start=m)
            self.assertRegex(l["msg"], r"built here \(sha256 [0-9a-f]{64}\)")
            # said once, not at every poll
            wait_until(lambda: len(w.find(lambda x: x.get("result") == "ok", m)) >= 4, 10)
            self.assertEqual(len(w.find(lambda x: "is not the leader" in x.get("msg", ""), m)),
                             1)
        # a record that is not ours is named and ignored; nobody crashes
        marks = [w.mark() for w in ws]
        self.e.cli("HSET", RKEY, "heal", "{\"in_event\": 7}", db=3)
        for w, m in zip(ws, marks):
            w.wait_log(lambda l: "shared state vtwatch:rule:app (rule app): heal.in_event"
                       in l.get("msg", ""), 10, start=m)
        # a hold-off the old leader left is kept by whoever takes over
        until = int(time.time() * 1000) + 60000
        self.e.cli("HSET", RKEY, "heal", json.dumps({
            "in_event": True, "verifying": False, "attempts": 0, "next_at": 0,
            "sig": "0" * 16, "ineffective": 0, "holdoffs": 1,
            "holdoff_until": until, "flapping": True}), db=3)
        marks = [w.mark() for w in ws]
        self.drift()
        for w, m in zip(ws, marks):
            w.wait_log(rule_drift("app"), 10, start=m)
        self.e.cli("DEL", KEY, db=4)
        new = wait_until(lambda: self.holder(), 10, what="a leader")
        nw = ws[int(new[1:])]
        nw.wait_log(lambda l: "heal state taken over from old-leader: flap guard holding off"
                    in l.get("msg", ""), 10)
        m = nw.mark()
        wait_until(lambda: len(nw.find(rule_drift("app"), m)) >= 5, 10)
        self.assertEqual(p.calls(), [])

    def test_a_standby_compares_against_the_leaders_commit(self):
        # a push is on its way: the leader (old-leader, this test) still
        # compares against the commit before it; the standbys, which have
        # fetched the push, compare against the leader's commit too
        self.e.cli("SET", KEY, "old-leader", "PX", "600000", db=4)
        p = self.peer()
        ws = [self.shared(i, p) for i in range(2)]
        for w in ws:
            w.wait_log(lambda l: l.get("result") == "ok", 15)
        before = self.head()
        marks = [w.mark() for w in ws]
        self.g.commit({"config/app.yaml": APP_YAML.replace("50", "60")})
        after = self.head()
        for w, m in zip(ws, marks):
            d = w.wait_log(rule_drift("app"), 10, start=m)
            self.assertEqual(d["commit"], after)
        marks = [w.mark() for w in ws]
        self.e.cli("HSET", RKEY, "v", "1", "by", "old-leader", "commit", before,
                   "result", "ok", db=3)
        for w, m in zip(ws, marks):
            l = w.wait_log(lambda l: "the leader old-leader compared against %s" % before[:12]
                           in l.get("msg", ""), 10, start=m)
            self.assertIn("Git here is at commit %s" % after[:12], l["msg"])
            ok = w.wait_log(lambda l: l.get("result") == "ok", 10, start=m)
            self.assertEqual(ok["commit"], before)
        # the leader has the push now: so do they
        marks = [w.mark() for w in ws]
        self.e.cli("HSET", RKEY, "commit", after, db=3)
        for w, m in zip(ws, marks):
            d = w.wait_log(rule_drift("app"), 10, start=m)
            self.assertEqual(d["commit"], after)
