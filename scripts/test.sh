#!/bin/bash
# Runs every test of vartrack-watcher on a fresh Debian 12 machine:
# installs dependencies, builds with -Wall -Wextra -Werror, runs the unit
# tests (Criterion, via CTest) and the integration tests (real redis-server
# and git repositories, started and stopped by PID by the harness), then
# does it all again in an AddressSanitizer + UndefinedBehaviorSanitizer build,
# then valgrind, then each libFuzzer target briefly (scripts/fuzz.sh).
# Exit status 0 only if everything passed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
JOBS=${JOBS:-2}

scripts/install-deps.sh
echo "=== npm ci: tests/mongo-fake (Mongo-wire fake for the integration tests)"
(cd tests/mongo-fake && npm ci --no-audit --no-fund)
echo "=== npm ci: tests/s3rver (S3 test server, @20minutes/s3rver 4.0.4)"
(cd tests/s3rver && npm ci --no-audit --no-fund)
echo "=== npm ci: tests/vercel-sdk (@vercel/sdk 1.28.35: checks the Vercel fake's bodies)"
(cd tests/vercel-sdk && npm ci --no-audit --no-fund)

SUMMARY=$(mktemp)
trap 'rm -f "$SUMMARY"' EXIT
run_suite() { # build-dir extra-cmake-args...
	local dir=$1; shift
	echo "=== configure + build: $dir ($*)"
	cmake -S . -B "$dir" -DVTW_WERROR=ON -DVTW_TEST_HOOKS=ON "$@" >/dev/null
	cmake --build "$dir" -j"$JOBS"
	echo "=== unit tests: $dir"
	(cd "$dir" && ctest --output-on-failure) | tee -a "$SUMMARY"
	echo "=== integration tests: $dir"
	VTW_BIN="$ROOT/$dir/bin" VTW_TEST_HOOKS=1 /usr/bin/python3 tests/integration/run.py 2>&1 |
		tee -a "$SUMMARY"
}

run_suite build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo
# the seeded chaos soak, 2 minutes (its seed is printed: replay a failure
# with scripts/soak.sh 2 SEED)
echo "=== chaos soak: ${SOAK_MINUTES:-2} minutes (build-test)"
VTW_BIN="$ROOT/build-test/bin" scripts/soak.sh "${SOAK_MINUTES:-2}"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=23
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export LSAN_OPTIONS=suppressions=$ROOT/tests/lsan.supp:print_suppressions=0
# LeakSanitizer cannot check a worker under seccomp (it ptraces at exit), so
# the sanitizer suite runs workers unsandboxed; the first suite covers the
# sandbox.
export VTW_TEST_SANDBOX_DISABLE=1
run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DVTW_SANITIZE=ON
unset VTW_TEST_SANDBOX_DISABLE ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
echo "=== valgrind: unit tests and a short end-to-end run (build-test)"
# Criterion's own runner keeps some blocks "possibly lost": count definite
# and indirect leaks only for the test binaries. $JOBS binaries at a time
# (valgrind is CPU-bound; the first failure stops the rest).
mkdir -p build-test/valgrind
ls build-test/tests/test_* | xargs -P "$JOBS" -I{} sh -c '
	valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
		--error-exitcode=9 --trace-children=yes \
		--trace-children-skip="*/python3*,*/openssl,*/bash,*/redis-*" \
		--suppressions=tests/valgrind.supp "$1" --jobs 1 >/dev/null 2>"build-test/valgrind/${1##*/}.log" ||
		{ cat "build-test/valgrind/${1##*/}.log"; echo "valgrind: $1 failed"; exit 255; }' sh {}
VTW_VALGRIND=1 VTW_BIN="$ROOT/build-test/bin" /usr/bin/python3 tests/integration/run.py \
	test_redis.Conformance.test_changed_missing_extra \
	test_redis.HashLayout.test_sigterm_clean_exit \
	test_daemon.Reload.test_a_refused_reload_changes_nothing_and_sigterm_exits_0 \
	test_daemon.Reload.test_a_changed_datasource_restarts_only_its_worker_and_its_rules \
	test_mongo.DocumentLayout.test_spec_example_int_value_is_drift_50_vs_5 \
	test_zookeeper.Conformance.test_changed_missing_extra \
	test_linux.Conformance.test_changed_missing_extra \
	test_s3.ConformanceJson.test_changed_missing_extra \
	test_s3.ConformancePerKey.test_changed_missing_extra \
	test_configmap.Conformance.test_changed_missing_extra \
	test_vercel.Conformance.test_changed_missing_extra 2>&1 | tee -a "$SUMMARY"
# libFuzzer (clang, ASan+UBSan; its own build, build-fuzz): every target
# over its committed corpus (tests/fuzz/<target>/: fixed findings stay
# fixed), then FUZZ_SECONDS (20) of fuzzing each, two at a time
echo "=== fuzzing: the corpora, then ${FUZZ_SECONDS:-20} s per target (build-fuzz)"
FUZZ_BUILD=build-fuzz scripts/fuzz.sh --regress "${FUZZ_SECONDS:-20}"
# one closing line for all suites (pipefail made any failure fatal above)
passed=$(awk '/tests passed, 0 tests failed out of/ {n += $NF} /^[0-9]+ passed, 0 failed/ {n += $1} END {print n + 0}' "$SUMMARY")
echo "=== all tests passed"
echo "$passed passed, 0 failed"
