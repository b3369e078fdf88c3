#!/bin/bash
# Benchmark of the linux worker: one full poll cycle (request -> worker
# reads the file over SFTP and parses it -> diff done) for a 10 000-key .env
# file rendered as the orchestrator does (interop §3.8), next to the raw
# read of the same file with the OpenSSH clients, best of 5 each, and the
# ratio. Raw figures:
#   - a fresh `sftp` (get FILE /dev/null) per read: includes TCP + key
#     exchange + auth, i.e. connection setup, which the watcher pays only
#     once (it keeps its session and SFTP channel across polls);
#   - the same over an already-open connection (ssh ControlMaster): the
#     fair steady-state comparison;
#   - `ssh ... cat FILE`, fresh and over the ControlMaster connection (an
#     exec of the user's shell on the server: slower here than SFTP).
# Then the same for local mode (no ssh_host) against `cat FILE`.
# sshd is started the way tests/integration/harness.py (Sshd) starts it, on
# a free loopback port, and stopped by PID. Prints figures; asserts nothing.
#   N=10000 keys; VTW_BUILD=build directory (default build).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-10000}
SP= WP= CM=
. scripts/bench_lib.sh linux "WP SP"
bench_pre_cleanup() { [ -z "$CM" ] || ssh -S "$D/cm.sock" -O exit x 2>/dev/null; }
bench_build --target vartrack-watcher vartrack-worker-git vartrack-worker-linux
SPORT=$(port); APORT=$(port)
USER_=$(id -un)

# sshd as harness.Sshd: host keys ed25519 + ecdsa, one ed25519 client key
S="$D/sshd"; mkdir -p "$S"
for k in ed25519 ecdsa; do ssh-keygen -q -t $k -N '' -C bench-host -f "$S/host_$k"; done
ssh-keygen -q -t ed25519 -N '' -C bench-client -f "$S/client"
cp "$S/client.pub" "$S/authorized_keys"; chmod 600 "$S/authorized_keys"
cat > "$S/sshd_config" <<CONF
Port $SPORT
ListenAddress 127.0.0.1
HostKey $S/host_ed25519
HostKey $S/host_ecdsa
PidFile $S/sshd.pid
AuthorizedKeysFile $S/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
LogLevel VERBOSE
Subsystem sftp internal-sftp
CONF
[ "$(id -u)" = 0 ] && { mkdir -p /run/sshd; chmod 755 /run/sshd; }
/usr/sbin/sshd -D -e -f "$S/sshd_config" >"$S/sshd.log" 2>&1 & SP=$!
for _ in $(seq 100); do
	ssh-keyscan -T 2 -p "$SPORT" 127.0.0.1 >"$S/known_hosts" 2>/dev/null || true
	[ -s "$S/known_hosts" ] && break; sleep 0.1
done
[ -s "$S/known_hosts" ] || { echo "bench_linux: sshd did not start" >&2; cat "$S/sshd.log" >&2; exit 1; }
SSH=(ssh -p "$SPORT" -i "$S/client" -o BatchMode=yes -o IdentitiesOnly=yes
	-o StrictHostKeyChecking=yes -o UserKnownHostsFile="$S/known_hosts"
	-o GlobalKnownHostsFile=/dev/null -o ConnectTimeout=5)

# Git file with N keys; the .env file the orchestrator renders from it
mkdir -p "$D/repo" "$D/srv"; chmod 755 "$D/srv"
$PY - "$D" "$N" <<'PYEOF'
import sys
d, n = sys.argv[1], int(sys.argv[2])
with open(d + "/repo/big.yaml", "w") as f:
    for i in range(n):
        f.write("key_%06d: value-%06d-abcdefghij\n" % (i, i))
with open(d + "/srv/big.env", "w") as f:
    f.write("# vartrack managed \u2014 env=main tenant=default\n\n")
    for i in range(n):
        f.write("key_%06d=value-%06d-abcdefghij\n" % (i, i))
PYEOF
chmod 644 "$D/srv/big.env"
git -C "$D/repo" init -q -b main
git -C "$D/repo" -c user.email=b@x -c user.name=b add -A
git -C "$D/repo" -c user.email=b@x -c user.name=b commit -q -m big

run_watcher() { # name datasource-yaml -> "best_cycle_us best_read_us first_us"
	cat > "$D/$1.yaml" <<YAML
watcher: {poll_interval: 1s, admin_addr: "127.0.0.1:$APORT", cache_dir: $D/cache}
platforms: [{name: local, type: local}]
datasources: [$2]
rules:
  - {name: big, platform: local, datasource: linux, repo_url: $D/repo, file_name: big.yaml,
     tenant_id: b, env: main, file_path: $D/srv/big.env, env_as_filename: false}
YAML
	"$B/bin/vartrack-watcher" -f "$D/$1.yaml" 2>"$D/$1.log" & WP=$!
	local oks=0
	for _ in $(seq 1200); do
		oks=$(grep -c '"result":"ok"' "$D/$1.log" || true)
		[ "$oks" -ge 6 ] && break; sleep 0.1
	done
	kill "$WP"; wait "$WP" 2>/dev/null || true; WP=
	if [ "$oks" -lt 6 ]; then
		echo "bench_linux: fewer than 6 OK polls ($1)" >&2; tail -5 "$D/$1.log" >&2; exit 1
	fi
	local durs reads
	durs=$(grep '"result":"ok"' "$D/$1.log" | sed 's/.*"duration_us":\([0-9]*\).*/\1/')
	reads=$(grep '"result":"ok"' "$D/$1.log" | sed 's/.*"read_us":\([0-9]*\).*/\1/')
	echo "$(echo "$durs" | sed -n 2,6p | sort -n | head -1)" \
	    "$(echo "$reads" | sed -n 2,6p | sort -n | head -1)" "$(echo "$durs" | sed -n 1p)"
}
best5() { # command... -> best wall time of 5 runs in us (stdout discarded)
	local b= i t0 t1 d
	for i in 1 2 3 4 5; do
		t0=$(date +%s%N); "$@" >/dev/null; t1=$(date +%s%N)
		d=$(( (t1 - t0) / 1000 )); { [ -z "$b" ] || [ "$d" -lt "$b" ]; } && b=$d
	done
	echo "$b"
}
ms() { awk -v u="$1" 'BEGIN{printf "%.1f", u/1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }

read -r SSH_US SSH_READ_US SSH_FIRST_US < <(run_watcher ssh "{name: linux, type: linux_server, \
ssh_host: 127.0.0.1, ssh_port: $SPORT, ssh_user: $USER_, ssh_key_path: $S/client, \
ssh_known_hosts_file: $S/known_hosts}")
ACCEPTED=$(grep -c 'Accepted publickey' "$S/sshd.log" || true)
read -r LOC_US LOC_READ_US _ < <(run_watcher local "{name: linux, type: linux_server}")

sftp_get() { # [ssh options...]: OpenSSH sftp reads the file to /dev/null
	sftp -P "$SPORT" "${SSH[@]:3}" "$@" -b - "$USER_@127.0.0.1" \
	    <<<"get $D/srv/big.env /dev/null"
}
RAW_SFTP=$(best5 sftp_get)
RAW_FRESH=$(best5 "${SSH[@]}" "$USER_@127.0.0.1" cat "$D/srv/big.env")
"${SSH[@]}" -o ControlMaster=yes -o ControlPath="$D/cm.sock" -fN "$USER_@127.0.0.1"; CM=1
RAW_SFTP_MUX=$(best5 sftp_get -o ControlPath="$D/cm.sock")
RAW_MUX=$(best5 "${SSH[@]}" -o ControlPath="$D/cm.sock" "$USER_@127.0.0.1" cat "$D/srv/big.env")
RAW_CAT=$(best5 cat "$D/srv/big.env")

echo "linux_server, $N keys in one .env file ($(stat -c %s "$D/srv/big.env") bytes), sshd on 127.0.0.1"
printf '  watcher poll cycle over SFTP (best of polls 2-6): %s ms (read stage %s ms; first poll %s ms incl. connect); %s SSH logins for 6 polls\n' \
	"$(ms "$SSH_US")" "$(ms "$SSH_READ_US")" "$(ms "$SSH_FIRST_US")" "$ACCEPTED"
printf '  raw: fresh `sftp` get (includes connection setup + auth), best of 5: %s ms -> ratio %s\n' \
	"$(ms "$RAW_SFTP")" "$(ratio "$SSH_US" "$RAW_SFTP")"
printf '  raw: `sftp` get over an open ControlMaster connection, best of 5: %s ms -> ratio %s\n' \
	"$(ms "$RAW_SFTP_MUX")" "$(ratio "$SSH_US" "$RAW_SFTP_MUX")"
printf '  raw: `ssh ... cat FILE` fresh: %s ms (ratio %s); over ControlMaster: %s ms (ratio %s)\n' \
	"$(ms "$RAW_FRESH")" "$(ratio "$SSH_US" "$RAW_FRESH")" "$(ms "$RAW_MUX")" "$(ratio "$SSH_US" "$RAW_MUX")"
printf '  local mode poll cycle (best of polls 2-6): %s ms (read stage %s ms); raw `cat FILE`: %s ms -> ratio %s\n' \
	"$(ms "$LOC_US")" "$(ms "$LOC_READ_US")" "$(ms "$RAW_CAT")" "$(ratio "$LOC_US" "$RAW_CAT")"
