#!/bin/bash
# Soak test of the supervisor's memory (issue 13 item 11): one rule reading
# N keys (default 10 000) from one Redis hash against a Git file with the
# same N keys, polled every second; every STEP seconds prints the
# supervisor's VmRSS (right after a poll ends; with the part of it in the
# main malloc heap and in other anonymous mappings), its open descriptors, each worker's VmRSS and the
# number of OK polls so far, for DURATION seconds.
#   scripts/soak_rss.sh [DURATION_S [STEP_S]]      (defaults 300 30)
# Environment: VTW_BIN=directory with the built binaries (default
# build/bin); N=keys; INTERVAL=poll_interval (default 1s); WRAP="heaptrack
# -o FILE" or "valgrind --tool=massif ..." runs the supervisor under that
# tool; SCRAPE=S fetches /metrics every S seconds (as Prometheus would);
# KEEP=1 keeps the temporary directory (log in $D/watcher.log).
# redis-server is started as tests/integration/harness.py does (free
# loopback port, no persistence); everything is stopped by PID at the end.
# Prints figures; asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-300}
STEP=${2:-30}
N=${N:-10000}
INTERVAL=${INTERVAL:-1s}
BIN=${VTW_BIN:-build/bin}
PY=/usr/bin/python3
RP= WP= SP= SUP=
D=$(mktemp -d /tmp/vtw-soak.XXXXXX); chmod 755 "$D"
cleanup() {
	if [ -n "$SP" ]; then kill "$SP" 2>/dev/null && wait "$SP" 2>/dev/null || true; fi
	# under WRAP the supervisor is the tool's child: stop it first
	if [ -n "$SUP" ] && [ "$SUP" != "$WP" ] && kill "$SUP" 2>/dev/null; then
		for _ in $(seq 100); do kill -0 "$SUP" 2>/dev/null || break; sleep 0.1; done
	fi
	if [ -n "$WP" ]; then kill "$WP" 2>/dev/null && wait "$WP" 2>/dev/null || true; fi
	if [ -n "$RP" ]; then kill "$RP" 2>/dev/null && wait "$RP" 2>/dev/null || true; fi
	[ -n "${KEEP:-}" ] && echo "soak: kept $D" >&2 || rm -rf "$D"
}
trap cleanup EXIT
port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
RPORT=$(port); APORT=$(port)
redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$D" --save '' \
    --appendonly no >"$D/redis.log" 2>&1 & RP=$!
for _ in $(seq 200); do redis-cli -p "$RPORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.05; done

# the Git file and the same N keys in the hash the rule reads
mkdir -p "$D/repo"
$PY - "$D" "$N" <<'PYEOF'
import sys
d, n = sys.argv[1], int(sys.argv[2])
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
        args = ["HSET", "soak:redis:main:vartrack"]
        for j in range(i, min(n, i + 1000)):
            args += ["key_%06d" % j, "value-%06d-abcdefghij" % j]
        f.write(resp(args))
PYEOF
redis-cli -p "$RPORT" --pipe < "$D/load.resp" >/dev/null
git -C "$D/repo" init -q -b main
git -C "$D/repo" -c user.email=s@x -c user.name=s add -A
git -C "$D/repo" -c user.email=s@x -c user.name=s commit -q -m soak

cat > "$D/soak.yaml" <<YAML
watcher: {poll_interval: $INTERVAL, admin_addr: "127.0.0.1:$APORT", cache_dir: $D/cache}
platforms: [{name: local, type: local}]
datasources: [{name: redis, type: redis, hosts: ["127.0.0.1:$RPORT"]}]
rules:
  - {name: soak, platform: local, datasource: redis, repo_url: $D/repo,
     file_name: big.yaml, tenant_id: soak, env: main, redis_data_structure: HASH}
YAML
# shellcheck disable=SC2086
${WRAP:-} "$BIN/vartrack-watcher" -f "$D/soak.yaml" 2>"$D/watcher.log" & WP=$!
for _ in $(seq 600); do
	curl -sf "http://127.0.0.1:$APORT/health/readiness" >/dev/null && break
	sleep 0.1
done

# the supervisor's pid: the watcher itself, or the tool's child running it
SUP=$WP
if [ -n "${WRAP:-}" ]; then
	for _ in $(seq 100); do
		SUP=$(pgrep -n -f "^[^ ]*vartrack-watcher -f $D/soak.yaml" || true)
		[ -n "$SUP" ] && break; sleep 0.1
	done
fi
rss() { awk '/^VmRSS/{print $2}' "/proc/$1/status" 2>/dev/null || echo -; }
kid() { # worker kind -> pid of the supervisor's child running it
	local p
	for p in $(pgrep -P "$SUP"); do
		tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q -- "$1" && { echo "$p"; return; }
	done
	echo 0
}
smaps() { # pid -> "HEAP ANON": kB resident in [heap] and in other anonymous
	# mappings (the malloc arenas of nng's threads, big mmap'd blocks)
	awk '/^[0-9a-f]+-[0-9a-f]+ /{ h = ($6 == "[heap]"); a = (NF == 5) }
	    /^Rss:/{ if (h) H += $2; else if (a) A += $2 }
	    END { printf "%d %d", H, A }' "/proc/$1/smaps" 2>/dev/null || echo "- -"
}
oks() { grep -c '"result":"ok"' "$D/watcher.log" || true; }
printf '# %s keys, poll_interval %s, supervisor pid %s\n' "$N" "$INTERVAL" "$SUP"
printf '%8s %12s %9s %9s %8s %12s %14s %8s\n' t_s sup_rss_kB heap_kB anon_kB \
    sup_fds git_rss_kB redis_rss_kB ok_polls
if [ -n "${SCRAPE:-}" ]; then
	while :; do curl -sf -o /dev/null "http://127.0.0.1:$APORT/metrics"; sleep "$SCRAPE"; done &
	SP=$!
fi
T0=$(date +%s)
while :; do
	kill -0 "$SUP" 2>/dev/null || { echo "soak: supervisor exited" >&2; tail -5 "$D/watcher.log" >&2; exit 1; }
	# sampled just after a poll ends (between polls), not in the middle
	# of one, so that figures compare; at most 10 s of waiting
	n0=$(oks)
	for _ in $(seq 1000); do [ "$(oks)" -gt "$n0" ] && break; sleep 0.01; done
	t=$(( $(date +%s) - T0 ))
	# shellcheck disable=SC2046
	printf '%8d %12s %9s %9s %8s %12s %14s %8s\n' "$t" "$(rss "$SUP")" \
	    $(smaps "$SUP") "$(ls "/proc/$SUP/fd" | wc -l)" "$(rss "$(kid git)")" \
	    "$(rss "$(kid redis)")" "$(oks)"
	[ "$t" -ge "$DURATION" ] && break
	sleep $(( STEP - ( $(date +%s) - T0 ) % STEP ))
done
grep -v '"result":"ok"' "$D/watcher.log" | grep -c '"level":"warn\|"level":"error' \
    | sed 's/^/# warn+error lines: /' || true
