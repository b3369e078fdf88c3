"""End-to-end tests: vartrack-watcher + its git and s3 workers against a real
SigV4-checking S3 server on 127.0.0.1 (@20minutes/s3rver 4.0.4, see
s3rver.py; it serves unsigned requests too, so the tests that matter refuse
a wrong secret). The objects are written as the orchestrator's S3 sink
writes them (interop §3.4): {s3_key_prefix}/{env}/config.json with
json.dumps(flat, indent=2, sort_keys=True) and no trailing newline, or one
object per dotted key, each tagged with the vartrack labels.

The credential chain's container-credentials and IMDSv2 endpoints are
loopback fakes (http_peer.py style, in this module) that answer as the AWS
documentation says; s3rver knows the keys they hand out.
"""
import http.server
import json
import os
import threading
import time
import unittest

import conformance
from harness import WatcherTest, rule_drift, rule_ok, rule_unknown, wait_until, watcher_config
from s3rver import MARKER_TAGS, S3rver, config_json

BUCKET = "cfg-bucket"
PREFIX = "app/production"        # s3_key_prefix "app", env production


def ds_yaml(endpoint, key="S3RVER", secret="S3RVER", extra="", name="s3", tmp=None):
    """An s3 datasource; key/secret None: none configured (the chain)."""
    s = ("  - name: %s\n    type: s3\n    endpoint: %s\n    region: us-east-1\n"
         % (name, endpoint))
    if key is not None:
        kf = os.path.join(tmp, "s3-key-%s" % name)
        sf = os.path.join(tmp, "s3-secret-%s" % name)
        for path, val in ((kf, key), (sf, secret)):
            with open(path, "w") as f:
                f.write(val)
        s += ("    access_key_id: {file: %s}\n    secret_access_key: {file: %s}\n"
              % (kf, sf))
    return s + extra


def rule_yaml(name, repo, per_key=False, extra="", datasource="s3", prefix="app"):
    return ("  - name: %s\n    platform: local\n    datasource: %s\n"
            "    repo_url: %s\n    file_name: config/app.yaml\n"
            "    tenant_id: acme\n    env: production\n    s3_bucket: %s\n"
            "    s3_key_prefix: %s\n%s%s"
            % (name, datasource, repo, BUCKET, prefix,
               "    s3_one_file_per_key: true\n" if per_key else "", extra))


class S3Kind(conformance.Kind):
    name = datasource = "s3"
    reconnect_s = 1.5

    def start(self):
        self.s3 = S3rver(self.test.tmp)
        self.s3.start()
        self.test.cleanups.append(self.s3.stop)
        self.s3.create_bucket(BUCKET)

    def stop(self):
        self.s3.stop()

    def restart(self):
        self.s3.restart()

    def datasource_yaml(self, extra=""):
        return ds_yaml(self.s3.endpoint, extra=extra, tmp=self.test.tmp)

    def invalid_utf8_shown(self, raw):
        # JSON cannot hold raw bytes: config.json carries them as code
        # points (latin-1), per-key objects as they are
        return ["\\x%02x" % raw[0]]


class JsonKind(S3Kind, conformance.FileKind):
    """{prefix}/config.json, rewritten whole (and re-tagged) by every
    change, as the orchestrator's PUT does."""

    def _write(self):
        self.s3.put(BUCKET, PREFIX + "/config.json", config_json(self.cur), MARKER_TAGS,
                    "application/json")

    def restart(self):
        self.s3.restart()
        self.cur = {}

    def rule_yaml(self, name, repo, extra=""):
        return rule_yaml(name, repo, extra=extra)

    def invalid_utf8_shown(self, raw):
        return [raw[:2].decode("latin-1")]


class PerKeyKind(S3Kind):
    """{prefix}/{key}, one object per key, each PUT with its tags."""

    def write_baseline(self, flat):
        for k, v in flat.items():
            self.s3.put(BUCKET, PREFIX + "/" + k, v, MARKER_TAGS)

    def set_value(self, key, value):
        self.s3.put(BUCKET, PREFIX + "/" + key, value, MARKER_TAGS)

    def delete(self, key):
        self.s3.delete(BUCKET, PREFIX + "/" + key)

    def add_extra(self, key, value):
        self.s3.put(BUCKET, PREFIX + "/" + key, value, MARKER_TAGS)

    def rule_yaml(self, name, repo, extra=""):
        return rule_yaml(name, repo, per_key=True, extra=extra)


class ConformanceJson(conformance.Suite, WatcherTest):
    kind = JsonKind


class ConformancePerKey(conformance.Suite, WatcherTest):
    kind = PerKeyKind


if __name__ == "__main__":
    unittest.main()
