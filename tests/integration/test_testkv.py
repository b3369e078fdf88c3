"""The testkv kind (conf/kinds/testkv.c, workers/testkv/): a test-only
datasource, built with VTW_TEST_HOOKS, that proves the kind registry. Its
files are the whole of the kind: a descriptor, its IPC messages, its worker,
one registry line and one CMake word; this adapter gives it the whole
conformance suite.

The datasource is a directory; a rule's values are one file in it,
{tenant}.{env}.kv, holding netstrings ("3:key,5:value,", any bytes). A
missing file is a datasource that cannot be reached.
"""
import os
import subprocess
import unittest

import conformance
from harness import WATCHER, WatcherTest, rule_ok, watcher_config
from fixtures import APP_YAML


def netstrings(pairs):
    out = bytearray()
    for k, v in pairs.items():
        for s in (k, v):
            b = s if isinstance(s, bytes) else s.encode()
            out += b"%d:%s," % (len(b), b)
    return bytes(out)


class TestkvKind(conformance.FileKind):
    """One file {dir}/acme.production.kv, written whole and renamed in."""
    name = datasource = "testkv"
    marker = None
    reconnect_s = 0.5

    def start(self):
        self.dir = os.path.join(self.test.tmp, "kv")
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)       # the sandbox user reads it
        self.path = os.path.join(self.dir, "acme.production.kv")
        self.cur = {}

    def stop(self):
        if os.path.exists(self.path):
            os.replace(self.path, self.path + ".away")

    def restart(self):
        self.cur = {}

    def _write(self):
        tmp = self.path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(netstrings(self.cur))
        os.chmod(tmp, 0o644)
        os.replace(tmp, self.path)

    def datasource_yaml(self, extra=""):
        return "  - name: testkv\n    type: testkv\n    dir: %s\n%s" % (self.dir, extra)

    def rule_yaml(self, name, repo, extra=""):
        return ("  - name: %s\n    platform: local\n    datasource: testkv\n"
                "    repo_url: %s\n    file_name: config/app.yaml\n"
                "    tenant_id: acme\n    env: production\n%s" % (name, repo, extra))

    def down_reason(self):
        return "cannot open"


class Conformance(conformance.Suite, WatcherTest):
    kind = TestkvKind


class Registry(WatcherTest):
    """What only the registry gives a new kind."""

    def run_watcher_check(self, cfg):
        return subprocess.run([WATCHER, "-n", "-f", cfg], capture_output=True, text=True)

    def test_check_refuses_a_bad_layout_with_its_place(self):
        cfg = os.path.join(self.tmp, "w.yaml")
        with open(cfg, "w") as f:
            f.write(watcher_config(
                self.tmp, "  - name: testkv\n    type: testkv\n    dir: /srv/kv\n",
                "  - name: app\n    platform: local\n    datasource: testkv\n"
                "    repo_url: /tmp/r\n    file_name: a.yaml\n"
                "    testkv_file: \"../{env}\"\n"))
        p = self.run_watcher_check(cfg)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("w.yaml:18:18: rule 'app': testkv file '../default' is "
                      "not a plain path below dir", p.stderr)

    def test_key_of_another_kind_named(self):
        cfg = os.path.join(self.tmp, "w.yaml")
        with open(cfg, "w") as f:
            f.write(watcher_config(
                self.tmp, "  - name: testkv\n    type: testkv\n    dir: /srv/kv\n"
                "    db: 3\n", ""))
        p = self.run_watcher_check(cfg)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("db: not a key of a testkv datasource (redis only)", p.stderr)

    def test_worker_is_its_own_sandboxed_process(self):
        k = TestkvKind(self)
        k.start()
        g = self.repo({"config/app.yaml": APP_YAML})
        k.write_baseline(k.flat)
        w = self.watcher(watcher_config(self.tmp, k.datasource_yaml(),
                                        k.rule_yaml("app", g.path)))
        w.wait_log(rule_ok("app"), 30, what="first OK poll")
        self.assertIsNotNone(w.worker_pid("testkv"))
        self.assertEqual(w.metric('vartrack_watcher_worker_up{worker="testkv"}'), 1)


if __name__ == "__main__":
    unittest.main()
