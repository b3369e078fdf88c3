#!/bin/bash
# Benchmark of the vercel worker against the loopback fake of the Vercel env
# API: the poll cycle and API calls per poll for 1 000 variables, unchanged
# and with one variable made encrypted, next to curl doing the same calls
# (scripts/bench_vercel.py). N=1000; VTW_BUILD=build directory.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${VTW_BUILD:-build}
[ -d "$B" ] || cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$B" -j2 >/dev/null
exec /usr/bin/python3 scripts/bench_vercel.py "$B" "${N:-1000}"
