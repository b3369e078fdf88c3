#!/bin/bash
# Benchmark of Git fetches at scale and of the per-poll cost
# (scripts/bench_git.py): upload-pack requests per interval for 1 000 rules
# over 10 repositories on git daemon (and with BEFORE=<build dir> of an
# older commit, e.g. 2d5ccf5, for comparison), then the polls per second
# one watcher sustains with 10 000 rules of 20 keys on Redis and the CPU
# time per poll of the supervisor, each worker and redis-server.
# VTW_BUILD=build directory; RULES, BIG, REPOS, WINDOW (s) as in the .py.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${VTW_BUILD:-build}
[ -d "$B" ] || cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$B" -j2 >/dev/null
exec /usr/bin/python3 scripts/bench_git.py "$B" "${BEFORE:-}"
