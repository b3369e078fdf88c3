#!/bin/bash
# Local demo of vartrack-watcher: drift in Redis detected against Git.
#  - installs dependencies and builds
#  - starts a throwaway redis-server on 127.0.0.1 and makes a local Git repo
#    holding config/app.yaml
#  - writes the values into Redis exactly as the varTrack orchestrator does
#    (HASH layout: HSET {tenant}:{datasource}:{env}:vartrack field value)
#  - runs vartrack-watcher with a 2 s poll interval, shows an OK poll, sets
#    max_connections to 5 in Redis, shows the drift line and the metrics
#  - stops everything it started, by PID
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

scripts/install-deps.sh >/dev/null
cmake -S . -B build >/dev/null
cmake --build build -j2 >/dev/null

D=$(mktemp -d /tmp/vtw-demo.XXXXXX)
chmod 755 "$D"		# the workers run as 'nobody' when started as root
REDIS_PID= WATCHER_PID=
cleanup() {
	[ -n "$WATCHER_PID" ] && kill "$WATCHER_PID" 2>/dev/null && wait "$WATCHER_PID" 2>/dev/null || true
	[ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null || true
	rm -rf "$D"
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
RPORT=$(free_port); APORT=$(free_port)

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

say "writing the values into Redis as the orchestrator does (HASH acme:redis:production:vartrack)"
R HSET acme:redis:production:vartrack max_connections 50 log_level info \
	database.host db.internal database.pool_size 10 database.password s3cret-from-vault >/dev/null
R HSET acme:redis:production:__vartrack__ app.kubernetes.io/managed-by vartrack >/dev/null
R HGETALL acme:redis:production:vartrack | paste - -

cat > "$D/watcher.yaml" <<YAML
watcher:
  poll_interval: 2s
  admin_addr: "127.0.0.1:$APORT"
  cache_dir: $D/cache
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
YAML

say "starting vartrack-watcher (poll every 2 s)"
build/bin/vartrack-watcher -f "$D/watcher.yaml" 2> "$D/watcher.log" &
WATCHER_PID=$!
show_until() { # pattern timeout-seconds
	local i
	for i in $(seq $(($2 * 10))); do
		if grep -q "$1" "$D/watcher.log"; then grep "$1" "$D/watcher.log" | tail -1; return 0; fi
		sleep 0.1
	done
	echo "demo: timed out waiting for: $1" >&2; cat "$D/watcher.log" >&2; return 1
}
show_until '"result":"ok"' 15

say "someone sets max_connections to 5 directly in Redis"
echo "redis-cli HSET acme:redis:production:vartrack max_connections 5"
R HSET acme:redis:production:vartrack max_connections 5 >/dev/null
show_until '"result":"drift"' 10

say "metrics (curl http://127.0.0.1:$APORT/metrics)"
curl -s "http://127.0.0.1:$APORT/metrics" | grep -E '^vartrack_watcher_(poll_total|drift_total|drifted_keys|poll_errors_total)'

say "stopping (SIGTERM)"
kill "$WATCHER_PID"; wait "$WATCHER_PID" && echo "vartrack-watcher exited 0"
WATCHER_PID=
