"""The datasource conformance suite: the scenarios every datasource kind must
pass, written once and run against each kind through an adapter.

A kind's test module (test_<kind>.py) writes a Kind subclass, the adapter,
and mixes the suite into a test class:

    class RedisKind(conformance.Kind):
        ...
    class Conformance(conformance.Suite, WatcherTest):
        kind = RedisKind

which gives test_<kind>.Conformance.test_* (the scenarios below). The
adapter starts and stops its server with the harness, writes the Git
baseline into the datasource as the orchestrator would, changes, deletes
and adds keys there, and returns the config snippets for its datasource and
one rule. Values handed to the adapter are str or bytes (hostile values are
bytes); an adapter that cannot store some bytes as they are says how it
stores them (Kind.invalid_utf8_shown).

The scenarios: changed / missing / extra keys detected within one poll
interval; secret values redacted; hostile values (binary, NUL, terminal
escapes, invalid UTF-8, a value over the IPC value cap, the biggest value
the backend allows: Kind.big_value_bytes) reported safely, then OK again
once the baseline is written back; the server down -> polls unknown -> the
datasource breaker opens (probes only) -> the server back -> drift seen
again and the breaker closed; no false drift over many polls.

The suite is a mixin, not a TestCase: unittest must not collect it without
an adapter.
"""
import os
import time

from fixtures import APP_YAML, FLAT
from harness import rule_drift, rule_ok, rule_unknown, wait_until, watcher_config

# opens after 3 failed polls; open periods 500 ms, 1 s, 2 s, 2 s ... (+-20 %)
BREAKER = ("    breaker_failures: 3\n    breaker_backoff: 500ms\n"
           "    breaker_max_backoff: 2s\n")
MAX_OPEN_S = 2.0 * 1.2

BLOB = "x" * (300 * 1024)           # over the 256 KiB IPC value cap


class Kind:
    """The adapter of one datasource kind (see the module docstring). One is
    made per test, after the test's setUp: self.test is the TestCase (a
    harness.WatcherTest, with its tmp dir and server helpers)."""

    name = None            # worker kind: worker/<name> in the logs
    datasource = None      # the datasource's name in the config (metrics label)
    git_yaml = APP_YAML    # the Git file config/app.yaml ...
    flat = FLAT            # ... and what the orchestrator writes for it
    big_value_bytes = 8 << 20      # the biggest value the backend stores
    binary_value = bytes(range(256))
    # the drift line's "marker" once the baseline is written (None: the
    # worker reports none)
    marker = "present"
    # seconds the client may need to reach a restarted server, on top of
    # the breaker's open period
    reconnect_s = 1.5

    def __init__(self, test):
        self.test = test

    # the server (harness.Redis, ZooKeeper, Sshd, MongoFake ...)
    def start(self):
        """Start the server (stopped by the test's cleanups)."""
        raise NotImplementedError

    def stop(self):
        raise NotImplementedError

    def restart(self):
        """Start it again after stop(), at the same address; it may come
        back empty (the suite writes the baseline again)."""
        raise NotImplementedError

    # the data, as the orchestrator writes it
    def write_baseline(self, flat):
        """Write every key of flat (dotted key -> value) where the rule
        reads; keys already there are overwritten."""
        raise NotImplementedError

    def set_value(self, key, value):
        """Change the value of a key the baseline wrote."""
        raise NotImplementedError

    def delete(self, key):
        raise NotImplementedError

    def add_extra(self, key, value):
        """Add a key Git does not have, where the rule reads."""
        raise NotImplementedError

    def apply(self, changed=None, missing=(), extra=None):
        """All of these at once if the backend can (override), else one
        after the other."""
        for k, v in (changed or {}).items():
            self.set_value(k, v)
        for k in missing:
            self.delete(k)
        for k, v in (extra or {}).items():
            self.add_extra(k, v)

    # the config
    def datasource_yaml(self, extra=""):
        """The datasources: entry (a YAML list item indented two spaces,
        named self.datasource); extra is more of its keys (4 spaces)."""
        raise NotImplementedError

    def rule_yaml(self, name, repo, extra=""):
        """The rules: entry reading config/app.yaml of the Git repo at repo,
        tenant acme, env production; extra is more of its keys."""
        raise NotImplementedError

    # reading the results
    def key_name(self, key):
        """The dotted key of a key as the drift line shows it."""
        return key

    def invalid_utf8_shown(self, raw):
        """What the drift line's actual value shows for the bytes raw (not
        valid UTF-8): substrings."""
        return ["\\x%02x" % raw[0]]

    def down_reason(self):
        """A substring of the unknown reason while the server is down, or
        None."""
        return None


class BatchKind(Kind):
    """A Kind whose backend takes one change as a whole (apply() is the
    primitive: one redis pipe, one file written)."""

    def set_value(self, key, value):
        self.apply(changed={key: value})

    def delete(self, key):
        self.apply(missing=[key])

    def add_extra(self, key, value):
        self.apply(extra={key: value})

    def apply(self, changed=None, missing=(), extra=None):
        raise NotImplementedError


class FileKind(BatchKind):
    """A BatchKind whose data is one file: the current pairs (self.cur) are
    written whole by _write() (write, then rename: a poll never reads half
    a file)."""

    cur = None

    def _write(self):
        raise NotImplementedError

    def write_baseline(self, flat):
        self.cur = dict(self.cur or {})
        self.cur.update(flat)
        self._write()

    def apply(self, changed=None, missing=(), extra=None):
        self.cur = dict(self.cur or {})
        self.cur.update(changed or {})
        self.cur.update(extra or {})
        for k in missing:
            del self.cur[k]
        self._write()


class Suite:
    """The scenarios; mixed into a harness.WatcherTest with kind = a Kind."""

    kind = None
    rule = "app"

    def setUp(self):
        super().setUp()
        self.k = self.kind(self)
        self.k.start()

    # helpers
    def start_watcher(self, flat=None, git_yaml=None, poll="1s", ds_extra="", rule_extra=""):
        """Baseline written, Git repo made, watcher started, first OK seen."""
        self.g = self.repo({"config/app.yaml": git_yaml or self.k.git_yaml})
        self.k.write_baseline(flat or self.k.flat)
        self.w = self.watcher(watcher_config(
            self.tmp, self.k.datasource_yaml(ds_extra),
            self.k.rule_yaml(self.rule, self.g.path, rule_extra), poll))
        self.w.wait_log(rule_ok(self.rule), 30, what="first OK poll")
        return self.w

    def keys(self, drift):
        return {self.k.key_name(k["key"]): k for k in drift["keys"]}

    def wait_drift(self, pred, timeout, start, what="drift line"):
        return self.w.wait_log(lambda l: rule_drift(self.rule)(l) and pred(l), timeout,
                               start=start, what=what)

    def metric(self, name, **labels):
        lab = dict(labels, datasource=self.k.datasource)
        return self.w.metric("vartrack_watcher_%s{%s}" % (name, ",".join(
            '%s="%s"' % kv for kv in sorted(lab.items()))))

    def assertWorkersAlive(self):
        self.assertIsNone(self.w.proc.poll(), "the supervisor exited")
        self.assertEqual(self.w.find(lambda l: "lost child" in l.get("msg", "")), [])

    # the scenarios
    def test_changed_missing_extra(self):
        w = self.start_watcher()
        mark = w.mark()
        t0 = time.monotonic()
        self.k.apply(changed={"max_connections": "5"}, missing=["log_level"],
                     extra={"rogue": "x y"})
        # (a backend that applies these one by one may show the steps first)
        d = self.wait_drift(lambda l: (l["changed"], l["missing"], l["extra"]) == (1, 1, 1),
                            20, mark, "drift line: 1 changed, 1 missing, 1 extra")
        # within one poll interval (1 s) plus jitter, with room for load
        # (and for memcheck: scripts/test.sh runs this one under valgrind)
        self.assertLess(time.monotonic() - t0, 12.0 if os.environ.get("VTW_VALGRIND") else 3.0)
        keys = self.keys(d)
        self.assertEqual(sorted(keys), ["log_level", "max_connections", "rogue"])
        self.assertEqual((keys["max_connections"]["change"], keys["max_connections"]["expected"],
                          keys["max_connections"]["actual"]), ("changed", "50", "5"))
        self.assertEqual((keys["log_level"]["change"], keys["log_level"]["expected"]),
                         ("missing", "info"))
        self.assertNotIn("actual", keys["log_level"])
        self.assertEqual((keys["rogue"]["change"], keys["rogue"]["actual"]), ("extra", "x y"))
        self.assertNotIn("expected", keys["rogue"])
        self.assertEqual(d["datasource"], self.k.datasource)
        if self.k.marker is not None:
            self.assertEqual(d["marker"], self.k.marker)
        self.assertGreaterEqual(self.metric("drift_total"), 1)
        self.assertEqual(self.metric("drifted_keys", rule=self.rule), 3)
        self.assertNotIn("hunter2", "\n".join(w.raw))
        self.assertWorkersAlive()

    def test_secret_values_redacted(self):
        w = self.start_watcher()
        mark = w.mark()
        self.k.set_value("database.password", "leaked-value")
        d = self.wait_drift(lambda l: True, 10, mark)
        self.assertEqual(d["changed"], 1)
        k = self.keys(d)["database.password"]
        self.assertEqual((k["expected"], k["actual"]), ("<redacted>", "<redacted>"))
        joined = "\n".join(w.raw)
        self.assertNotIn("hunter2", joined)
        self.assertNotIn("leaked-value", joined)

    def test_hostile_values(self):
        flat = dict(self.k.flat, blob=BLOB)
        # equal although the 300 KiB value is sent truncated (length + digest)
        w = self.start_watcher(flat=flat, git_yaml=self.k.git_yaml + "blob: " + BLOB + "\n")
        mark = w.mark()
        huge = self.k.big_value_bytes
        bad_utf8 = b"\xff\xfe5\x80"
        self.k.apply(changed={
            "max_connections": b"y" * huge,
            "log_level": b"a\x00b\x1b[31m",     # NUL, terminal escape
            "database.host": bad_utf8,
            "features.0": self.k.binary_value,
            "blob": (BLOB[:-1] + "z").encode(),  # differs in the last byte only
        })
        d = self.wait_drift(lambda l: l["changed"] == 5, 20, mark, "5 hostile values changed")
        self.assertEqual((d["missing"], d["extra"]), (0, 0))
        keys = self.keys(d)
        big = keys["max_connections"]["actual"]
        self.assertIn("(%d bytes)" % huge, big)
        self.assertLess(len(big), 400)
        self.assertTrue(keys["log_level"]["actual"].startswith("a\x00b"),
                        repr(keys["log_level"]["actual"]))
        for s in self.k.invalid_utf8_shown(bad_utf8):
            self.assertIn(s, keys["database.host"]["actual"])
        self.assertIn("(307200 bytes)", keys["blob"]["actual"])
        raw = [l for l in w.raw if '"result":"drift"' in l][-1]
        self.assertNotIn("\x1b", raw)            # no raw control bytes in the log
        self.assertIn("\\u001b", raw)
        self.assertEqual([l["msg"] for l in w.logs() if l.get("unparsed")], [],
                         "every log line is JSON")
        self.assertWorkersAlive()
        # the orchestrator writes Git's values back: OK again
        mark = w.mark()
        self.k.write_baseline(flat)
        w.wait_log(rule_ok(self.rule), 20, start=mark, what="OK after the baseline came back")

    def test_server_down_unknown_breaker_opens_then_recovers(self):
        w = self.start_watcher(ds_extra=BREAKER, rule_extra="    poll_interval: 200ms\n")
        ds = self.k.datasource
        mark = w.mark()
        self.k.stop()
        u = w.wait_log(rule_unknown(self.rule), 15, start=mark, what="unknown poll")
        self.assertEqual(u["stage"], "read")
        if self.k.down_reason() is not None:
            self.assertIn(self.k.down_reason(), u["reason"])
        wait_until(lambda: self.metric("poll_errors_total") >= 1, 5, what="a poll error counted")

        def opened(l):
            return l.get("circuit") == "open" and l.get("datasource") == ds
        # three open periods (500 ms, 1 s, 2 s): two probes between them
        wait_until(lambda: len(w.find(opened, mark)) >= 3, 30, what="the circuit opened 3 times")
        lines = w.logs()[mark:]
        at = [i for i, l in enumerate(lines) if opened(l)]
        window = lines[at[0]:at[2]]
        polls = [l for l in window if rule_unknown(self.rule)(l)]
        skipped = [l for l in polls if l["reason"].startswith("datasource circuit open")]
        probes = [l for l in window if l.get("circuit") == "half-open" and
                  l.get("datasource") == ds]
        self.assertEqual(len(probes), 2)
        # the poll that opened it, then the probes only, not every 200 ms poll
        self.assertLessEqual(len(polls) - len(skipped), len(probes) + 1,
                             [l["reason"] for l in polls])
        self.assertGreaterEqual(len(skipped), 3, "polls go on while open (skipped)")
        backoffs = [l["backoff_ms"] for l in w.find(opened, mark)]
        self.assertGreater(backoffs[2], backoffs[0], "backoff grows: %s" % backoffs)
        # open, or half-open while a probe is in flight
        self.assertIn(self.metric("datasource_circuit_state"), (1, 2))
        self.assertEqual(w.find(rule_ok(self.rule), mark), [])
        self.assertEqual(w.find(rule_drift(self.rule), mark), [])
        # back, and the orchestrator writes it again (with one value off)
        back = w.mark()     # before the restart: the probe may come at once
        t0 = time.monotonic()
        self.k.restart()
        self.k.write_baseline(dict(self.k.flat, max_connections="7"))
        # (a probe right after the restart may see it empty: all missing)
        self.wait_drift(lambda l: self.keys(l).get("max_connections", {}).get("actual") == "7",
                        30, back, "drift after the server came back")
        # within one (capped) open period and a reconnect
        self.assertLess(time.monotonic() - t0, MAX_OPEN_S + self.k.reconnect_s)
        w.wait_log(lambda l: l.get("circuit") == "closed" and l.get("datasource") == ds, 10,
                   start=back, what="the circuit closed")
        wait_until(lambda: self.metric("datasource_circuit_state") == 0, 5,
                   what="circuit state metric 0")
        self.assertWorkersAlive()

    def test_no_false_drift_over_many_polls(self):
        w = self.start_watcher(rule_extra="    poll_interval: 300ms\n")
        mark = w.mark()
        wait_until(lambda: len(w.find(rule_ok(self.rule), mark)) >= 10, 30,
                   what="ten more OK polls")
        self.assertEqual(w.find(rule_drift(self.rule)), [])
        self.assertEqual(w.find(rule_unknown(self.rule)), [])
        self.assertWorkersAlive()
