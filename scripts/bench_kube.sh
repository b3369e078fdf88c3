#!/bin/bash
# Benchmark of the configmap worker against the loopback fake of the
# Kubernetes API (tests/integration/kube_fake.py): the poll cycle for one
# ConfigMap of N (10 000) keys next to curl doing the same GET (and the
# same GET plus a JSON decode), the requests per poll, and the detection
# latency of a hand edit with the watch and with the timer alone
# (scripts/bench_kube.py). N=10000; VTW_BUILD=build directory.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${VTW_BUILD:-build}
[ -d "$B" ] || cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$B" -j2 >/dev/null
exec /usr/bin/python3 scripts/bench_kube.py "$B" "${N:-10000}"
