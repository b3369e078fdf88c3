"""The chaos soak's checker (soak.py's Model) against made-up poll results:
it must call a result false whenever the model says it cannot be true, or
the soak could pass while proving nothing. No servers: instant."""
import datetime
import time
import unittest

import soak
from fixtures import FLAT


class FakeKind:
    reconnect_s = 1.0

    def __init__(self):
        self.applied = []

    def apply(self, changed=None, missing=(), extra=None):
        self.applied.append((changed, missing, extra))


def line(result, end, duration_s=0.01, counts=(0, 0, 0), reason="x"):
    l = {"ts": datetime.datetime.fromtimestamp(end, datetime.timezone.utc)
         .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
         "result": result, "duration_us": int(duration_s * 1e6), "rule": "soak_t"}
    if result == "drift":
        l.update(changed=counts[0], missing=counts[1], extra=counts[2])
    if result == "unknown":
        l["reason"] = reason
    return l


class Checker(unittest.TestCase):
    def setUp(self):
        self.m = soak.Model("t", FakeKind(), False, None, True)
        # the model's history, moved into the past: clean from t0 - 100
        self.t0 = time.time()
        self.m.states = [(self.t0 - 100, (0, 0, 0))]

    def test_ok_on_clean_data_is_true_and_ok_on_drifted_data_false(self):
        self.assertIsNone(self.m.check(line("ok", self.t0 - 50)))
        self.m.states.append((self.t0 - 40, (1, 0, 0)))
        self.assertIsNone(self.m.check(line("drift", self.t0 - 30, counts=(1, 0, 0))))
        self.assertIn("held", self.m.check(line("ok", self.t0 - 30)))
        # the wrong counts are false too
        self.assertIsNotNone(self.m.check(line("drift", self.t0 - 30, counts=(0, 1, 0))))
        # drift on untouched data
        self.assertIsNotNone(self.m.check(line("drift", self.t0 - 50, counts=(1, 0, 0))))

    def test_a_poll_overlapping_the_change_may_show_either_state(self):
        self.m.states.append((self.t0 - 40, (0, 1, 0)))
        # read from t0-41 to t0-39: before or after the write
        self.assertIsNone(self.m.check(line("ok", self.t0 - 39, duration_s=2)))
        self.assertIsNone(self.m.check(line("drift", self.t0 - 39, 2, (0, 1, 0))))
        self.assertIsNotNone(self.m.check(line("ok", self.t0 - 30, duration_s=2)))

    def test_unknown_needs_a_fault_or_its_grace(self):
        self.assertIn("without a fault", self.m.check(line("unknown", self.t0 - 50)))
        self.m.faults.append([self.t0 - 60, self.t0 - 55])
        self.assertIsNone(self.m.check(line("unknown", self.t0 - 57)))
        # within the grace after the fault ended, and not beyond it
        self.assertIsNone(self.m.check(line("unknown", self.t0 - 55 + self.m.grace - 0.1)))
        self.assertIsNotNone(self.m.check(line("unknown", self.t0 - 55 + self.m.grace + 1)))
        # a fault still in force covers any time after its start
        self.m.faults.append([self.t0 - 20, None])
        self.assertIsNone(self.m.check(line("unknown", self.t0 - 1)))

    def test_nothing_but_unknown_from_a_server_that_is_down(self):
        iv = self.m.fault(down=True)
        iv[0] = self.t0 - 30
        iv[1] = self.t0 - 20
        self.assertIn("could not answer", self.m.check(line("ok", self.t0 - 25)))
        self.assertIsNotNone(self.m.check(line("drift", self.t0 - 25, counts=(0, 7, 0))))
        self.assertIsNone(self.m.check(line("unknown", self.t0 - 25)))
        # a poll that began before it went down may have read it
        self.assertIsNone(self.m.check(line("ok", self.t0 - 25, duration_s=6)))

    def test_writes_move_the_model_and_leave_a_loose_window(self):
        self.m.write(changed={"log_level": "debug"}, extra={"rogue": "1"})
        self.assertEqual(self.m.counts(), (1, 0, 1))
        self.m.write(missing=["max_connections"])
        self.assertEqual(self.m.counts(), (1, 1, 1))
        self.assertTrue(self.m.restore())
        self.assertEqual(self.m.counts(), (0, 0, 0))
        self.assertEqual(self.m.live, FLAT)
        self.assertFalse(self.m.restore(), "nothing left to restore")
        self.assertEqual(len(self.m.kind.applied), 3)
        # just after the writes anything goes; long after, only the state
        now = time.time()
        self.assertIsNone(self.m.check(line("drift", now, counts=(5, 5, 5))))
        self.m.loose = []
        self.assertIsNotNone(self.m.check(line("drift", now, counts=(5, 5, 5))))
        self.assertIsNone(self.m.check(line("ok", now)))


if __name__ == "__main__":
    unittest.main()
