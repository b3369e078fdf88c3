#!/bin/bash
# Benchmark of the zookeeper worker against a real ZooKeeper 3.8 (Debian's
# zookeeper package, started as tests/integration/harness.py does it, on a
# free loopback port, stopped by PID):
#  1. one full poll cycle (request -> worker read -> diff done) for 10 000
#     znodes in the slash_dot layout (flat under /b/main, interop §3.3),
#     best of polls 2..21, next to the raw read of the same znodes with the
#     same C library (a small program built here: all zoo_aget issued at
#     once, values copied, best of 2 x 20), and the ratio; the watcher's cycle
#     also lists root's children for extras and reads the marker. The
#     server (Java) is the bottleneck of both, so on a loaded machine the
#     figures move by +-30 % from run to run (hence 20 samples each);
#  2. detection latency, znode change -> drift log line, with watches
#     (poll_interval 60 s: only the watch can be that fast) and with
#     watch: false (poll_interval 2 s): median of several changes made at
#     random moments.
# Prints figures; asserts nothing.   N=10000; VTW_BUILD=build directory.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-10000}
CHANGES=${CHANGES:-9}
ZP= WP=
. scripts/bench_lib.sh zk "WP ZP"
bench_build
ZPORT=$(port); APORT=$(port)
HOSTS="127.0.0.1:$ZPORT"

# ZooKeeper, as harness.ZooKeeper starts it
mkdir -p "$D/zk/conf" "$D/zk/data"
cat > "$D/zk/conf/zoo.cfg" <<CFG
tickTime=2000
dataDir=$D/zk/data
clientPort=$ZPORT
clientPortAddress=127.0.0.1
maxClientCnxns=100
admin.enableServer=false
4lw.commands.whitelist=*
CFG
java -Xmx256m -cp "$D/zk/conf:/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar" \
	org.apache.zookeeper.server.ZooKeeperServerMain "$D/zk/conf/zoo.cfg" \
	>"$D/zk/zookeeper.log" 2>&1 </dev/null & ZP=$!
four() { $PY -c 'import socket,sys
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1); s.sendall(sys.argv[2].encode())
    print(s.recv(4096).decode())
except OSError: pass' "$ZPORT" "$1"; }
for _ in $(seq 300); do four srvr | grep -q "Mode: " && break; sleep 0.1; done
four srvr | grep -q "Mode: " || { echo "bench_zookeeper: zookeeper did not start" >&2; tail "$D/zk/zookeeper.log" >&2; exit 1; }

# Git file with N keys; the znodes written as the orchestrator does
# (slash_dot: {root}/key flat; {root}/__vartrack__ the labels JSON)
mkdir -p "$D/repo" "$D/small"
$PY - "$D" "$N" "$HOSTS" <<'PYEOF'
import json, sys
from kazoo.client import KazooClient
d, n, hosts = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(d + "/repo/big.yaml", "w") as f:
    for i in range(n):
        f.write("key_%06d: value-%06d-abcdefghij\n" % (i, i))
with open(d + "/small/app.yaml", "w") as f:
    f.write("max_connections: 50\nlog_level: info\n")
kz = KazooClient(hosts=hosts, timeout=10); kz.start()
meta = json.dumps({"app.kubernetes.io/managed-by": "vartrack"}, sort_keys=True).encode()
for root, kv in (("/b/main", {"key_%06d" % i: "value-%06d-abcdefghij" % i for i in range(n)}),
                 ("/b/lat", {"max_connections": "50", "log_level": "info"}),
                 ("/b/timer", {"max_connections": "50", "log_level": "info"})):
    kz.ensure_path(root)
    kz.create(root + "/__vartrack__", meta)
    fs = [kz.create_async(root + "/" + k, v.encode()) for k, v in kv.items()]
    for f in fs:
        f.get()
assert kz.get_children("/b/main").__len__() == n + 1
kz.stop()
PYEOF
for r in repo small; do
	git -C "$D/$r" init -q -b main
	git -C "$D/$r" -c user.email=b@x -c user.name=b add -A
	git -C "$D/$r" -c user.email=b@x -c user.name=b commit -q -m bench
done

# raw read with the same C client: every get issued at once, then wait
cat > "$D/raw.c" <<'CEOF'
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zookeeper/zookeeper.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int connected, done, bad;

static double
ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void
w(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
	if (type == ZOO_SESSION_EVENT && state == ZOO_CONNECTED_STATE) {
		pthread_mutex_lock(&mu);
		connected = 1;
		pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&mu);
	}
}

static void
got(int rc, const char *v, int len, const struct Stat *st, const void *data)
{
	char *copy = NULL;

	if (rc == ZOK && len > 0) {	/* keep the value, as any reader must */
		copy = malloc((size_t)len);
		memcpy(copy, v, (size_t)len);
	}
	pthread_mutex_lock(&mu);
	bad += rc != ZOK;
	done++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	free(copy);
}

int
main(int argc, char **argv)
{
	int n = atoi(argv[3]), r, i;
	char **paths = calloc(n, sizeof(*paths));
	double best = 1e12, t0, t;
	zhandle_t *zh;

	zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
	for (i = 0; i < n; i++) {
		paths[i] = malloc(strlen(argv[2]) + 32);
		sprintf(paths[i], "%s/key_%06d", argv[2], i);
	}
	zh = zookeeper_init(argv[1], w, 10000, NULL, NULL, 0);
	pthread_mutex_lock(&mu);
	while (!connected)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	for (r = 0; r < 20; r++) {
		done = bad = 0;
		t0 = ms();
		for (i = 0; i < n; i++)
			zoo_aget(zh, paths[i], 0, got, NULL);
		pthread_mutex_lock(&mu);
		while (done < n)
			pthread_cond_wait(&cv, &mu);
		pthread_mutex_unlock(&mu);
		t = ms() - t0;
		if (bad) {
			fprintf(stderr, "raw: %d of %d gets failed\n", bad, n);
			return 1;
		}
		if (t < best)
			best = t;
	}
	printf("%.0f\n", best * 1000);
	zookeeper_close(zh);
	return 0;
}
CEOF
cc -O2 -DTHREADED -o "$D/raw" "$D/raw.c" -lzookeeper_mt -lpthread

conf() { # poll_interval rules...
	cat <<YAML
watcher: {poll_interval: $1, admin_addr: "127.0.0.1:$APORT", cache_dir: $D/cache}
platforms: [{name: local, type: local}]
datasources: [{name: zk, type: zookeeper, hosts: ["$HOSTS"]}]
rules:
YAML
	shift
	for r in "$@"; do echo "$r"; done
}
start_watcher() { # config-file log-file
	"$B/bin/vartrack-watcher" -f "$1" 2>"$2" & WP=$!
	for _ in $(seq 100); do curl -sf "http://127.0.0.1:$APORT/health/liveness" >/dev/null && break; sleep 0.1; done
}
stop_watcher() { kill "$WP"; wait "$WP" || true; WP=; }
oks() { grep -c '"result":"ok"' "$1" || true; }
wait_oks() { # log count
	for _ in $(seq 900); do [ "$(oks "$1")" -ge "$2" ] && return 0; sleep 0.1; done
	echo "bench_zookeeper: no OK poll in $1" >&2; tail -5 "$1" >&2; exit 1
}
durs() { grep '"result":"ok"' "$1" | sed 's/.*"duration_us":\([0-9]*\).*/\1/'; }
reads() { grep '"result":"ok"' "$1" | sed 's/.*"read_us":\([0-9]*\).*/\1/'; }

# 1. poll cycle, cached baseline: best of polls 2..21; the raw read runs
# before (it also warms the server's JIT up) and after it, best of both
RAW1=$("$D/raw" "$HOSTS" /b/main "$N")
conf 1s "  - {name: big, platform: local, datasource: zk, repo_url: $D/repo, file_name: big.yaml,
     tenant_id: b, env: main, key_format: slash_dot, watch: false}" > "$D/big.yaml"
start_watcher "$D/big.yaml" "$D/big.log"; wait_oks "$D/big.log" 21
CYCLE_US=$(durs "$D/big.log" | sed -n 2,21p | sort -n | head -1)
READ_US=$(reads "$D/big.log" | sed -n 2,21p | sort -n | head -1)
stop_watcher
RAW2=$("$D/raw" "$HOSTS" /b/main "$N")
RAW_US=$(( RAW1 < RAW2 ? RAW1 : RAW2 ))
ms() { echo "scale=1; $1/1000" | bc; }
printf '%-52s %10s %12s %7s\n' "$N znodes (slash_dot)" "watcher" "raw C client" "ratio"
printf '%-52s %8sms %10sms %7s\n' "poll cycle (pipelined gets + root listing, cached baseline)" \
	"$(ms "$CYCLE_US")" "$(ms "$RAW_US")" "$(echo "scale=2; $CYCLE_US/$RAW_US" | bc)"
printf '%-52s %8sms\n' "  of which the worker's read (read_us)" "$(ms "$READ_US")"

# 2. detection latency: watches (timer 60 s) vs watch: false (timer 2 s)
conf 60s "  - {name: lat, platform: local, datasource: zk, repo_url: $D/small, file_name: app.yaml,
     tenant_id: b, env: lat, key_format: slash_dot}" \
	"  - {name: timer, platform: local, datasource: zk, repo_url: $D/small, file_name: app.yaml,
     tenant_id: b, env: timer, key_format: slash_dot, watch: false, poll_interval: 2s}" > "$D/lat.yaml"
start_watcher "$D/lat.yaml" "$D/lat.log"; wait_oks "$D/lat.log" 2
$PY - "$D/lat.log" "$HOSTS" "$CHANGES" <<'PYEOF'
import datetime, json, random, sys, time
from kazoo.client import KazooClient
log, hosts, changes = sys.argv[1], sys.argv[2], int(sys.argv[3])
kz = KazooClient(hosts=hosts, timeout=10); kz.start()
def ts(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()
def drift_with(rule, value, timeout):
    end = time.time() + timeout
    while time.time() < end:
        with open(log) as f:
            for line in f:
                if '"result":"drift"' not in line or ('"rule":"%s"' % rule) not in line:
                    continue
                d = json.loads(line)
                if any(k.get("actual") == value for k in d["keys"]):
                    return ts(d["ts"])
        time.sleep(0.01)
    return None
res = {}
for rule in ("lat", "timer"):
    lat = []
    for i in range(changes):
        time.sleep(random.uniform(0.2, 2.2))   # random phase against the timer
        value = "%s-%d" % (rule, i)
        t0 = time.time()
        kz.set("/b/%s/max_connections" % rule, value.encode())
        t1 = drift_with(rule, value, 10)
        if t1 is not None:
            lat.append((t1 - t0) * 1000)
    lat.sort()
    res[rule] = lat
for rule, what in (("lat", "with watches (poll_interval 60 s)"),
                   ("timer", "watch: false, poll_interval 2 s")):
    l = res[rule]
    if not l:
        print("detection latency %-36s: no drift line seen" % what)
        continue
    print("detection latency %-36s: median %7.1f ms (min %.1f, max %.1f, n=%d)" % (
        what, l[len(l) // 2], l[0], l[-1], len(l)))
print("(log timestamps have 1 ms resolution)")
kz.stop()
PYEOF
stop_watcher
