#!/usr/bin/python3
"""Benchmark of the configmap worker against the loopback fake of the
Kubernetes API (tests/integration/kube_fake.py, in this process, plain
HTTP with a bearer token). One ConfigMap of N (10 000) keys, as the
orchestrator's sink writes it:
  1. unchanged, polled every second: the poll cycle (the OK lines'
     duration_us and the worker's read_us, polls 3..12, median and best)
     and the API requests per poll the fake saw; next to curl doing the
     same GET (one process per request, best of 5) and the same GET with
     the body decoded as JSON (python3's json, best of 5);
  2. detection latency of a hand edit (the time from the change in the
     fake to the drift line), median of 5: with the watch at a 60 s poll
     interval, and with the timer alone at a 2 s interval (watch: false).
Prints figures; asserts nothing.  usage: bench_kube.py BUILD_DIR [N]"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from kube_fake import KubeFake  # noqa: E402

B = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
TOKEN = "k8s-bench-token-0123456789"
NS, CM, NAME = "apps", "app-config", "app-config-production"
LABELS = {"app.kubernetes.io/managed-by": "vartrack"}


def port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def med_best(us):
    us = sorted(us)
    return us[(len(us) - 1) // 2] / 1000, us[0] / 1000


class Watcher:
    def __init__(self, d, kube, repo, name, poll, extra=""):
        self.conf = os.path.join(d, name + ".yaml")
        with open(self.conf, "w") as f:
            f.write("""watcher: {poll_interval: %s, admin_addr: "127.0.0.1:%d", cache_dir: %s/cache}
platforms: [{name: local, type: local}]
datasources: [{name: cm, type: configmap, api_server: "%s", token: {file: %s/tok},
  command_timeout: 30s}]
rules:
  - {name: big, platform: local, datasource: cm, repo_url: %s, file_name: big.yaml,
     tenant_id: b, env: production, k8s_namespace: %s, k8s_configmap_name: %s%s}
""" % (poll, port(), d, kube.url, d, repo, NS, CM, extra))
        self.log = os.path.join(d, name + ".log")
        self.logf = open(self.log, "w")
        self.p = subprocess.Popen([os.path.join(B, "bin", "vartrack-watcher"), "-f", self.conf],
                                  stderr=self.logf, stdout=subprocess.DEVNULL)

    def lines(self, result):
        self.logf.flush()
        with open(self.log) as f:
            return [json.loads(l) for l in f if '"result":"%s"' % result in l]

    def wait(self, result, n, timeout=120):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            got = self.lines(result)
            if len(got) >= n:
                return got
            time.sleep(0.005)
        raise SystemExit("bench_kube: no %d %s lines in %s" % (n, result, self.log))

    def stop(self):
        self.p.terminate()
        self.p.wait()
        self.logf.close()


def latency(w, kube, flat, trials=5):
    """Seconds from a hand edit to its drift line, then back to OK."""
    out = []
    for i in range(trials):
        nd, no = len(w.lines("drift")), len(w.lines("ok"))
        t0 = time.time()
        kube.update(NS, NAME, set_={"key_000042": "edited-%d" % i})
        w.wait("drift", nd + 1)
        out.append(time.time() - t0)
        kube.update(NS, NAME, set_={"key_000042": flat["key_000042"]})
        w.wait("ok", no + 1)
    out.sort()
    return out[len(out) // 2], out[0], out[-1]


def curl_best(url, decode=False):
    best = None
    for _ in range(5):
        t0 = time.monotonic()
        r = subprocess.run(["curl", "-sS", "-H", "Authorization: Bearer " + TOKEN,
                            "-H", "Accept: application/json", url],
                           check=True, capture_output=True)
        if decode:
            assert len(json.loads(r.stdout)["data"]) == N
        t = time.monotonic() - t0
        best = t if best is None or t < best else best
    return best * 1000


def main():
    d = tempfile.mkdtemp(prefix="vtw-bench-kube.")
    os.chmod(d, 0o755)
    kube = KubeFake(tokens=[TOKEN])
    kube.start()
    flat = {"key_%06d" % i: "value-%06d-abcdefghij" % i for i in range(N)}
    kube.put(NS, NAME, flat, labels=LABELS)
    repo = os.path.join(d, "repo")
    os.mkdir(repo)
    with open(os.path.join(repo, "big.yaml"), "w") as f:
        f.writelines("%s: %s\n" % kv for kv in flat.items())
    g = ["git", "-C", repo, "-c", "user.email=b@x", "-c", "user.name=b"]
    subprocess.run(["git", "-C", repo, "init", "-q", "-b", "main"], check=True)
    subprocess.run(g + ["add", "-A"], check=True)
    subprocess.run(g + ["commit", "-q", "-m", "bench"], check=True)
    with open(os.path.join(d, "tok"), "w") as f:
        f.write(TOKEN)
    ws = []
    try:
        print("=== bench_kube: ConfigMap of %d keys, loopback fake (python), build %s" % (N, B))
        w = Watcher(d, kube, repo, "cycle", "1s", ", watch: false")
        ws.append(w)
        w.wait("ok", 2)
        m0, lo = kube.mark(), len(w.lines("ok"))
        allok = w.wait("ok", lo + 10)
        reqs = len(kube.since(m0)) / (len(w.lines("ok")) - lo)
        oks = allok[2:]
        w.stop()
        ws.remove(w)
        print("%-40s cycle median %.1f ms, best %.1f ms (worker read %.1f / %.1f); "
              "%.1f requests per poll" % (("unchanged, every 1 s:",) +
                                          med_best([l["duration_us"] for l in oks]) +
                                          med_best([l["read_us"] for l in oks]) +
                                          (reqs,)))
        url = "%s/api/v1/namespaces/%s/configmaps/%s" % (kube.url, NS, NAME)
        print("%-40s %.1f ms" % ("  raw curl, the same GET:", curl_best(url)))
        print("%-40s %.1f ms" % ("  raw curl + JSON decode (python3):", curl_best(url, True)))
        w = Watcher(d, kube, repo, "watch", "60s")
        ws.append(w)
        w.wait("ok", 1)
        # the watch is opened after the first read: give it a moment
        end = time.monotonic() + 10
        while time.monotonic() < end and not kube.since(0, watches=True)[-1:]:
            time.sleep(0.01)
        lat = latency(w, kube, flat)
        print("%-40s median %.0f ms (min %.0f, max %.0f, n=5)" % (
            ("detection, watch, 60 s interval:",) + tuple(x * 1000 for x in lat)))
        w.stop()
        ws.remove(w)
        w = Watcher(d, kube, repo, "timer", "2s", ", watch: false")
        ws.append(w)
        w.wait("ok", 1)
        lat = latency(w, kube, flat)
        print("%-40s median %.0f ms (min %.0f, max %.0f, n=5)" % (
            ("detection, timer only, 2 s interval:",) + tuple(x * 1000 for x in lat)))
    finally:
        for w in ws:
            w.stop()
        kube.stop()
        if not os.environ.get("KEEP"):
            shutil.rmtree(d, ignore_errors=True)


main()
