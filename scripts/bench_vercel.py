#!/usr/bin/python3
"""Benchmark of the vercel worker against the loopback fake of the Vercel
env API (tests/integration/vercel_fake.py, in this process). N (1 000)
plain variables of one project, as the orchestrator writes them:
  1. unchanged: the poll cycle (the OK lines' duration_us, polls 3..12,
     median and best) and the API calls per poll the fake saw;
  2. one variable made encrypted by someone else: the poll that sees it
     (one list + one decrypt), then the steady state (one list per poll:
     the decrypted value is cached by its updatedAt);
next to curl doing the same calls (one process per request, best of 5).
Prints figures; asserts nothing.  usage: bench_vercel.py BUILD_DIR [N]"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import vercel_fake  # noqa: E402

B = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
TOKEN = "vcp_bench_token_0123456789"
PID = "prj_bench0001"


def port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def stats(ls):
    def one(us):
        us = sorted(us)
        return us[(len(us) - 1) // 2] / 1000, us[0] / 1000
    return "cycle median %.1f ms, best %.1f ms (worker read %.1f / %.1f)" % (
        one([l["duration_us"] for l in ls]) + one([l["read_us"] for l in ls]))


def curl_best(urls, one_process=False):
    best = None
    for _ in range(5):
        t0 = time.monotonic()
        for u in ([urls] if one_process else [[u] for u in urls]):
            subprocess.run(["curl", "-sS", "-H", "Authorization: Bearer " + TOKEN] +
                           sum((["-o", "/dev/null", x] for x in u), []), check=True)
        t = time.monotonic() - t0
        best = t if best is None or t < best else best
    return best * 1000


def main():
    d = tempfile.mkdtemp(prefix="vtw-bench-vercel.")
    os.chmod(d, 0o755)
    fake = vercel_fake.VercelFake(TOKEN)
    fake.start()
    fake.project(PID)
    flat = {"key_%06d" % i: "value-%06d-abcdefghij" % i for i in range(N)}
    for k, v in flat.items():
        fake.set(PID, k, v)
    fake.set(PID, "VARTRACK_MANAGED_BY", "vartrack")
    fake.set(PID, "VARTRACK_META", "{}")
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
    ap = port()
    with open(os.path.join(d, "w.yaml"), "w") as f:
        f.write("""watcher: {poll_interval: 1s, admin_addr: "127.0.0.1:%d", cache_dir: %s/cache}
platforms: [{name: local, type: local}]
datasources: [{name: vercel, type: vercel, api_url: "%s", token: {file: %s/tok},
  command_timeout: 30s}]
rules:
  - {name: big, platform: local, datasource: vercel, repo_url: %s, file_name: big.yaml,
     tenant_id: b, env: production, vercel_project_id: %s}
""" % (ap, d, fake.url, d, repo, PID))
    log = open(os.path.join(d, "w.log"), "w+")
    w = subprocess.Popen(os.environ.get("BENCH_WRAP", "").split() + [os.path.join(B, "bin", "vartrack-watcher"), "-f",
                          os.path.join(d, "w.yaml")], stderr=log, stdout=subprocess.DEVNULL)
    import json

    def lines(result):
        log.flush()
        with open(log.name) as f:
            out = []
            for l in f:
                if '"result":"%s"' % result in l:
                    out.append(json.loads(l))
            return out

    def wait(result, n, timeout=120):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            got = lines(result)
            if len(got) >= n:
                return got
            time.sleep(0.05)
        raise SystemExit("bench_vercel: no %d %s lines" % (n, result))

    try:
        print("=== bench_vercel: %d variables, loopback fake (python), build %s" % (N, B))
        wait("ok", 2)
        r0, lo = len(fake.seen()), len(lines("ok"))
        oks = wait("ok", lo + 10)
        r1 = len(fake.seen())
        print("%-36s %s; %.1f API calls per poll" % (
            "unchanged:", stats(oks[2:]),
            (r1 - r0) / (len(oks) - lo)))
        r0 = len(fake.seen())
        fake.set(PID, "key_000042", "changed-elsewhere", "encrypted")
        dr = wait("drift", 1)
        r1 = len(fake.seen())
        print("%-36s %.1f ms (read %.1f ms); %d API calls (%d decrypt)" % (
            "one variable made encrypted:", dr[0]["duration_us"] / 1000,
            dr[0]["read_us"] / 1000, r1 - r0,
            len(fake.decrypts())))
        r0, lo = len(fake.seen()), len(lines("drift"))
        drs = wait("drift", lo + 10)
        r1 = len(fake.seen())
        print("%-36s %s; %.1f API calls per poll" % (
            "  then unchanged (cached):", stats(drs[lo:]),
            (r1 - r0) / (len(drs) - lo)))
        lst = "%s/v10/projects/%s/env" % (fake.url, PID)
        e = fake.find(PID, "key_000042")
        dec = "%s/v1/projects/%s/env/%s" % (fake.url, PID, e.id)
        print("%-36s %.1f ms (1 list)" % ("  raw curl, unchanged:", curl_best([lst])))
        print("%-36s %.1f ms (list + decrypt)" % ("  raw curl, encrypted one:",
                                                 curl_best([lst, dec])))
        print("%-36s %.1f ms (list + decrypt, one connection)" % (
            "  raw curl, encrypted one:", curl_best([lst, dec], True)))
    finally:
        w.terminate()
        w.wait()
        fake.stop()
        if not os.environ.get("KEEP"):
            shutil.rmtree(d, ignore_errors=True)


main()
