#!/usr/bin/env bash
# Runs every vecann test on a fresh Debian machine (as root) or a developer's:
#   1. GoogleTest suite of the Postgres-free kernels, codecs and HNSW core (CMake/ctest)
#   2. the same suite cross-built for aarch64, under qemu-user (scripts/test-arm64.sh)
#   3. for PostgreSQL 15, 17 and 18 (scripts/test-versions.sh; 17 and 18 built
#      from Debian's source packages into a cache): build and install the
#      extension, the pg_regress suite against a scratch cluster, the TAP system
#      tests (PostgreSQL::Test::Cluster creates its own clusters)
#   4. client tests: Python and Node.js drivers and ORMs (test/clients/run.sh)
#   5. libFuzzer smoke run of the text and binary parsers (vector, halfvec, sparsevec)
#   6. structured fuzzing of the whole SQL surface as an ordinary role (test/sqlfuzz)
# Exits non-zero when anything fails. VECANN_FUZZ_SECONDS sets the libFuzzer
# time per target, VECANN_SQLFUZZ_SECONDS and VECANN_SQLFUZZ_SEED the SQL
# fuzzer's time and seed (longer runs by hand: bash test/sqlfuzz/run.sh 3600).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash scripts/install-deps.sh || exit 1

passed=0
failed=0
failed_names=()
record() {  # record <name> <passed-count> <failed-count>
  passed=$((passed + $2))
  failed=$((failed + $3))
  [ "$3" -gt 0 ] && failed_names+=("$1")
}
run_counted() {  # run_counted <name> <command...>: runs a suite that ends with
  # "<name>: N passed, M failed" and records those counts (a non-zero exit
  # without a failure count, or no count line at all, counts as one failure).
  local name=$1 rc p f
  shift
  "$@" 2>&1 | tee "build/$name.log"
  rc=${PIPESTATUS[0]}
  p=$(sed -n "s/^$name: \([0-9]*\) passed, [0-9]* failed$/\1/p" "build/$name.log" | tail -1)
  f=$(sed -n "s/^$name: [0-9]* passed, \([0-9]*\) failed$/\1/p" "build/$name.log" | tail -1)
  [ -n "$p" ] || { p=0; f=1; }
  [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
  record "$name" "$p" "$f"
}

echo "== unit tests (GoogleTest) =="
cmake -S . -B build/unit -DCMAKE_BUILD_TYPE=Release >build-unit.log 2>&1 &&
  cmake --build build/unit -j"$(nproc)" >>build-unit.log 2>&1 || { cat build-unit.log; echo "unit test build failed"; exit 1; }
rm -f build-unit.log
ctest --test-dir build/unit --output-on-failure -j"$(nproc)" 2>&1 | tee build/unit/ctest.log
unit_total=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' build/unit/ctest.log)
unit_failed=$(sed -n 's/.*, \([0-9]*\) tests failed out of.*/\1/p' build/unit/ctest.log)
[ -n "$unit_total" ] || { unit_total=1; unit_failed=1; }
record unit $((unit_total - unit_failed)) "$unit_failed"

echo "== unit tests on aarch64 (cross-built, under qemu-user) =="
# scripts/test-arm64.sh ends with "arm64: N passed, M failed".
run_counted arm64 bash scripts/test-arm64.sh

echo "== the extension on each PostgreSQL version: build, pg_regress, TAP =="
# scripts/test-versions.sh (15, 17, 18; installs into Debian's 15 for the
# tests below) prints one line per version and "versions: N passed, M failed".
run_counted versions bash scripts/test-versions.sh

echo "== client tests =="
# Python and Node.js drivers and ORMs (test/clients/run.sh: installs its packages,
# runs on a scratch server of its own, ends with "clients: N passed, M failed").
run_counted clients bash test/clients/run.sh

echo "== fuzz smoke run (libFuzzer) =="
# test/fuzz/run.sh ends with "fuzz: N passed, M failed" (one count per parser target).
run_counted fuzz bash test/fuzz/run.sh "${VECANN_FUZZ_SECONDS:-30}"

echo "== SQL surface fuzzing (sqlfuzz) =="
# test/sqlfuzz/run.sh ends with "sqlfuzz: N passed, M failed" (N calls); it
# counts here as one test, or as its M failures.
bash test/sqlfuzz/run.sh "${VECANN_SQLFUZZ_SECONDS:-90}" "${VECANN_SQLFUZZ_SEED:-20261201}" 2>&1 | tee build/sqlfuzz.log
sqlfuzz_rc=${PIPESTATUS[0]}
sqlfuzz_failed=$(sed -n 's/^sqlfuzz: [0-9]* passed, \([0-9]*\) failed$/\1/p' build/sqlfuzz.log | tail -1)
[ -n "$sqlfuzz_failed" ] || sqlfuzz_failed=1
[ "$sqlfuzz_rc" -ne 0 ] && [ "$sqlfuzz_failed" -eq 0 ] && sqlfuzz_failed=1
record sqlfuzz $((sqlfuzz_failed == 0 ? 1 : 0)) "$sqlfuzz_failed"

echo
[ ${#failed_names[@]} -gt 0 ] && echo "failing suites: ${failed_names[*]}"
echo "vecann: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
