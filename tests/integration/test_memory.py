"""The supervisor's memory over polls of a big rule (issue 13 item 11);
scripts/soak_rss.sh is the long-running measurement."""
import os
import subprocess
import unittest

from harness import WATCHER, WatcherTest, rule_ok, wait_until

PREFIX = "acme:redis:production"
NKEYS = 10000


def vm_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


def sanitized():
    """An ASan build has its own allocator (and shadow memory): RSS says
    nothing about glibc malloc there."""
    out = subprocess.run(["ldd", WATCHER], capture_output=True, text=True).stdout
    return "libasan" in out


@unittest.skipIf(os.environ.get("VTW_VALGRIND"), "memcheck replaces malloc")
class SupervisorRss(WatcherTest):
    """RSS of the supervisor between the polls of a 10 000-key HASH rule,
    next to the same rule with 10 keys."""

    def setUp(self):
        super().setUp()
        if sanitized():
            self.skipTest("sanitizer build: its allocator is not glibc's")

    def rss_run(self, redis, repo, n, polls):
        """Runs a watcher on a rule of n keys (Git = Redis, no drift), lets
        `polls` polls pass (300 ms apart) and returns, for each poll after
        the fifth, the least supervisor RSS seen (kB) while that poll's OK
        line was the last one: the memory held between polls."""
        keys = {"key_%06d" % i: "value-%06d-abcdefghij" % i for i in range(n)}
        repo.commit({"config/app.yaml": "".join(
            "%s: %s\n" % kv for kv in keys.items())}, "%d keys" % n)
        items = list(keys.items())
        redis.pipe([["DEL", PREFIX + ":vartrack"]] +
                   [["HSET", PREFIX + ":vartrack"] +
                    [x for kv in items[i:i + 1000] for x in kv]
                    for i in range(0, n, 1000)])
        w = self.watcher(self.config(redis, """  - name: app
    platform: local
    datasource: redis
    repo_url: %s
    branch: main
    file_name: config/app.yaml
    tenant_id: acme
    env: production
    redis_data_structure: HASH
""" % repo.path, poll="300ms"))
        pid = w.proc.pid
        least = {}

        def sample():
            n_ok = len(w.find(rule_ok("app")))
            if n_ok > 5:
                rss = vm_rss_kb(pid)
                least[n_ok] = min(least.get(n_ok, rss), rss)
            return n_ok >= polls

        wait_until(sample, 30 + polls * 0.3, step=0.01,
                   what="%d OK polls of %d keys" % (polls, n))
        bad = w.find(lambda l: l.get("level") in ("warn", "error"))
        self.assertEqual(bad, [])
        self.assertEqual(w.stop(), 0)
        # the poll still open when sampling stopped may have one sample
        return [least[k] for k in sorted(least) if k < polls]

    def test_big_rule_holds_its_baseline_only_and_does_not_grow(self):
        redis = self.redis()
        repo = self.repo({"README": "soak\n"})
        small = min(self.rss_run(redis, repo, 10, 10))
        big = self.rss_run(redis, repo, NKEYS, 40)
        # The baseline of 10 000 keys is about 1.25 MB of live heap; on
        # main 2026-12-03 the supervisor held 5.6 MB more than with 10
        # keys (the main heap never trimmed at exactly 10 000 keys, and
        # each of nng's task threads kept its own arena with the largest
        # reply it had received), with the fix 1.2 MB.
        # (the median: a window can be cut short by a slow sampler)
        self.assertLess(sorted(big)[len(big) // 2] - small, 2500,
                        "supervisor RSS between polls: %s kB; with 10 keys %d kB"
                        % (big, small))
        # no growth from poll to poll: the last ten polls hold what the
        # first ten after the warm-up held (a leak of 10 kB a poll fails)
        first, last = min(big[:10]), min(big[-10:])
        self.assertLess(last - first, 256,
                        "supervisor RSS between polls: %s kB" % big)


if __name__ == "__main__":
    unittest.main()
