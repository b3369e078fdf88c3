"""End-to-end tests: vartrack-watcher + its git and configmap workers against
a loopback fake kube-apiserver (kube_fake.py: no real kube-apiserver runs
here; its header says what it does not cover), over HTTPS with the test
CA of certs.sh, one test over plain HTTP. The ConfigMaps are written as the
orchestrator's ConfigMap sink writes them (interop §3.5): the 8 k8s-safe
labels, the env and key-format annotations, data keys flat by default
(dots -> '_'), in {k8s_configmap_name}-{k8s_safe(env)} by default.
"""
import base64
import json
import os
import shutil
import subprocess
import time

import conformance
from harness import WatcherTest, rule_drift, rule_ok, rule_unknown, wait_until, watcher_config
from kube_fake import KubeFake

CERTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "certs.sh")
TOKEN = "k8s-t0ken-SECRET-abc123"
NS = "apps"
CM = "app-config"
NAME = "app-config-production"     # env_as_name_suffix (default), env production
LABELS = {
    "app.kubernetes.io/managed-by": "vartrack",
    "vartrack.io/tenant": "default",
    "vartrack.io/datasource": "cm",
    "vartrack.io/env": "production",
    "vartrack.io/source-repo": "repo",
    "vartrack.io/source-branch": "main",
    "vartrack.io/source-commit": "093ba4721569",
    "vartrack.io/sync-file": "config-app.yaml",
}


def make_certs(tmp):
    d = os.path.join(tmp, "certs")
    if not os.path.exists(os.path.join(d, "ca.pem")):
        subprocess.run(["sh", CERTS, d], check=True, stdout=subprocess.DEVNULL)
    return d


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)
    return path


def ds_yaml(kube, tmp, token=TOKEN, extra="", name="cm"):
    s = "  - name: %s\n    type: configmap\n    api_server: %s\n" % (name, kube.url)
    if kube.certdir:
        s += "    ca_file: %s/ca.pem\n" % kube.certdir
    if token is not None:
        s += "    token: {file: %s}\n" % write(os.path.join(tmp, "k8s-token-" + name), token)
    return s + extra


def rule_yaml(name, repo, extra="", datasource="cm", ns=NS, cm=CM):
    return ("  - name: %s\n    platform: local\n    datasource: %s\n"
            "    repo_url: %s\n    file_name: config/app.yaml\n"
            "    tenant_id: acme\n    env: production\n    k8s_namespace: %s\n"
            "    k8s_configmap_name: %s\n%s" % (name, datasource, repo, ns, cm, extra))


def flatten(flat):
    return {k.replace(".", "_"): v for k, v in flat.items()}


def as_str(v):
    return v.decode("latin-1") if isinstance(v, bytes) else v


class ConfigMapKind(conformance.FileKind):
    """One ConfigMap replaced whole by every change, as the sink does; the
    rule reads it with key_format: dot (so drift lines show Git's keys)."""
    name = "configmap"
    datasource = "cm"
    big_value_bytes = 900 * 1024     # a ConfigMap holds at most 1 MiB
    reconnect_s = 1.5

    def start(self):
        self.kube = KubeFake(make_certs(self.test.tmp), tokens=[TOKEN])
        self.kube.start()
        self.test.cleanups.append(self.kube.stop)

    def stop(self):
        self.kube.stop()

    def restart(self):
        self.kube.start()
        self.kube.remove(NS, NAME)
        self.cur = {}

    def _write(self):
        self.kube.put(NS, NAME, {k: as_str(v) for k, v in self.cur.items()}, labels=LABELS,
                      annotations={"vartrack.io/env": "production",
                                   "vartrack.io/key-format": "dot"})

    def datasource_yaml(self, extra=""):
        return ds_yaml(self.kube, self.test.tmp, extra=extra)

    def rule_yaml(self, name, repo, extra=""):
        return rule_yaml(name, repo, "    key_format: dot\n" + extra)

    def invalid_utf8_shown(self, raw):
        return [raw[:2].decode("latin-1")]


class Conformance(conformance.Suite, WatcherTest):
    kind = ConfigMapKind


def flat_yaml(flat):
    return "".join("%s: %s\n" % (json.dumps(k), json.dumps(v)) for k, v in flat.items())


FLAT = {"max_connections": "50", "database.host": "db.internal", "database.pool_size": "10",
        "log_level": "info"}


class ConfigMapTest(WatcherTest):

    tls = True

    def setUp(self):
        super().setUp()
        self.kube = KubeFake(make_certs(self.tmp) if self.tls else None, tokens=[TOKEN])
        self.kube.start()
        self.cleanups.append(self.kube.stop)

    def start(self, flat=FLAT, ds=None, rules=None, poll="300ms", wait_ok=True, put=True):
        self.g = self.repo({"config/app.yaml": flat_yaml(flat)})
        if put:
            self.kube.put(NS, NAME, flatten(flat), labels=LABELS)
        self.w = self.watcher(watcher_config(
            self.tmp, ds if ds is not None else ds_yaml(self.kube, self.tmp),
            rules if rules is not None else rule_yaml("app", self.g.path), poll))
        if wait_ok:
            self.w.wait_log(rule_ok("app"), 60, what="first OK poll")
        return self.w

    def no_token_logged(self):
        self.assertNotIn(TOKEN, "\n".join(self.w.raw))


class Reads(ConfigMapTest):

    def test_in_sync_one_get_with_token(self):
        w = self.start()
        ok = w.find(rule_ok("app"))[0]
        self.assertEqual(ok["target"], "apps/app-config-production")
        reqs = self.kube.since(0)
        self.assertTrue(reqs)
        for r in reqs:
            self.assertEqual((r["method"], r["path"], r["code"]),
                             ("GET", "/api/v1/namespaces/apps/configmaps/"
                              "app-config-production", 200))
            self.assertEqual(r["auth"], "Bearer " + TOKEN)
            self.assertEqual(r["accept"], "application/json")
        self.no_token_logged()

    def test_changed_missing_extra_and_binary_data(self):
        w = self.start()
        mark = w.mark()
        self.kube.update(NS, NAME, set_={"max_connections": "5", "rogue_entry": "x"},
                         delete=["log_level"], binary={"blob.bin": b"\x00\x01bin"})
        d = w.wait_log(lambda l: rule_drift("app")(l) and l["extra"] == 2, 20, start=mark,
                       what="drift: 1 changed, 1 missing, 2 extra")
        self.assertEqual((d["changed"], d["missing"], d["extra"]), (1, 1, 2))
        keys = {k["key"]: k for k in d["keys"]}
        self.assertEqual((keys["max_connections"]["expected"],
                          keys["max_connections"]["actual"]), ("50", "5"))
        self.assertEqual(keys["log_level"]["change"], "missing")
        self.assertEqual(keys["rogue_entry"]["actual"], "x")
        self.assertEqual(keys["blob.bin"]["actual"], "AAFiaW4=")   # as the API shows it
        self.assertEqual(d["marker"], "present")
        # back in sync
        mark = w.mark()
        self.kube.put(NS, NAME, flatten(FLAT), labels=LABELS)
        w.wait_log(rule_ok("app"), 20, start=mark, what="OK again")

    def test_absent_configmap_is_every_key_missing(self):
        w = self.start()
        mark = w.mark()
        self.kube.remove(NS, NAME)
        d = w.wait_log(rule_drift("app"), 20, start=mark, what="drift")
        self.assertEqual((d["missing"], d["changed"], d["extra"]), (4, 0, 0))
        self.assertEqual(d["marker"], "absent")

    def test_unlabelled_configmap_marker_absent(self):
        w = self.start()
        mark = w.mark()
        self.kube.put(NS, NAME, dict(flatten(FLAT), max_connections="1"))
        d = w.wait_log(rule_drift("app"), 20, start=mark, what="drift")
        self.assertEqual(d["marker"], "absent")

    def test_wrong_token_unknown_unauthorized_never_logged(self):
        w = self.start(ds=ds_yaml(self.kube, self.tmp, token="wrong-" + TOKEN), wait_ok=False)
        u = w.wait_log(rule_unknown("app"), 30, what="an unknown poll")
        self.assertIn("401 Unauthorized", u["reason"])
        self.assertEqual(u["stage"], "read")
        self.assertEqual(w.find(rule_drift("app")), [])
        self.assertNotIn("wrong-" + TOKEN, "\n".join(w.raw))
        self.no_token_logged()

    def test_forbidden_names_reason_and_message(self):
        self.kube.forbidden.add(NS)
        w = self.start(wait_ok=False)
        u = w.wait_log(rule_unknown("app"), 30, what="an unknown poll")
        self.assertIn("403 Forbidden", u["reason"])
        self.assertIn('cannot get resource "configmaps"', u["reason"])
        self.assertEqual(w.find(rule_drift("app")), [])

    def test_429_backs_off_for_retry_after(self):
        w = self.start()
        mark, rmark = w.mark(), self.kube.mark()
        self.kube.throttle(1, 2)
        u = w.wait_log(rule_unknown("app"), 20, start=mark, what="an unknown poll")
        self.assertIn("429 TooManyRequests", u["reason"])
        w.wait_log(rule_ok("app"), 20, start=mark, what="OK after the back-off")
        reqs = self.kube.since(rmark)
        i = [r["code"] for r in reqs].index(429)
        nxt = reqs[i + 1]
        # polls every 300 ms, yet nothing is sent for Retry-After (2 s)
        self.assertGreaterEqual(nxt["t"] - reqs[i]["t"], 1.9, reqs[i:i + 3])
        self.assertEqual(nxt["code"], 200)
        self.assertTrue(any("throttled" in l.get("reason", "") for l in w.find(
            rule_unknown("app"), mark)))
        self.assertEqual(w.find(rule_drift("app"), mark), [])

    def test_layouts(self):
        """§3.5's table: env_as_namespace, no suffix, a template (k8s_safe)."""
        self.g = self.repo({"config/app.yaml": flat_yaml(FLAT)})
        self.kube.put("production", CM, flatten(FLAT), labels=LABELS)
        self.kube.put(NS, CM, flatten(FLAT), labels=LABELS)
        self.kube.put(NS, "acme-production-cfg", FLAT, labels=LABELS)
        rules = (rule_yaml("ns", self.g.path, "    env_as_namespace: true\n") +
                 rule_yaml("plain", self.g.path, "    env_as_name_suffix: false\n") +
                 rule_yaml("tmpl", self.g.path, "    destination_template: \"{tenant}."
                           "{env}_CFG\"\n    key_format: dot\n"))
        w = self.watcher(watcher_config(self.tmp, ds_yaml(self.kube, self.tmp), rules,
                                        "300ms"))
        for r, target in (("ns", "production/app-config"), ("plain", "apps/app-config"),
                          ("tmpl", "apps/acme-production-cfg")):
            ok = w.wait_log(rule_ok(r), 60, what="OK of " + r)
            self.assertEqual(ok["target"], target)

    def test_token_file_rotated(self):
        tf = write(os.path.join(self.tmp, "sa-token"), TOKEN + "\n")
        self.kube.token_file = tf
        w = self.start(ds=ds_yaml(self.kube, self.tmp, token=None,
                                  extra="    token_file: %s\n" % tf))
        mark, rmark = w.mark(), self.kube.mark()
        write(tf, "rotated-token-xyz\n")
        wait_until(lambda: any(r["auth"] == "Bearer rotated-token-xyz" and r["code"] == 200
                               for r in self.kube.since(rmark)), 20,
                   what="a request with the rotated token")
        w.wait_log(rule_ok("app"), 20, start=w.mark(), what="OK with the new token")
        # the 401 was retried within its poll: no unknown
        self.assertEqual(w.find(rule_unknown("app"), mark), [])
        self.assertIn(401, [r["code"] for r in self.kube.since(rmark)])
        self.assertNotIn("rotated-token-xyz", "\n".join(w.raw))
        self.no_token_logged()

    def test_wrong_ca_is_unknown(self):
        d = make_certs(self.tmp)
        w = self.start(ds=ds_yaml(self.kube, self.tmp).replace(
            "%s/ca.pem" % d, "%s/other-ca.pem" % d), wait_ok=False)
        u = w.wait_log(rule_unknown("app"), 30, what="an unknown poll")
        self.assertIn("certificate", u["reason"].lower())


class PlainHttp(ConfigMapTest):
    tls = False

    def test_plain_http_reads(self):
        w = self.start()
        mark = w.mark()
        self.kube.update(NS, NAME, set_={"log_level": "debug"})
        d = w.wait_log(rule_drift("app"), 20, start=mark, what="drift")
        self.assertEqual(d["keys"][0]["key"], "log_level")
        self.no_token_logged()


class FakeCheckedByKubectl(WatcherTest):
    """The fake answers as client-go expects: kubectl (Debian's
    kubernetes-client) reads its ConfigMap over TLS with a bearer token
    (backends-http-ha.md §2.4 item 6), gets its Status objects back as
    errors, and is refused with a wrong token."""

    def setUp(self):
        super().setUp()
        self.certs = make_certs(self.tmp)
        self.kube = KubeFake(self.certs, tokens=[TOKEN])
        self.kube.start()
        self.cleanups.append(self.kube.stop)

    def kubectl(self, *args, token=TOKEN):
        kubectl = shutil.which("kubectl")
        self.assertIsNotNone(kubectl, "kubectl missing: scripts/install-deps.sh installs "
                             "kubernetes-client")
        env = dict(os.environ, HOME=self.tmp, KUBECONFIG=os.path.join(self.tmp, "no-config"))
        return subprocess.run(
            [kubectl, "--server", self.kube.url, "--token", token, "--certificate-authority",
             os.path.join(self.certs, "ca.pem"), "--cache-dir",
             os.path.join(self.tmp, "kubectl-cache-" + token), "--request-timeout", "20s"]
            + list(args), capture_output=True, text=True, timeout=60, env=env)

    def test_kubectl_gets_the_configmap(self):
        self.kube.put(NS, NAME, flatten(FLAT), labels=LABELS,
                      annotations={"vartrack.io/env": "production"})
        r = self.kubectl("get", "cm", NAME, "-n", NS, "-o", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        cm = json.loads(r.stdout)
        self.assertEqual((cm["kind"], cm["apiVersion"]), ("ConfigMap", "v1"))
        self.assertEqual(cm["data"], flatten(FLAT))
        self.assertEqual(cm["metadata"]["labels"], LABELS)
        self.assertEqual((cm["metadata"]["name"], cm["metadata"]["namespace"]), (NAME, NS))
        gets = [q for q in self.kube.since(0) if q["path"].endswith("/configmaps/" + NAME)]
        self.assertEqual([q["auth"] for q in gets], ["Bearer " + TOKEN])

    def test_kubectl_shows_not_found_and_forbidden_status(self):
        self.kube.put(NS, "other", {"a": "1"})
        r = self.kubectl("get", "cm", NAME, "-n", NS, "-o", "json")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('Error from server (NotFound): configmaps "%s" not found' % NAME,
                      r.stderr)
        self.kube.forbidden.add(NS)
        r = self.kubectl("get", "cm", "other", "-n", NS, "-o", "json")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Error from server (Forbidden)", r.stderr)
        self.assertIn('cannot get resource "configmaps"', r.stderr)

    def test_kubectl_wrong_token_unauthorized(self):
        self.kube.put(NS, NAME, flatten(FLAT))
        r = self.kubectl("get", "cm", NAME, "-n", NS, "-o", "json", token="not-" + TOKEN)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("the server has asked for the client to provide credentials", r.stderr)
        self.assertEqual({q["code"] for q in self.kube.since(0)}, {401})


class Kubeconfig(ConfigMapTest):
    """The datasource names a kubeconfig instead of api_server: its
    context's cluster (server, CA as -data) and user (tokenFile relative
    to the kubeconfig's folder) are read at load."""

    def kubeconfig(self, user):
        with open(os.path.join(self.kube.certdir, "ca.pem"), "rb") as f:
            ca = base64.b64encode(f.read()).decode()
        os.makedirs(os.path.join(self.tmp, "kube"), exist_ok=True)
        return write(os.path.join(self.tmp, "kube", "config"), (
            "apiVersion: v1\nkind: Config\ncurrent-context: other\n"
            "clusters:\n- name: fake\n  cluster:\n    server: %s\n"
            "    certificate-authority-data: %s\n"
            "contexts:\n- name: other\n  context: {cluster: nowhere, user: w}\n"
            "- name: watcher\n  context: {cluster: fake, user: w}\n"
            "users:\n- name: w\n  user:\n%s" % (self.kube.url, ca, user)))

    def test_kubeconfig_context_ca_data_relative_token_file(self):
        kc = self.kubeconfig("    tokenFile: sa-token\n")
        write(os.path.join(self.tmp, "kube", "sa-token"), TOKEN + "\n")
        ds = ("  - name: cm\n    type: configmap\n    kubeconfig: %s\n"
              "    context: watcher\n" % kc)
        w = self.start(ds=ds)
        mark = w.mark()
        self.kube.update(NS, NAME, set_={"log_level": "debug"})
        d = w.wait_log(rule_drift("app"), 20, start=mark, what="drift")
        self.assertEqual(d["keys"][0]["key"], "log_level")
        self.assertTrue(all(r["auth"] == "Bearer " + TOKEN for r in self.kube.since(0)))
        self.no_token_logged()

    def test_exec_user_refused_naming_the_entry(self):
        kc = self.kubeconfig("    exec:\n      command: aws-iam-authenticator\n")
        self.g = self.repo({"config/app.yaml": flat_yaml(FLAT)})
        cfg = write(os.path.join(self.tmp, "refused.yaml"), watcher_config(
            self.tmp, "  - name: cm\n    type: configmap\n    kubeconfig: %s\n"
            "    context: watcher\n" % kc, rule_yaml("app", self.g.path), "300ms"))
        r = subprocess.run([os.path.join(os.environ["VTW_BIN"], "vartrack-watcher"), "-n",
                            "-f", cfg], capture_output=True, text=True, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("user 'w': exec credential plugins are not supported",
                      r.stdout + r.stderr)
        self.assertIn(kc, r.stdout + r.stderr)


class Watch(ConfigMapTest):
    """Event-assisted detection: with a 60 s poll interval, a change is
    seen within 1 s through the watch; without it (watch: false) not. The
    worker's watch threads run in its sandbox: no worker is lost."""

    def tearDown(self):
        if getattr(self, "w", None) is not None:
            self.assertIsNone(self.w.proc.poll(), "the supervisor exited")
            self.assertEqual(self.w.find(lambda l: "lost child" in l.get("msg", "") or
                                         "SIGSYS" in l.get("msg", "")), [])
        super().tearDown()

    def start_watched(self, extra=""):
        self.g = self.repo({"config/app.yaml": flat_yaml(FLAT)})
        self.kube.put(NS, NAME, flatten(FLAT), labels=LABELS)
        w = self.watcher(watcher_config(self.tmp, ds_yaml(self.kube, self.tmp),
                                        rule_yaml("app", self.g.path, extra), "60s"))
        w.wait_log(rule_ok("app"), 60, what="first OK poll")
        self.w = w
        return w

    def wait_watch(self, n=1, what="a watch request"):
        return wait_until(lambda: [r for r in self.kube.watches] if len(self.kube.watches)
                          >= n else None, 20, what=what)

    def test_modified_and_deleted_detected_within_a_second(self):
        w = self.start_watched()
        ws = self.wait_watch()
        rq = [r for r in self.kube.since(0, watches=True) if r.get("watch")][0]
        self.assertIn("fieldSelector=metadata.name%3D" + NAME, rq["query"])
        self.assertIn("allowWatchBookmarks=true", rq["query"])
        self.assertEqual(rq["auth"], "Bearer " + TOKEN)
        self.assertTrue(300 <= ws[0]["timeout"] <= 600, ws[0]["timeout"])
        get_rv = self.kube.events[-1][0]
        self.assertEqual(ws[0]["rv"], str(get_rv))     # from the last GET
        mark = w.mark()
        t0 = time.monotonic()
        self.kube.update(NS, NAME, set_={"max_connections": "5"})
        w.wait_log(rule_drift("app"), 5, start=mark, what="drift through the watch")
        self.assertLess(time.monotonic() - t0, 1.0)
        mark = w.mark()
        t0 = time.monotonic()
        self.kube.remove(NS, NAME)
        d = w.wait_log(lambda l: rule_drift("app")(l) and l["missing"] == 4, 5, start=mark,
                       what="every key missing through the watch")
        self.assertLess(time.monotonic() - t0, 1.0)
        self.assertEqual(d["marker"], "absent")
        self.no_token_logged()

    def test_no_watch_waits_for_the_timer(self):
        w = self.start_watched("    watch: false\n")
        mark = w.mark()
        self.kube.update(NS, NAME, set_={"max_connections": "5"})
        # a second GET would show it: none comes before the 60 s timer
        wait_until(lambda: time.monotonic() > self.kube.since(0)[-1]["t"] + 2, 5,
                   what="2 s after the last request")
        self.assertEqual(w.find(rule_drift("app"), mark), [])
        self.assertEqual(self.kube.watches, [])

    def test_expired_410_regets_and_rewatches(self):
        w = self.start_watched()
        self.wait_watch()
        self.kube.expire_before(self.kube.current_rv() + 1)
        mark, rmark = w.mark(), self.kube.mark()
        self.kube.drop_watches()       # the re-opened watch is below the floor
        self.wait_watch(3, "a 410 watch and a watch from now")
        self.assertIn("ERROR", self.kube.watches[1]["sent"])
        self.assertEqual(self.kube.watches[2]["rv"], "")
        # the 410 made the supervisor poll at once: a GET, OK
        w.wait_log(rule_ok("app"), 5, start=mark, what="an OK poll after the 410")
        self.assertTrue(self.kube.since(rmark))
        # and the new watch still sees changes
        mark = w.mark()
        self.kube.update(NS, NAME, set_={"log_level": "debug"})
        w.wait_log(rule_drift("app"), 5, start=mark, what="drift through the new watch")

    def test_dropped_stream_reopened(self):
        w = self.start_watched()
        self.wait_watch()
        self.kube.drop_watches()
        self.wait_watch(2, "the watch re-opened")
        mark = w.mark()
        self.kube.update(NS, NAME, set_={"log_level": "debug"})
        w.wait_log(rule_drift("app"), 5, start=mark, what="drift through the re-opened watch")
        self.assertTrue(w.find(lambda l: "ended early" in l.get("msg", "")))
