#!/bin/bash
# Local demo of vartrack-watcher: drift in Redis detected against Git, and
# healed through the orchestrator.
#  - installs dependencies and builds
#  - starts a throwaway redis-server on 127.0.0.1 and makes a local Git repo
#    holding config/app.yaml
#  - writes the values into Redis exactly as the varTrack orchestrator does
#    (HASH layout: HSET {tenant}:{datasource}:{env}:vartrack field value)
#  - starts a local orchestrator peer (a real gRPC server, python3-grpcio)
#    that implements vartrack.v1.Watcher/SyncDatasource and Ping and, on
#    SyncDatasource, re-applies the Git values to Redis as the orchestrator
#  - runs vartrack-watcher with a 2 s poll interval and self_heal: true,
#    shows an OK poll, sets max_connections to 5 in Redis, shows the drift
#    line, the heal call with the orchestrator's task id, the next OK poll
#    and the metrics
#  - stops everything it started, by PID
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

scripts/install-deps.sh >/dev/null
cmake -S . -B build >/dev/null
cmake --build build -j2 >/dev/null

D=$(mktemp -d /tmp/vtw-demo.XXXXXX)
chmod 755 "$D"		# the workers run as 'nobody' when started as root
REDIS_PID= WATCHER_PID= PEER_PID=
cleanup() {
	[ -n "$PEER_PID" ] && kill "$PEER_PID" 2>/dev/null && wait "$PEER_PID" 2>/dev/null || true
	[ -n "$WATCHER_PID" ] && kill "$WATCHER_PID" 2>/dev/null && wait "$WATCHER_PID" 2>/dev/null || true
	[ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null || true
	rm -rf "$D"
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
RPORT=$(free_port); APORT=$(free_port); GPORT=$(free_port)

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "starting redis-server on 127.0.0.1:$RPORT"
redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$D" --save '' --appendonly no >/dev/null &
REDIS_PID=$!
for _ in $(seq 100); do redis-cli -p "$RPORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.05; done
R() { redis-cli -p "$RPORT" "$@"; }

say "making a Git repository with config/app.yaml"
mkdir -p "$D/repo/config"
cat > "$D/repo/config/app.yaml" <<'YAML'
max_connections: 50
log_level: info
database:
  host: db.internal
  pool_size: 10
  password: s3cret-from-vault
YAML
git -C "$D/repo" init -q -b main
git -C "$D/repo" -c user.email=demo@example.com -c user.name=demo add -A
git -C "$D/repo" -c user.email=demo@example.com -c user.name=demo commit -q -m "app config"
cat "$D/repo/config/app.yaml"

# what the orchestrator writes for that file (interop §3.2, HASH layout)
cat > "$D/apply.sh" <<SH
#!/bin/sh
redis-cli -p $RPORT HSET acme:redis:production:vartrack max_connections 50 log_level info \\
	database.host db.internal database.pool_size 10 database.password s3cret-from-vault >/dev/null
redis-cli -p $RPORT HSET acme:redis:production:__vartrack__ app.kubernetes.io/managed-by vartrack >/dev/null
SH
chmod +x "$D/apply.sh"
say "writing the values into Redis as the orchestrator does (HASH acme:redis:production:vartrack)"
"$D/apply.sh"
R HGETALL acme:redis:production:vartrack | paste - -

say "starting the orchestrator peer (gRPC on 127.0.0.1:$GPORT; re-applies Git on SyncDatasource)"
/usr/bin/python3 tests/integration/orchestrator_peer.py --port "$GPORT" --mode ok \
	--log "$D/peer.log" --on-sync "$D/apply.sh" > "$D/peer.out" 2>&1 &
PEER_PID=$!
for _ in $(seq 100); do grep -q READY "$D/peer.out" 2>/dev/null && break; sleep 0.05; done

cat > "$D/watcher.yaml" <<YAML
watcher:
  poll_interval: 2s
  admin_addr: "127.0.0.1:$APORT"
  cache_dir: $D/cache
  orchestrator:
    addr: "127.0.0.1:$GPORT"
platforms:
  - name: local
    type: local
datasources:
  - name: redis
    type: redis
    hosts: ["127.0.0.1:$RPORT"]
rules:
  - name: app
    platform: local
    datasource: redis
    repo_url: $D/repo
    branch: main
    file_name: config/app.yaml
    tenant_id: acme
    env: production
    redis_data_structure: HASH
    self_heal: true
YAML

say "starting vartrack-watcher (poll every 2 s, self_heal: true)"
build/bin/vartrack-watcher -f "$D/watcher.yaml" 2> "$D/watcher.log" &
WATCHER_PID=$!
show_until() { # pattern timeout-seconds [from-line]
	local i
	for i in $(seq $(($2 * 10))); do
		if tail -n +"${3:-1}" "$D/watcher.log" | grep -q "$1"; then
			tail -n +"${3:-1}" "$D/watcher.log" | grep "$1" | head -1; return 0
		fi
		sleep 0.1
	done
	echo "demo: timed out waiting for: $1" >&2; cat "$D/watcher.log" >&2; return 1
}
show_until '"result":"ok"' 15

say "someone sets max_connections to 5 directly in Redis"
echo "redis-cli HSET acme:redis:production:vartrack max_connections 5"
MARK=$(($(wc -l < "$D/watcher.log") + 1))
T0=$(date +%s.%N)
R HSET acme:redis:production:vartrack max_connections 5 >/dev/null
show_until '"result":"drift"' 10 "$MARK"
say "self-heal: SyncDatasource to the orchestrator"
show_until '"result":"heal_call"' 10 "$MARK"
show_until '"result":"heal_accepted"' 10 "$MARK"
echo "the orchestrator peer received:"; grep SyncDatasource "$D/peer.log" | tail -1
say "next poll: back to Git's values"
show_until '"result":"heal_verified"' 10 "$MARK"
OKLINE=$(show_until '"result":"ok"' 10 "$MARK"); echo "$OKLINE"
ts() { date -d "$(echo "$1" | sed 's/.*"ts":"\([^"]*\)".*/\1/')" +%s.%N; }
DRIFTLINE=$(tail -n +"$MARK" "$D/watcher.log" | grep '"result":"drift"' | head -1)
printf 'drift detected %.1f s after the edit; Git values back and verified %.1f s after the edit (poll interval 2 s)\n' \
	"$(echo "$(ts "$DRIFTLINE") - $T0" | bc)" "$(echo "$(ts "$OKLINE") - $T0" | bc)"
R HGET acme:redis:production:vartrack max_connections

say "metrics (curl http://127.0.0.1:$APORT/metrics)"
curl -s "http://127.0.0.1:$APORT/metrics" | grep -E '^vartrack_watcher_(poll_total|drift_total|heal_total|heal_errors_total|drifted_keys|poll_errors_total)'

say "stopping (SIGTERM)"
kill "$WATCHER_PID"; wait "$WATCHER_PID" && echo "vartrack-watcher exited 0"
WATCHER_PID=
