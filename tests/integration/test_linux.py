"""End-to-end tests: vartrack-watcher + its git and linux workers against a
real OpenSSH server on 127.0.0.1 (harness.Sshd: ed25519 client key, host
keys ed25519 + ecdsa, known_hosts from ssh-keyscan) and against local files.

The files are written here exactly as the orchestrator renders them
(interop §3.8): header line with U+2014, blank line, sorted key=value lines
(env values with a space, '#', quote or newline wrapped in "..." without
escaping), "key = value" for ini, yaml.dump / json.dumps of the unflattened
map. sshd runs as root on this machine, so the "remote" file is a local path
reached over SFTP; the worker itself runs as user nobody under seccomp."""
import json
import os
import signal
import subprocess
import time
import unittest

import yaml

import conformance
from harness import (WatcherTest, descendant_pids, rule_drift, rule_ok, rule_unknown,
                     wait_until, watcher_config)

import fixtures

# the shared Git file plus a value that needs quoting in every format
APP_YAML = fixtures.APP_YAML + """motd: 'hello world #1, it''s "quoted"'
"""
# the orchestrator's flat map for APP_YAML (interop §7.7), dot key format
FLAT = dict(fixtures.FLAT, motd="hello world #1, it's \"quoted\"")

ENV = "production"
HEADER = "# vartrack managed \u2014 env=%s tenant=default\n\n" % ENV


def unflatten(flat):
    out = {}
    for k, v in flat.items():
        node = out
        parts = k.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = v
    return out


def render(fmt, flat, env=ENV):
    """The file content the orchestrator's linux_server sink writes."""
    items = sorted(flat.items())
    if fmt == "env":
        return env_file(flat).decode()
    if fmt == "ini":
        return HEADER + "".join("%s = %s\n" % kv for kv in items)
    if fmt == "properties":
        return HEADER + "".join("%s=%s\n" % kv for kv in items)
    if fmt == "yaml":
        return ("# vartrack managed \u2014 env=%s\n" % env +
                yaml.dump(unflatten(flat), default_flow_style=False))
    if fmt == "json":
        return json.dumps(unflatten(flat), indent=2, sort_keys=True) + "\n"
    raise ValueError(fmt)


def rule(name, datasource, path, fmt=None, extra=""):
    text = """  - name: %s
    platform: local
    datasource: %s
    repo_url: {repo}
    branch: main
    file_name: config/app.yaml
    tenant_id: acme
    env: %s
    file_path: %s
""" % (name, datasource, ENV, path)
    if fmt:
        text += "    file_format: %s\n" % fmt
    return text + extra


NO_ENV_NAME = "    env_as_filename: false\n"


def write(path, content, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(content.encode() if isinstance(content, str) else content)
    os.chmod(path, mode)


def reason(line):
    return line.get("reason", "") + " " + line.get("msg", "")


def ssh_datasource(sshd, known_hosts=None, extra=""):
    """The linux_server datasource "linux" reading over SSH from sshd."""
    return """  - name: linux
    type: linux_server
    ssh_host: 127.0.0.1
    ssh_port: %d
    ssh_user: %s
    ssh_key_path: %s
    ssh_known_hosts_file: %s
    connect_timeout: 2s
    command_timeout: 5s
%s""" % (sshd.port, sshd.user, sshd.client_key, known_hosts or sshd.known_hosts, extra)


def env_file(flat):
    """The env file (render("env", flat)), for str or bytes values, as
    bytes: values with a space, '#', quote or newline in "...", unescaped."""
    lines = []
    for k, v in sorted(flat.items()):
        v = v if isinstance(v, bytes) else v.encode()
        if any(c in v for c in b" #'\"\n"):
            v = b'"' + v + b'"'
        lines.append(k.encode() + b"=" + v)
    return HEADER.encode() + b"\n".join(lines) + b"\n"


class LinuxKind(conformance.FileKind):
    """The conformance adapter: one env file ({tmp}/srv/app.env, as the
    orchestrator renders it) read over SSH from a real sshd."""
    name = datasource = "linux"
    git_yaml = APP_YAML
    flat = FLAT
    # env lines: no newline, '=' or '#' inside an unquoted value
    binary_value = b"\x01\x02\x03\x7f\xc3\x28"

    def start(self):
        self.sshd = self.test.sshd()
        self.path = os.path.join(self.test.files_dir(), "app.env")
        self.cur = {}

    def stop(self):
        self.sshd.stop()

    def restart(self):
        self.sshd.restart()      # same host keys; the file stays

    def _write(self):
        tmp = self.path + ".tmp"
        write(tmp, env_file(self.cur))
        os.replace(tmp, self.path)

    def datasource_yaml(self, extra=""):
        return ssh_datasource(self.sshd, extra=extra)

    def rule_yaml(self, name, repo, extra=""):
        return rule(name, "linux", self.path, None, NO_ENV_NAME + extra).format(repo=repo)


class LinuxBase(WatcherTest):
    def config(self, sshd, rules, poll="1s", known_hosts=None, extra_ds=""):
        ds = ""
        if sshd is not None:
            ds = ssh_datasource(sshd, known_hosts, "    breaker_failures: 2\n"
                                "    breaker_backoff: 2s\n")
        return watcher_config(self.tmp, ds + extra_ds, rules, poll)

    def files_dir(self):
        d = os.path.join(self.tmp, "srv")
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o755)
        return d

    def accepted(self, sshd):
        with open(sshd.log, errors="replace") as f:
            return sum(1 for l in f if "Accepted publickey" in l)


class OverSsh(LinuxBase):
    def setUp(self):
        super().setUp()
        self.sshd = self.sshd()
        self.g = self.repo({"config/app.yaml": APP_YAML})
        self.dir = self.files_dir()

    def start(self, rules, **kw):
        self.w = self.watcher(self.config(self.sshd, rules.format(repo=self.g.path), **kw))
        return self.w

    def test_every_format_as_rendered_is_ok(self):
        rules = ""
        paths = {}
        for fmt, fname in (("env", "app.env"), ("ini", "app.ini"),
                           ("properties", "app.properties"), ("yaml", "app.yaml"),
                           ("json", "app.json")):
            if fmt == "env":
                # default env_as_filename: {dir}/{stem}_{env}{ext}
                p = os.path.join(self.dir, "app_%s.env" % ENV)
                rules += rule(fmt, "linux", os.path.join(self.dir, fname))
            else:
                p = os.path.join(self.dir, fname)
                rules += rule(fmt, "linux", p, fmt, NO_ENV_NAME)
            paths[fmt] = p
            write(p, render(fmt, FLAT))
        w = self.start(rules)
        for fmt, p in paths.items():
            ok = w.wait_log(rule_ok(fmt), 20, what="OK poll of %s" % fmt)
            self.assertEqual(ok["target"], p)
            self.assertEqual(ok["key_count"], len(FLAT))
        self.assertEqual(w.find(lambda l: l.get("result") in ("drift", "unknown")), [])
        # and each format detects a change
        mark = w.mark()
        for fmt, p in paths.items():
            write(p, render(fmt, dict(FLAT, max_connections="5")))
        for fmt in paths:
            d = w.wait_log(rule_drift(fmt), 10, start=mark, what="drift of %s" % fmt)
            self.assertEqual((d["changed"], d["missing"], d["extra"]), (1, 0, 0), d)
            self.assertEqual(d["keys"][0]["actual"], "5")

    def test_missing_file_is_drift_all_missing(self):
        p = os.path.join(self.dir, "nothere", "app.env")
        w = self.start(rule("app", "linux", p, None, NO_ENV_NAME))
        d = w.wait_log(rule_drift("app"), 20, what="drift line")
        self.assertEqual((d["changed"], d["missing"], d["extra"]), (0, len(FLAT), 0))
        self.assertEqual(d["marker"], "absent")

    def test_unparseable_json_is_drift(self):
        p = os.path.join(self.dir, "app.json")
        write(p, "{ this is not json")
        w = self.start(rule("app", "linux", p, "json", NO_ENV_NAME))
        d = w.wait_log(rule_drift("app"), 20, what="drift line")
        self.assertEqual(d["missing"], len(FLAT))
        w.wait_log(lambda l: "is not valid json" in l.get("msg", ""), 5)

    def test_host_key_mismatch_is_unknown_and_reads_nothing(self):
        p = os.path.join(self.dir, "app.env")
        write(p, render("env", FLAT))
        kh = self.sshd.write_known_hosts_with_other_key(os.path.join(self.tmp, "kh_other"))
        w = self.start(rule("app", "linux", p, None, NO_ENV_NAME), known_hosts=kh)
        u = w.wait_log(rule_unknown("app"), 20, what="unknown poll")
        self.assertIn("host key of 127.0.0.1:%d does not match known_hosts" % self.sshd.port,
                      reason(u))
        self.assertEqual(w.find(rule_ok("app")), [])
        self.assertEqual(w.find(rule_drift("app")), [])
        # the worker never authenticated, so it cannot have read the file
        self.assertEqual(self.accepted(self.sshd), 0)

    def test_unknown_host_is_unknown(self):
        p = os.path.join(self.dir, "app.env")
        write(p, render("env", FLAT))
        kh = os.path.join(self.tmp, "kh_elsewhere")
        with open(self.sshd.known_hosts) as f:
            # the same keys, but for another host
            write(kh, f.read().replace("127.0.0.1", "127.0.0.2"))
        w = self.start(rule("app", "linux", p, None, NO_ENV_NAME), known_hosts=kh)
        u = w.wait_log(rule_unknown("app"), 20, what="unknown poll")
        self.assertIn("host key of 127.0.0.1:%d not in known_hosts" % self.sshd.port,
                      reason(u))
        self.assertEqual(self.accepted(self.sshd), 0)

    def test_hashed_known_hosts(self):
        p = os.path.join(self.dir, "app.env")
        write(p, render("env", FLAT))
        kh = os.path.join(self.tmp, "kh_hashed")
        with open(self.sshd.known_hosts) as f:
            write(kh, f.read())
        subprocess.run(["ssh-keygen", "-q", "-H", "-f", kh], check=True,
                       capture_output=True, stdin=subprocess.DEVNULL)
        with open(kh) as f:
            self.assertTrue(f.read().startswith("|1|"))
        w = self.start(rule("app", "linux", p, None, NO_ENV_NAME), known_hosts=kh)
        w.wait_log(rule_ok("app"), 20, what="OK poll")

    def test_host_name_resolved_in_the_sandbox(self):
        # "localhost": resolved by the sandboxed worker (files, maybe ::1
        # first, which sshd does not listen on: the next address is tried)
        p = os.path.join(self.dir, "app.env")
        write(p, render("env", FLAT))
        kh = os.path.join(self.tmp, "kh_localhost")
        with open(self.sshd.known_hosts) as f:
            write(kh, f.read().replace("127.0.0.1", "localhost"))
        cfg = self.config(self.sshd, rule("app", "linux", p, None, NO_ENV_NAME)
                          .format(repo=self.g.path), known_hosts=kh)
        w = self.watcher(cfg.replace("ssh_host: 127.0.0.1", "ssh_host: localhost"))
        w.wait_log(rule_ok("app"), 20, what="OK poll")

    def test_rsa_user_key_fails_with_a_hint(self):
        # libssh2 1.10 signs RSA user keys with ssh-rsa (SHA-1) only, which
        # OpenSSH >= 8.8 refuses even when the key is authorized
        p = os.path.join(self.dir, "app.env")
        write(p, render("env", FLAT))
        rsa = os.path.join(self.tmp, "client_rsa")
        pub = self.sshd.keygen(rsa, "rsa", "vtw-test-rsa")
        with open(self.sshd.authorized_keys, "a") as f:
            f.write(pub + "\n")
        self.assertEqual(self.sshd.ssh("true").returncode, 0)
        cfg = self.config(self.sshd, rule("app", "linux", p, None, NO_ENV_NAME)
                          .format(repo=self.g.path)).replace(self.sshd.client_key, rsa)
        w = self.watcher(cfg)
        u = w.wait_log(rule_unknown("app"), 20, what="unknown poll")
        self.assertIn("authentication as %s failed" % self.sshd.user, reason(u))
        self.assertIn("libssh2 1.10 signs only ssh-rsa/SHA-1", reason(u))
        with open(rsa) as f:
            key_body = f.read().splitlines()[1]
        self.assertNotIn(key_body, "\n".join(w.raw))

    def test_connection_reused_across_polls(self):
        p = os.path.join(self.dir, "app.env")
        write(p, render("env", FLAT))
        w = self.start(rule("app", "linux", p, None, NO_ENV_NAME))
        wait_until(lambda: len(w.find(rule_ok("app"))) >= 5, 30, what="five OK polls")
        self.assertEqual(self.accepted(self.sshd), 1)

    def test_hung_server_times_out_then_recovers(self):
        p = os.path.join(self.dir, "app.env")
        write(p, render("env", FLAT))
        cfg = self.config(self.sshd, rule("app", "linux", p, None, NO_ENV_NAME)
                          .format(repo=self.g.path))
        w = self.watcher(cfg.replace("command_timeout: 5s", "command_timeout: 1500ms"))
        w.wait_log(rule_ok("app"), 20, what="first OK poll")
        # freeze the session's server processes (not the listener)
        kids = descendant_pids(self.sshd.proc.pid)
        self.assertTrue(kids)
        mark = w.mark()
        t0 = time.monotonic()
        for pid in kids:
            os.kill(pid, signal.SIGSTOP)
        try:
            u = w.wait_log(rule_unknown("app"), 10, start=mark, what="unknown poll")
            self.assertLess(time.monotonic() - t0, 6)
            self.assertIn("timed out", reason(u).lower())
        finally:
            for pid in kids:
                try:
                    os.kill(pid, signal.SIGCONT)
                except OSError:
                    pass
        mark = w.mark()
        w.wait_log(rule_ok("app"), 20, start=mark, what="OK after the server thawed")

    def test_restart_between_polls_costs_no_poll(self):
        # a kept connection that went stale is retried at once
        p = os.path.join(self.dir, "app.env")
        write(p, render("env", FLAT))
        w = self.start(rule("app", "linux", p, None, NO_ENV_NAME), poll="2s")
        w.wait_log(rule_ok("app"), 20, what="first OK poll")
        mark = w.mark()
        self.sshd.stop()
        self.sshd.restart()
        w.wait_log(rule_ok("app"), 10, start=mark, what="OK after restart")
        self.assertEqual(w.find(rule_unknown("app"), mark), [])
        w.wait_log(lambda l: "reconnecting" in l.get("msg", ""), 5, start=mark)

    def test_file_over_cap_is_unknown(self):
        p = os.path.join(self.dir, "app.env")
        write(p, render("env", FLAT) + "pad=" + "x" * 5000 + "\n")
        w = self.watcher(self.config(self.sshd, rule("app", "linux", p, None, NO_ENV_NAME)
                                     .format(repo=self.g.path))
                         .replace("    breaker_failures: 2\n",
                                  "    breaker_failures: 2\n    max_file_bytes: 4096\n"))
        u = w.wait_log(rule_unknown("app"), 20, what="unknown poll")
        self.assertIn("file larger than 4096 bytes", reason(u))

class Conformance(conformance.Suite, LinuxBase):
    kind = LinuxKind


class Local(LinuxBase):
    """No ssh_host: the worker (user nobody, seccomp) reads local files."""

    def setUp(self):
        super().setUp()
        self.g = self.repo({"config/app.yaml": APP_YAML})
        self.dir = self.files_dir()

    def start(self, rules):
        ds = "  - name: files\n    type: linux_server\n"
        self.w = self.watcher(self.config(None, rules.format(repo=self.g.path),
                                          extra_ds=ds))
        return self.w

    def test_local_formats_ok_then_drift(self):
        rules = ""
        for fmt in ("env", "ini", "properties", "yaml", "json"):
            p = os.path.join(self.dir, "app." + fmt)
            write(p, render(fmt, FLAT))
            rules += rule(fmt, "files", p, fmt, NO_ENV_NAME)
        w = self.start(rules)
        for fmt in ("env", "ini", "properties", "yaml", "json"):
            w.wait_log(rule_ok(fmt), 20, what="OK poll of %s" % fmt)
        mark = w.mark()
        flat = dict(FLAT)
        del flat["motd"]
        write(os.path.join(self.dir, "app.yaml"), render("yaml", flat))
        d = w.wait_log(rule_drift("yaml"), 10, start=mark)
        self.assertEqual((d["changed"], d["missing"], d["extra"]), (0, 1, 0))

    def test_local_flat_key_format(self):
        flat = {k.replace(".", "_"): v for k, v in FLAT.items()}
        rules = ""
        for fmt in ("env", "yaml"):
            p = os.path.join(self.dir, "flat." + fmt)
            write(p, render(fmt, flat))
            rules += rule(fmt, "files", p, fmt, NO_ENV_NAME + "    key_format: flat\n")
        w = self.start(rules)
        for fmt in ("env", "yaml"):
            w.wait_log(rule_ok(fmt), 20, what="OK poll of %s" % fmt)

    def test_local_missing_file_is_drift(self):
        w = self.start(rule("app", "files", os.path.join(self.dir, "gone.env"), None,
                            NO_ENV_NAME))
        d = w.wait_log(rule_drift("app"), 20)
        self.assertEqual(d["missing"], len(FLAT))

    def test_local_unreadable_file_is_unknown(self):
        if os.geteuid() != 0:
            self.skipTest("needs root: the worker must run as nobody")
        p = os.path.join(self.dir, "secret.env")
        write(p, render("env", FLAT), mode=0o600)   # root-owned, 0600
        w = self.start(rule("app", "files", p, None, NO_ENV_NAME))
        u = w.wait_log(rule_unknown("app"), 20, what="unknown poll")
        self.assertIn("Permission denied", reason(u))
        self.assertEqual(w.find(rule_drift("app")), [])
        self.assertEqual(w.find(lambda l: "lost child" in l.get("msg", "")), [])

    def test_local_directory_is_unknown(self):
        p = os.path.join(self.dir, "adir.env")
        os.makedirs(p)
        w = self.start(rule("app", "files", p, None, NO_ENV_NAME))
        u = w.wait_log(rule_unknown("app"), 20, what="unknown poll")
        self.assertIn("not a regular file", reason(u))


if __name__ == "__main__":
    unittest.main()
