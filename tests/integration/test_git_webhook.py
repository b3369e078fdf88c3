"""Push webhooks on the admin HTTP server (POST /hooks/github, /hooks/gitlab,
/hooks/gitea): a verified push marks its branch stale and polls its rules at
once, so a new commit is the baseline within a second although the rules
poll once a minute; unverified, malformed and oversized requests are refused
(401 / 400 / 413) and logged without their body or signature; an endpoint
without a secret does not exist (404). The repository is served by a real
`git daemon` (test_git_fetch.GitDaemonTest)."""
import datetime
import hashlib
import hmac
import http.client
import json
import socket

from fixtures import APP_YAML
from harness import redis_datasource, rule_drift, rule_ok, wait_until, watcher_config
from test_git_fetch import GitDaemonTest
from test_redis import hash_rule

SECRETS = {"github": "gh-hook-secret-1f2e", "gitlab": "gl-hook-token-9a8b",
           "gitea": "gt-hook-secret-7c6d"}
ENV = {"VTW_HOOK_GITHUB": SECRETS["github"], "VTW_HOOK_GITLAB": SECRETS["gitlab"],
       "VTW_HOOK_GITEA": SECRETS["gitea"]}
WEBHOOKS = """  webhooks:
    github:
      secret: {env: VTW_HOOK_GITHUB}
    gitlab:
      secret: {env: VTW_HOOK_GITLAB}
    gitea:
      secret: {env: VTW_HOOK_GITEA}
"""


def ts(line):
    return datetime.datetime.strptime(line["ts"], "%Y-%m-%dT%H:%M:%S.%fZ")


def push_body(provider, url, ref="refs/heads/main"):
    """What each host sends for a push, reduced to what the watcher reads
    (plus a little of the rest, as hosts send much more)."""
    if provider == "gitlab":
        return json.dumps({"object_kind": "push", "ref": ref, "checkout_sha": "0" * 40,
                           "project": {"git_http_url": url, "web_url": url,
                                       "git_ssh_url": "git@example.invalid:x/y.git"}})
    return json.dumps({"ref": ref, "after": "0" * 40, "pusher": {"name": "dev"},
                       "repository": {"clone_url": url, "html_url": url,
                                      "ssh_url": "git@example.invalid:x/y.git"}})


def sign(provider, secret, body):
    """The provider's authentication headers for body."""
    mac = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if provider == "github":
        return {"X-Hub-Signature-256": "sha256=" + mac, "X-GitHub-Event": "push"}
    if provider == "gitea":
        return {"X-Gitea-Signature": mac, "X-Gitea-Event": "push"}
    return {"X-Gitlab-Token": secret, "X-Gitlab-Event": "Push Hook"}


def post(port, path, body, headers):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        c.request("POST", path, body=body, headers=dict(headers, **{
            "Content-Type": "application/json"}))
        r = c.getresponse()
        return r.status, r.read().decode()
    finally:
        c.close()


def post_oversized(port, path, headers):
    """Headers announcing a 2 MiB body, and none of it: the answer must come
    from the Content-Length alone, before any body is read."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        req = "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n%s\r\n" % (
            path, 2 * 1024 * 1024, "".join("%s: %s\r\n" % kv for kv in headers.items()))
        s.sendall(req.encode())
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        return int(data.split(b" ")[1]) if data else 0
    finally:
        s.close()


class Webhooks(GitDaemonTest):
    def setUp(self):
        super().setUp()
        self.url = "git://127.0.0.1:%d/config-repo" % self.d.port

    def start(self, webhooks=True, poll="60s"):
        conf = watcher_config(self.tmp, redis_datasource(self.r),
                              hash_rule("app").format(repo=self.url), poll)
        if webhooks:
            conf = conf.replace("watcher:\n", "watcher:\n" + WEBHOOKS, 1)
        w = self.watcher(conf, env=ENV)
        w.wait_log(rule_ok("app"), 10, what="the first poll")
        return w

    def test_good_bad_malformed_and_oversized_for_each_provider(self):
        w = self.start()
        sent = []
        for p in ("github", "gitlab", "gitea"):
            path = "/hooks/" + p
            body = push_body(p, self.url + ".git").encode()
            good = sign(p, SECRETS[p], body)
            bad = sign(p, SECRETS[p] + "x", body)
            auth = [k for k in good if not k.endswith("Event")][0]
            sent += [good[auth], bad[auth]]
            st, txt = post(w.admin_port, path, body, good)
            self.assertEqual(st, 200, "%s good: %s" % (p, txt))
            self.assertEqual(json.loads(txt)["status"], "push", p)
            self.assertEqual(post(w.admin_port, path, body, bad)[0], 401, p + " bad")
            self.assertEqual(post(w.admin_port, path, body, {})[0], 401, p + " unsigned")
            if p != "gitlab":   # GitLab's token signs no body
                # a good signature over another body
                self.assertEqual(post(w.admin_port, path, body + b" ", good)[0], 401, p)
            junk = b'{"ref": "refs/heads/main", "repository": 5} SECRETBODYWORD'
            self.assertEqual(post(w.admin_port, path, junk, sign(p, SECRETS[p], junk))[0],
                             400, p + " malformed")
            noref = json.dumps({"repository": {"clone_url": self.url},
                                "project": {"git_http_url": self.url}}).encode()
            self.assertEqual(post(w.admin_port, path, noref, sign(p, SECRETS[p], noref))[0],
                             400, p + " without ref")
            self.assertEqual(post_oversized(w.admin_port, path, good), 413, p + " oversized")
        # a verified push of a tag, or of a branch no rule watches: 200, nothing polled
        body = push_body("github", self.url, "refs/heads/other").encode()
        st, txt = post(w.admin_port, "/hooks/github", body, sign("github", SECRETS["github"],
                                                                  body))
        self.assertEqual((st, json.loads(txt)["status"]), (200, "ignored"))
        # GitHub's ping on hook creation
        st, _ = post(w.admin_port, "/hooks/github", b"{}", dict(
            sign("github", SECRETS["github"], b"{}"), **{"X-GitHub-Event": "ping"}))
        self.assertEqual(st, 200)
        # not a POST
        self.assertEqual(w.http("/hooks/github")[0], 405)
        # the refusals were logged, none with a secret, signature or body
        # the log reaches the test after the reply: wait for all 14 refusals
        refused = wait_until(lambda: (lambda r: r if len(r) >= 14 else None)(w.find(
            lambda l: "refused" in l.get("msg", "") and "webhook" in l["msg"])), 5,
            what="14 logged refusals")
        self.assertEqual(len(refused), 14, refused)
        text = "\n".join(w.raw)
        for s in list(SECRETS.values()) + sent + ["SECRETBODYWORD"]:
            self.assertNotIn(s, text)
        m = w.metrics()
        self.assertEqual(m.get('vartrack_watcher_webhook_total{provider="github",'
                               'result="unauthorized"}'), 3)
        self.assertEqual(m.get('vartrack_watcher_webhook_total{provider="gitlab",'
                               'result="push"}'), 1)
        self.assertEqual(m.get('vartrack_watcher_webhook_total{provider="gitea",'
                               'result="bad_request"}'), 2)
        self.assertNotIn(SECRETS["github"], w.http("/metrics")[1])
        self.assertEqual(w.proc.poll(), None, "the supervisor runs on")

    def test_endpoints_are_404_without_a_secret(self):
        w = self.start(webhooks=False)
        for p in ("github", "gitlab", "gitea"):
            body = push_body(p, self.url).encode()
            self.assertEqual(post(w.admin_port, "/hooks/" + p, body,
                                  sign(p, SECRETS[p], body))[0], 404, p)
        self.assertEqual(post(w.admin_port, "/hooks/bitbucket", b"{}", {})[0], 404)

    def test_a_push_is_the_baseline_within_a_second(self):
        w = self.start(poll="60s")
        repo = "127.0.0.1:%d/config-repo" % self.d.port
        fetch_ok = 'vartrack_watcher_git_fetch_total{repo="%s",result="ok"}' % repo
        self.assertEqual(w.metric(fetch_ok), 1, "the first poll fetched")
        for n, p in enumerate(("github", "gitlab", "gitea")):
            value = str(61 + n)
            mark = w.mark()
            self.g.commit({"config/app.yaml": APP_YAML.replace("50", value)})
            # any of the repository's forms matches: here the https-less .git one
            body = push_body(p, self.url + ".git").encode()
            self.assertEqual(post(w.admin_port, "/hooks/" + p, body,
                                  sign(p, SECRETS[p], body))[0], 200)
            hook = w.wait_log(lambda l: l.get("msg", "").startswith("webhook " + p) and
                              "1 rules poll now" in l["msg"], 5, start=mark)
            drift = w.wait_log(rule_drift("app"), 5, start=mark, what="drift after " + p)
            keys = {k["key"]: k for k in drift["keys"]}
            self.assertEqual(keys["max_connections"]["expected"], value)
            took = (ts(drift) - ts(hook)).total_seconds()
            print("\n  %s: drift against the new commit %.3f s after the webhook" % (p, took))
            self.assertLess(took, 1.0)
            self.assertEqual(w.metric(fetch_ok), 2 + n, "one fetch per push")
        m = w.metrics()
        self.assertGreaterEqual(m.get('vartrack_watcher_git_fetch_duration_seconds_count'
                                      '{repo="%s"}' % repo, 0), 4)
