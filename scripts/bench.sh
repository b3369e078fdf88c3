#!/bin/bash
# Benchmark: one full poll cycle (request -> worker read -> diff done) for
# 100 000 keys in one Redis hash and 100 000 STRING keys, next to the same
# read done directly with redis-cli (pipelined batches of 1000), and the RSS
# of supervisor + workers when idle and after a 100 000-key poll.
# Prints figures; asserts nothing. Targets: ratio <= 1.5, idle RSS <= 20 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-100000}
scripts/install-deps.sh >/dev/null
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2 >/dev/null

D=$(mktemp -d /tmp/vtw-bench.XXXXXX); chmod 755 "$D"
RP= WP=
cleanup() {
	[ -n "$WP" ] && kill "$WP" 2>/dev/null && wait "$WP" 2>/dev/null || true
	[ -n "$RP" ] && kill "$RP" 2>/dev/null && wait "$RP" 2>/dev/null || true
	rm -rf "$D"
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

cat > "$D/w.yaml" <<YAML
watcher:
  poll_interval: 4s
  admin_addr: "127.0.0.1:$APORT"
  cache_dir: $D/cache
platforms: [{name: local, type: local}]
datasources: [{name: redis, type: redis, hosts: ["127.0.0.1:$RPORT"]}]
rules:
  - {name: hash, platform: local, datasource: redis, repo_url: $D/repo, file_name: big.yaml,
     tenant_id: b, env: main, redis_data_structure: HASH}
  - {name: string, platform: local, datasource: redis, repo_url: $D/repo, file_name: big.yaml,
     tenant_id: b, env: main, redis_data_structure: STRING, destination_template: "s:kv"}
YAML
rss_total() { # supervisor + its children, in kB
	local t=0 p
	for p in $WP $(pgrep -P "$WP"); do
		t=$((t + $(awk '/VmRSS/{print $2}' /proc/$p/status 2>/dev/null || echo 0)))
	done
	echo $t
}
# idle: started, workers up, no rule yet polled a big baseline -> use a copy without rules
cat > "$D/idle.yaml" <<YAML
watcher: {poll_interval: 1h, admin_addr: "127.0.0.1:$APORT", cache_dir: $D/cache}
platforms: [{name: local, type: local}]
datasources: [{name: redis, type: redis, hosts: ["127.0.0.1:$RPORT"]}]
rules:
  - {name: small, platform: local, datasource: redis, repo_url: $D/repo, file_name: small.yaml,
     tenant_id: b, env: main, redis_data_structure: HASH, poll_interval: 1h}
YAML
build/bin/vartrack-watcher -f "$D/idle.yaml" 2>"$D/idle.log" & WP=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$APORT/health/readiness" >/dev/null && break; sleep 0.1; done
sleep 0.5
IDLE_BEFORE=$(rss_total)
kill "$WP"; wait "$WP" || true; WP=

build/bin/vartrack-watcher -f "$D/w.yaml" 2>"$D/w.log" & WP=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$APORT/health/readiness" >/dev/null && break; sleep 0.1; done
IDLE=$(rss_total)
# wait for the second poll of each rule (baseline cached: a steady-state cycle)
for _ in $(seq 300); do
	[ "$(grep -c '"rule":"hash".*"result":"ok"' "$D/w.log")" -ge 2 ] &&
	[ "$(grep -c '"rule":"string".*"result":"ok"' "$D/w.log")" -ge 2 ] && break
	sleep 0.1
done
AFTER=$(rss_total)
dur() { grep "\"rule\":\"$1\".*\"result\":\"ok\"" "$D/w.log" | sed -n 2p | sed 's/.*"duration_us":\([0-9]*\).*/\1/'; }
first() { grep "\"rule\":\"$1\".*\"result\":\"ok\"" "$D/w.log" | sed -n 1p | sed 's/.*"duration_us":\([0-9]*\).*/\1/'; }
HASH_US=$(dur hash); STR_US=$(dur string)
t0=$(date +%s%N); redis-cli -p "$RPORT" < "$D/hmget.txt" >/dev/null; t1=$(date +%s%N)
redis-cli -p "$RPORT" < "$D/mget.txt" >/dev/null; t2=$(date +%s%N)
RAW_H=$(( (t1 - t0) / 1000 )); RAW_S=$(( (t2 - t1) / 1000 ))
printf '%-44s %10s %12s %7s\n' "100000 keys" "watcher" "redis-cli" "ratio"
printf '%-44s %8.1fms %10.1fms %7.2f\n' "HASH poll cycle (HMGET, cached baseline)" \
	"$(echo "$HASH_US/1000" | bc -l)" "$(echo "$RAW_H/1000" | bc -l)" "$(echo "$HASH_US/$RAW_H" | bc -l)"
printf '%-44s %8.1fms %10.1fms %7.2f\n' "STRING poll cycle (MGET, cached baseline)" \
	"$(echo "$STR_US/1000" | bc -l)" "$(echo "$RAW_S/1000" | bc -l)" "$(echo "$STR_US/$RAW_S" | bc -l)"
printf '%-44s %8.1fms\n' "first HASH cycle (fetch + parse 100k-key YAML)" "$(echo "$(first hash)/1000" | bc -l)"
printf 'RSS supervisor+workers: idle (1 small rule) %.1f MB; idle before big polls %.1f MB; after 100k-key polls %.1f MB\n' \
	"$(echo "$IDLE_BEFORE/1024" | bc -l)" "$(echo "$IDLE/1024" | bc -l)" "$(echo "$AFTER/1024" | bc -l)"
