"""Runs every integration test and prints 'N passed, N failed'."""
import faulthandler
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


TEST_LIMIT_S = 600    # one test, cleanups included


class TimedResult(unittest.TextTestResult):
    """Also keeps how long each test took, for the slowest-tests lines."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.took = []

    def startTest(self, test):
        self._t0 = time.monotonic()
        # a test that hangs (a deadlock in a fake, a wait without a
        # deadline) ends the run with every thread's traceback instead of
        # holding CI until its own timeout
        faulthandler.dump_traceback_later(TEST_LIMIT_S, exit=True)
        super().startTest(test)

    def stopTest(self, test):
        faulthandler.cancel_dump_traceback_later()
        self.took.append((time.monotonic() - self._t0, test.id()))
        super().stopTest(test)


def main():
    """run.py [test.name ...]: all tests, or the named ones (module.Class.test)."""
    here = os.path.dirname(os.path.abspath(__file__))
    if len(sys.argv) > 1:
        suite = unittest.defaultTestLoader.loadTestsFromNames(sys.argv[1:])
    else:
        suite = unittest.defaultTestLoader.discover(here, pattern="test_*.py")
    t0 = time.monotonic()
    res = unittest.TextTestRunner(verbosity=2, resultclass=TimedResult).run(suite)
    by_module = {}
    for took, name in res.took:
        by_module[name.split(".")[0]] = by_module.get(name.split(".")[0], 0) + took
    print("time by module (s): " + ", ".join("%s %.0f" % kv for kv in
                                            sorted(by_module.items(), key=lambda kv: -kv[1])))
    print("slowest: " + ", ".join("%s %.1fs" % (n.split(".", 1)[1], t) for t, n in
                                  sorted(res.took, reverse=True)[:8]))
    print("integration tests took %.0f s" % (time.monotonic() - t0))
    failed = len(res.failures) + len(res.errors)
    passed = res.testsRun - failed - len(res.skipped)
    print("%d passed, %d failed, %d skipped" % (passed, failed, len(res.skipped)))
    sys.exit(0 if failed == 0 and res.testsRun > 0 else 1)


if __name__ == "__main__":
    main()
