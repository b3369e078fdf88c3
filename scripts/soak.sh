#!/bin/bash
# Seeded chaos soak (tests/integration/soak.py): one watcher over Redis,
# ZooKeeper, sshd, the Mongo-wire fake, s3rver and the Kubernetes and Vercel
# fakes, self-heal against the gRPC peer, with faults injected at random from
# SEED (printed, so any run can be replayed). Exits 1 on any false poll
# result, a dead supervisor, or descriptors / RSS beyond their bounds.
#   scripts/soak.sh [MINUTES [SEED]]        (defaults: 2, random)
# Environment: VTW_BIN=directory of the built binaries (default: builds
# build-soak/ with test hooks if build-test/bin is not there); KINDS=redis,zk,
# linux,mongo,s3,configmap,vercel (a subset); KEEP=1 keeps the watcher's log
# in /tmp/soak-watcher.log.
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${1:-2}
SEED=${2:-}
BIN=${VTW_BIN:-}
if [ -z "$BIN" ]; then
	if [ -x build-test/bin/vartrack-watcher ]; then
		BIN=build-test/bin
	else
		cmake -S . -B build-soak -DVTW_TEST_HOOKS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
		cmake --build build-soak -j"${JOBS:-2}" >/dev/null
		BIN=build-soak/bin
	fi
fi
for d in tests/mongo-fake tests/s3rver tests/vercel-sdk; do
	[ -d "$d/node_modules" ] || (cd "$d" && npm ci --no-audit --no-fund >/dev/null)
done
args=(--minutes "$MINUTES")
[ -n "$SEED" ] && args+=(--seed "$SEED")
[ -n "${KINDS:-}" ] && args+=(--kinds "$KINDS")
[ -n "${KEEP:-}" ] && args+=(--keep)
VTW_BIN="$(cd "$BIN" && pwd)" VTW_TEST_HOOKS=1 exec /usr/bin/python3 tests/integration/soak.py "${args[@]}"
