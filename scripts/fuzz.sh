#!/bin/bash
# Fuzzes every parser of untrusted input (tests/fuzz, README "Fuzzing").
#
#   scripts/fuzz.sh [SECONDS]            each target SECONDS (default 600)
#   scripts/fuzz.sh --regress [SECONDS]  each target over its committed
#                                        corpus once, then SECONDS of
#                                        fuzzing (default 10): the CI stage
#
# Builds the fuzz build (clang, -DVTW_FUZZ=ON: libFuzzer + ASan + UBSan) in
# $FUZZ_BUILD (default build-fuzz), then runs the targets $FUZZ_JOBS (2) at
# a time under nice -n $FUZZ_NICE (19), with -timeout=1 -rss_limit_mb=256.
# A campaign keeps what it finds in $FUZZ_BUILD/fuzz-work/<target>/corpus
# (the next campaign goes on from there; the committed seeds in
# tests/fuzz/<target>/ are only read) and any crash, leak, timeout or
# out-of-memory input in $FUZZ_BUILD/fuzz-work/<target>/. $FUZZ_TARGETS
# (e.g. "conf ipc") runs only those. One line per target: executions,
# coverage, features; exit status 1 when any target found something.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${FUZZ_BUILD:-build-fuzz}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
WORK=$BUILD/fuzz-work
PAR=${FUZZ_JOBS:-2}
NICE=${FUZZ_NICE:-19}

# the dictionaries of each target (tests/fuzz/<name>.dict, concatenated)
dicts() {
	case $1 in
	conf) echo conf yaml ;;
	baseline | linux) echo yaml json ini ;;
	s3) echo s3 json ;;
	vercel) echo vercel json ;;
	k8s) echo k8s json ;;
	webhook) echo json ;;
	grpc) echo grpc ;;
	diff) echo diff ;;
	*) ;;
	esac
}

# one target: fuzz_one MODE SECONDS NAME (xargs runs $PAR at a time)
fuzz_one() {
	local mode=$1 secs=$2 t=$3 exe=$BUILD/fuzz/fuzz_$3 w=$WORK/$3
	local corpus dict="" d log rc=0 execs cov ft n res=ok
	rm -rf "$w/artifacts" "$w/tmp"
	mkdir -p "$w/artifacts" "$w/tmp"
	log=$w/fuzz.log
	: >"$log"
	for d in $(dicts "$t"); do
		cat "tests/fuzz/$d.dict" >>"$w/tmp/dict"
		dict=-dict=$w/tmp/dict
	done
	if [ "$mode" = regress ]; then
		# every committed input once: a fixed finding stays fixed
		corpus=$w/tmp/corpus
		nice -n "$NICE" "$exe" -runs=0 -timeout=1 -rss_limit_mb=256 \
			-artifact_prefix="$w/artifacts/" "tests/fuzz/$t" \
			</dev/null >>"$log" 2>&1 || rc=$?
	else
		corpus=$w/corpus
	fi
	mkdir -p "$corpus"
	if [ "$rc" -eq 0 ]; then
		# TMPDIR: whatever a target writes stays in its own directory
		TMPDIR=$w/tmp nice -n "$NICE" "$exe" -max_total_time="$secs" \
			-timeout=1 -rss_limit_mb=256 -print_final_stats=1 \
			$dict -artifact_prefix="$w/artifacts/" \
			"$corpus" "tests/fuzz/$t" </dev/null >>"$log" 2>&1 || rc=$?
	fi
	execs=$(awk '/stat::number_of_executed_units:/ {n = $2} END {print n + 0}' "$log")
	cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
	ft=$(grep -Eo 'ft: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
	n=$(find "$corpus" -type f | wc -l)
	if [ "$rc" -ne 0 ] || [ -n "$(ls -A "$w/artifacts")" ]; then
		res="FAILED (exit $rc; $(ls "$w/artifacts" | tr '\n' ' ')see $log)"
	fi
	[ "$mode" = regress ] && rm -rf "$corpus"
	printf 'fuzz_%s: %s s, %s executions, cov %s, ft %s, corpus %s: %s\n' \
		"$t" "$secs" "$execs" "${cov:-?}" "${ft:-?}" "$n" "$res"
	[ "$res" = ok ]
}

MODE=campaign
SECS=600
if [ "${1:-}" = --regress ]; then
	MODE=regress
	SECS=10
	shift
fi
SECS=${1:-$SECS}

echo "=== fuzz build: $BUILD (clang, -DVTW_FUZZ=ON)"
cmake -S . -B "$BUILD" -DCMAKE_C_COMPILER=clang -DVTW_FUZZ=ON -DVTW_TESTS=OFF \
	-DVTW_WERROR=ON -DVTW_TEST_HOOKS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" --target fuzz -j"${JOBS:-2}"
TARGETS=${FUZZ_TARGETS:-$(cd "$BUILD/fuzz" && ls fuzz_* | sed 's/^fuzz_//')}
echo "=== fuzzing ($MODE): $(echo $TARGETS), $SECS s each, $PAR at a time"
# ASan's quarantine of freed blocks (256 MiB by default) and freed pages
# kept would count against the 256 MiB limit over many inputs: a smaller
# quarantine, freed memory back to the system, so the limit measures what
# one input makes the parser hold
export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=16:allocator_release_to_os_interval_ms=500}
export BUILD WORK NICE
export -f fuzz_one dicts
rc=0
printf '%s\n' $TARGETS | xargs -P "$PAR" -I{} bash -c 'fuzz_one "$@"' sh \
	"$MODE" "$SECS" {} || rc=1
if [ "$rc" -ne 0 ]; then
	echo "=== fuzzing found something: inputs under $WORK/*/artifacts"
	exit 1
fi
echo "=== fuzzing: nothing found"
