# Shared by scripts/bench_{mongo,zookeeper,linux}.sh; sourced from the
# repository root:  . scripts/bench_lib.sh NAME "PIDVARS"
# Sets B (build dir, $VTW_BUILD or build), PY, D (a temp dir, removed at exit
# unless KEEP is set); at exit kills and reaps the processes whose PIDs are
# in the variables named by PIDVARS (empty = not running), after calling
# bench_pre_cleanup if the script defines it.
B=${VTW_BUILD:-build}
PY=/usr/bin/python3
D=$(mktemp -d "/tmp/vtw-bench-$1.XXXXXX"); chmod 755 "$D"
BENCH_PIDVARS=$2

bench_cleanup() {
	local v p
	if [ "$(type -t bench_pre_cleanup)" = function ]; then bench_pre_cleanup || true; fi
	for v in $BENCH_PIDVARS; do
		p=${!v:-}
		if [ -n "$p" ]; then kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; fi
	done
	[ -n "${KEEP:-}" ] || rm -rf "$D"
}
trap bench_cleanup EXIT

# a free loopback port
port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# configure once, build the given targets (default: all)
bench_build() {
	[ -d "$B" ] || cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build "$B" -j2 "$@" >/dev/null
}
