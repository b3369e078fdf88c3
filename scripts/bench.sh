#!/bin/bash
# Benchmark: one full poll cycle (request -> worker read -> diff done) for
# 100 000 keys in one Redis hash and 100 000 STRING keys, next to the same
# read done by a plain hiredis program (the reference: pipelined batches of
# 1000, as the worker) and by redis-cli, and the RSS
# of supervisor + workers when idle and after a 100 000-key poll; then
# scripts/bench_{mongo,zookeeper,linux}.sh (10 000 keys each; BENCH_OTHERS=""
# skips them).
# Prints figures; asserts nothing. Targets: ratio <= 1.5, idle RSS <= 20 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-100000}
scripts/install-deps.sh >/dev/null
B=${VTW_BUILD:-build}
[ -d "$B" ] || cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$B" -j2 >/dev/null

D=$(mktemp -d /tmp/vtw-bench.XXXXXX); chmod 755 "$D"
RP= WP=
cleanup() {
	[ -n "$WP" ] && kill "$WP" 2>/dev/null && wait "$WP" 2>/dev/null || true
	[ -n "$RP" ] && kill "$RP" 2>/dev/null && wait "$RP" 2>/dev/null || true
	[ -n "${KEEP:-}" ] || rm -rf "$D"
}
trap cleanup EXIT
PY=/usr/bin/python3
port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
RPORT=$(port); APORT=$(port)
redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$D" --save '' --appendonly no >/dev/null & RP=$!
for _ in $(seq 100); do redis-cli -p "$RPORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.05; done

# Git file with N keys; the same values written as the orchestrator does
mkdir -p "$D/repo"
$PY - "$D" "$N" <<'PYEOF'
import sys
d, n = sys.argv[1], int(sys.argv[2])
with open(d + "/repo/small.yaml", "w") as f:
    f.write("max_connections: 50\nlog_level: info\n")
with open(d + "/repo/big.yaml", "w") as f:
    for i in range(n):
        f.write("key_%06d: value-%06d-abcdefghij\n" % (i, i))
def resp(args):
    out = "*%d\r\n" % len(args)
    for a in args:
        out += "$%d\r\n%s\r\n" % (len(a.encode()), a)
    return out
with open(d + "/load.resp", "w") as f:
    for i in range(0, n, 1000):
        args = ["HSET", "b:redis:main:vartrack"]
        for j in range(i, min(n, i + 1000)):
            args += ["key_%06d" % j, "value-%06d-abcdefghij" % j]
        f.write(resp(args))
        args = ["MSET"]
        for j in range(i, min(n, i + 1000)):
            args += ["s:kv:key_%06d" % j, "value-%06d-abcdefghij" % j]
        f.write(resp(args))
with open(d + "/hmget.txt", "w") as f:
    for i in range(0, n, 1000):
        f.write("HMGET b:redis:main:vartrack " + " ".join("key_%06d" % j for j in range(i, min(n, i + 1000))) + "\n")
with open(d + "/mget.txt", "w") as f:
    for i in range(0, n, 1000):
        f.write("MGET " + " ".join("s:kv:key_%06d" % j for j in range(i, min(n, i + 1000))) + "\n")
PYEOF
redis-cli -p "$RPORT" --pipe < "$D/load.resp" >/dev/null
git -C "$D/repo" init -q -b main
git -C "$D/repo" -c user.email=b@x -c user.name=b add -A
git -C "$D/repo" -c user.email=b@x -c user.name=b commit -q -m big

rss_total() { # supervisor + its children, in kB
	local t=0 p
	for p in $WP $(pgrep -P "$WP"); do
		t=$((t + $(awk '/VmRSS/{print $2}' /proc/$p/status 2>/dev/null || echo 0)))
	done
	echo $t
}
conf() { # name structure template file [env]
	cat <<YAML
watcher: {poll_interval: 2s, admin_addr: "127.0.0.1:$APORT", cache_dir: $D/cache}
platforms: [{name: local, type: local}]
datasources: [{name: redis, type: redis, hosts: ["127.0.0.1:$RPORT"]}]
rules:
  - {name: $1, platform: local, datasource: redis, repo_url: $D/repo, file_name: $4,
     tenant_id: b, env: ${5:-main}, redis_data_structure: $2 ${3:+, destination_template: "$3"}}
YAML
}
start_watcher() { # config-file log-file
	"$B"/bin/vartrack-watcher -f "$1" 2>"$2" & WP=$!
	for _ in $(seq 100); do curl -sf "http://127.0.0.1:$APORT/health/readiness" >/dev/null && break; sleep 0.1; done
}
stop_watcher() { kill "$WP"; wait "$WP" || true; WP=; }
oks() { grep -c '"result":"ok"' "$1" || true; }
wait_oks() { # log count
	for _ in $(seq 600); do [ "$(oks "$1")" -ge "$2" ] && return 0; sleep 0.1; done
	echo "bench: no OK poll in $1" >&2; tail -5 "$1" >&2; exit 1
}
durs() { grep '"result":"ok"' "$1" | sed 's/.*"duration_us":\([0-9]*\).*/\1/'; }

# idle: supervisor + git + redis workers with one small rule
# a repository of its own: the big one's pack would be mapped by libgit2
mkdir -p "$D/small-repo"; cp "$D/repo/small.yaml" "$D/small-repo/"
git -C "$D/small-repo" init -q -b main
git -C "$D/small-repo" -c user.email=b@x -c user.name=b add -A
git -C "$D/small-repo" -c user.email=b@x -c user.name=b commit -q -m small
conf small HASH "" small.yaml idle | sed "s|$D/repo|$D/small-repo|" > "$D/idle.yaml"
redis-cli -p "$RPORT" HSET b:redis:idle:vartrack max_connections 50 log_level info >/dev/null
start_watcher "$D/idle.yaml" "$D/idle.log"; wait_oks "$D/idle.log" 1; sleep 0.3
IDLE=$(rss_total)
IDLE_DETAIL=$(for p in $WP $(pgrep -P "$WP"); do printf '%s=%sk ' "$(cat /proc/$p/cmdline | tr '\0' ' ' | cut -d' ' -f1 | xargs basename)" "$(awk '/VmRSS/{print $2}' /proc/$p/status)"; done)
stop_watcher

# steady-state cycles (baseline cached by commit): the best of polls 2..6
conf hash HASH "" big.yaml > "$D/hash.yaml"
start_watcher "$D/hash.yaml" "$D/hash.log"; wait_oks "$D/hash.log" 6
HASH_FIRST=$(durs "$D/hash.log" | sed -n 1p)
HASH_US=$(durs "$D/hash.log" | sed -n 2,6p | sort -n | head -1)
AFTER_HASH=$(rss_total); stop_watcher
conf string STRING "s:kv" big.yaml > "$D/string.yaml"
start_watcher "$D/string.yaml" "$D/string.log"; wait_oks "$D/string.log" 6
STR_US=$(durs "$D/string.log" | sed -n 2,6p | sort -n | head -1)
AFTER_STR=$(rss_total); stop_watcher

best() { # file -> best of 5 wall times in us of redis-cli reading it
	local b= i t0 t1 d
	for i in 1 2 3 4 5; do
		t0=$(date +%s%N); redis-cli -p "$RPORT" < "$1" >/dev/null; t1=$(date +%s%N)
		d=$(( (t1 - t0) / 1000 )); [ -z "$b" ] || [ "$d" -lt "$b" ] && b=$d
	done
	echo "$b"
}
RAW_H=$(best "$D/hmget.txt"); RAW_S=$(best "$D/mget.txt")

# the reference: a plain hiredis program doing what the worker's read does
# (every batch of 1000 HMGET / MGET appended, then every reply read, each
# value touched), best of 7; redis-cli (formatting its output) is slower
cat > "$D/raw.c" <<'CEOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <hiredis/hiredis.h>

#define BATCH	1000	/* as the worker: REDIS_BATCH_KEYS */

static double
us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

int
main(int argc, char **argv)
{
	int port = atoi(argv[1]), n = atoi(argv[2]), hash = argv[3][0] == 'h';
	const char **av = calloc(BATCH + 2, sizeof(*av));
	size_t *al = calloc(BATCH + 2, sizeof(*al)), bytes = 0;
	char (*keys)[32] = calloc((size_t)n, 32);
	double best = -1, t0;
	int i, j, b, nb = (n + BATCH - 1) / BATCH, round;
	redisContext *c = redisConnect("127.0.0.1", port);
	redisReply *r;

	if (c == NULL || c->err || av == NULL || al == NULL || keys == NULL)
		return 1;
	for (i = 0; i < n; i++)
		snprintf(keys[i], 32, hash ? "key_%06d" : "s:kv:key_%06d", i);
	for (round = 0; round < 7; round++) {
		t0 = us();
		for (b = 0; b < nb; b++) {
			int k = 0, m = n - b * BATCH < BATCH ? n - b * BATCH : BATCH;

			av[k] = hash ? "HMGET" : "MGET";
			al[k] = strlen(av[k]);
			k++;
			if (hash) {
				av[k] = "b:redis:main:vartrack";
				al[k] = strlen(av[k]);
				k++;
			}
			for (j = 0; j < m; j++, k++) {
				av[k] = keys[b * BATCH + j];
				al[k] = strlen(av[k]);
			}
			redisAppendCommandArgv(c, k, av, al);
		}
		for (b = 0; b < nb; b++) {
			if (redisGetReply(c, (void **)&r) != REDIS_OK)
				return 1;
			for (j = 0; j < (int)r->elements; j++)
				bytes += r->element[j]->len;
			freeReplyObject(r);
		}
		t0 = us() - t0;
		if (best < 0 || t0 < best)
			best = t0;
	}
	printf("%.0f\n", best);
	return bytes == 0;
}
CEOF
cc -O2 -o "$D/raw" "$D/raw.c" $(pkg-config --cflags --libs hiredis)
REF_H=$("$D/raw" "$RPORT" "$N" hash); REF_S=$("$D/raw" "$RPORT" "$N" string)
ms() { echo "scale=1; $1/1000" | bc; }
printf '%-46s %10s %12s %7s %12s %7s\n' "$N keys" "watcher" "hiredis" "ratio" "redis-cli" "ratio"
printf '%-46s %8sms %10sms %7s %10sms %7s\n' "HASH poll cycle (HMGET, cached baseline)" "$(ms "$HASH_US")" "$(ms "$REF_H")" "$(echo "scale=2; $HASH_US/$REF_H" | bc)" "$(ms "$RAW_H")" "$(echo "scale=2; $HASH_US/$RAW_H" | bc)"
printf '%-46s %8sms %10sms %7s %10sms %7s\n' "STRING poll cycle (MGET, cached baseline)" "$(ms "$STR_US")" "$(ms "$REF_S")" "$(echo "scale=2; $STR_US/$REF_S" | bc)" "$(ms "$RAW_S")" "$(echo "scale=2; $STR_US/$RAW_S" | bc)"
printf '%-46s %8sms\n' "first HASH cycle (fetch + parse the YAML file)" "$(ms "$HASH_FIRST")"
printf 'RSS of supervisor + workers: idle %s MB; after %s-key HASH polls %s MB; after STRING polls %s MB\n' \
	"$(echo "scale=1; $IDLE/1024" | bc)" "$N" "$(echo "scale=1; $AFTER_HASH/1024" | bc)" "$(echo "scale=1; $AFTER_STR/1024" | bc)"
echo "idle RSS by process: $IDLE_DETAIL"

# --- self-heal: drift-detecting poll finished -> SyncDatasource at the peer
GPORT=$(port)
cat > "$D/apply.sh" <<SH
#!/bin/sh
redis-cli -p $RPORT HSET b:redis:heal:vartrack max_connections 50 log_level info >/dev/null
SH
chmod +x "$D/apply.sh"; "$D/apply.sh"
PEER=tests/integration/orchestrator_peer.py
$PY $PEER --port "$GPORT" --mode ok --log "$D/peer.log" --on-sync "$D/apply.sh" > "$D/peer.out" 2>&1 & PP=$!
for _ in $(seq 100); do grep -q READY "$D/peer.out" && break; sleep 0.05; done
conf heal HASH "" small.yaml heal | sed "s|$D/repo|$D/small-repo|; s|cache_dir: $D/cache}|cache_dir: $D/cache, orchestrator: {addr: \"127.0.0.1:$GPORT\"}}|; s|redis_data_structure: HASH|redis_data_structure: HASH, self_heal: true, poll_interval: 300ms|" > "$D/heal.yaml"
start_watcher "$D/heal.yaml" "$D/heal.log"; wait_oks "$D/heal.log" 1
for i in $(seq 20); do
	n=$(grep -c heal_verified "$D/heal.log" || true)
	redis-cli -p "$RPORT" HSET b:redis:heal:vartrack max_connections 5 >/dev/null
	for _ in $(seq 100); do [ "$(grep -c heal_verified "$D/heal.log" || true)" -gt "$n" ] && break; sleep 0.05; done
done
stop_watcher; kill "$PP"; wait "$PP" 2>/dev/null || true
LAT=$($PY - "$D/heal.log" "$D/peer.log" <<'PYEOF'
import json, sys, datetime
drifts = [json.loads(l) for l in open(sys.argv[1]) if '"result":"drift"' in l]
calls = [json.loads(l)["t"] for l in open(sys.argv[2]) if "SyncDatasource" in l]
def ts(s): return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()
lat = sorted((c - ts(d["ts"])) * 1000 for d, c in zip(drifts, calls))
print("%.1f %.1f %.1f %d" % (lat[len(lat) // 2], lat[0], lat[-1], len(lat)))
PYEOF
)
set -- $LAT
printf 'drift-detecting poll finished -> SyncDatasource at the peer: median %s ms (min %s, max %s, n=%s; log timestamps have 1 ms resolution)\n' "$1" "$2" "$3" "$4"

# supervisor RSS while a heal call hangs in flight
$PY $PEER --port "$GPORT" --mode hang --log "$D/peer2.log" > "$D/peer2.out" 2>&1 & PP=$!
for _ in $(seq 100); do grep -q READY "$D/peer2.out" && break; sleep 0.05; done
start_watcher "$D/heal.yaml" "$D/heal2.log"; wait_oks "$D/heal2.log" 1
redis-cli -p "$RPORT" HSET b:redis:heal:vartrack max_connections 5 >/dev/null
for _ in $(seq 100); do grep -q '"result":"heal_call"' "$D/heal2.log" && break; sleep 0.05; done
sleep 0.5
printf 'supervisor RSS with a heal call in flight: %s kB (supervisor + workers: %s kB)\n' \
	"$(awk '/VmRSS/{print $2}' /proc/$WP/status)" "$(rss_total)"
stop_watcher; kill "$PP"; wait "$PP" 2>/dev/null || true

# --- the other datasources: 10 000 keys each, poll cycle vs native client
for b in ${BENCH_OTHERS-mongo zookeeper linux}; do
	if [ -f "scripts/bench_$b.sh" ]; then
		echo "--- $b"
		bash "scripts/bench_$b.sh" || echo "bench_$b.sh failed"
	fi
done
