#!/bin/bash
# Leader election figures (scripts/bench_ha.py), for the Redis lock and
# for ZooKeeper: failover and handover times over N runs (default 10),
# min/median/max, and the requests per second the election adds per replica.
#   VTW_BUILD=build scripts/bench_ha.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
B=${VTW_BUILD:-build}
[ -d "$B" ] || cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$B" -j2 >/dev/null
case $B in /*) ;; *) B=$PWD/$B ;; esac
VTW_BIN="$B/bin" /usr/bin/python3 scripts/bench_ha.py "${1:-10}" redis
VTW_BIN="$B/bin" /usr/bin/python3 scripts/bench_ha.py "${1:-10}" zookeeper
