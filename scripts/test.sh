#!/usr/bin/env bash
# Runs every vecann test on a fresh Debian machine (as root) or a developer's:
#   1. GoogleTest suite of the Postgres-free kernels, codecs and HNSW core (CMake/ctest)
#   2. build and install the extension (PGXS)
#   3. pg_regress suite against a scratch cluster this script creates and removes
#   4. TAP system tests (PostgreSQL::Test::Cluster creates its own clusters)
#   5. client tests: Python and Node.js drivers and ORMs (test/clients/run.sh)
#   6. libFuzzer smoke run of the text and binary parsers (vector, halfvec, sparsevec)
#   7. structured fuzzing of the whole SQL surface as an ordinary role (test/sqlfuzz)
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

echo "== unit tests (GoogleTest) =="
cmake -S . -B build/unit -DCMAKE_BUILD_TYPE=Release >build-unit.log 2>&1 &&
  cmake --build build/unit -j"$(nproc)" >>build-unit.log 2>&1 || { cat build-unit.log; echo "unit test build failed"; exit 1; }
rm -f build-unit.log
ctest --test-dir build/unit --output-on-failure -j"$(nproc)" 2>&1 | tee build/unit/ctest.log
unit_total=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' build/unit/ctest.log)
unit_failed=$(sed -n 's/.*, \([0-9]*\) tests failed out of.*/\1/p' build/unit/ctest.log)
[ -n "$unit_total" ] || { unit_total=1; unit_failed=1; }
record unit $((unit_total - unit_failed)) "$unit_failed"

echo "== build and install the extension =="
make -j"$(nproc)" >build-ext.log 2>&1 && make install >>build-ext.log 2>&1 || { cat build-ext.log; echo "extension build failed"; exit 1; }
rm -f build-ext.log

echo "== SQL tests (pg_regress) =="
# shellcheck source=scratch-pg.sh
source scripts/scratch-pg.sh
trap scratch_pg_stop EXIT
scratch_pg_start || exit 1
make installcheck 2>&1 | tee build/regress.log
regress_total=$(grep -cE '^(test| ) +[a-z_0-9]+ +\.\.\. ' build/regress.log || true)
regress_failed=$(grep -cE '\.\.\. FAILED' build/regress.log || true)
[ "$regress_total" -gt 0 ] || { regress_total=1; regress_failed=1; }
[ "$regress_failed" -gt 0 ] && [ -f regression.diffs ] && head -200 regression.diffs
record regress $((regress_total - regress_failed)) "$regress_failed"
scratch_pg_stop
trap - EXIT

echo "== system tests (TAP) =="
# PostgreSQL::Test::Cluster runs initdb, which refuses root: run as postgres,
# from a copy of the tests (and of the shared data they read) in a directory
# postgres can enter: this clone may live where postgres cannot (under /root,
# or in a mode-700 mktemp directory).
tap_dir=$(mktemp -d /tmp/vecann-tap.XXXXXX)
chmod 755 "$tap_dir"
cp -r test/t "$tap_dir/t"
data_src="$root/../shared/data"
if [ -d "$data_src" ]; then cp -r "$data_src" "$tap_dir/data"; fi
as_pg=()
if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$tap_dir"; as_pg=(runuser -u postgres --); fi
pgxs_dir=$(dirname "$(pg_config --pgxs)")/..
(cd "$tap_dir" && "${as_pg[@]}" env TESTDIR="$tap_dir" PATH="$(pg_config --bindir):$PATH" \
  PG_REGRESS="$pgxs_dir/test/regress/pg_regress" VECANN_DATA_DIR="$tap_dir/data" \
  prove -I "$pgxs_dir/test/perl" --verbose t/*.pl) 2>&1 | tee build/tap.log
tap_failed=$(grep -cE '^not ok' build/tap.log || true)
tap_passed=$(grep -cE '^ok' build/tap.log || true)
grep -qE '^Result: PASS' build/tap.log || tap_failed=$((tap_failed > 0 ? tap_failed : 1))
record tap "$tap_passed" "$tap_failed"
[ "$tap_failed" -gt 0 ] && find "$tap_dir" -name '*.log' -path '*log*' -exec tail -n 30 {} \; | tail -200
rm -rf "$tap_dir"

echo "== client tests =="
# Python and Node.js drivers and ORMs (test/clients/run.sh: installs its packages,
# runs on a scratch server of its own, ends with "clients: N passed, M failed").
bash test/clients/run.sh 2>&1 | tee build/clients.log
clients_rc=${PIPESTATUS[0]}
clients_passed=$(sed -n 's/^clients: \([0-9]*\) passed, [0-9]* failed$/\1/p' build/clients.log | tail -1)
clients_failed=$(sed -n 's/^clients: [0-9]* passed, \([0-9]*\) failed$/\1/p' build/clients.log | tail -1)
[ -n "$clients_passed" ] || { clients_passed=0; clients_failed=1; }
[ "$clients_rc" -ne 0 ] && [ "$clients_failed" -eq 0 ] && clients_failed=1
record clients "$clients_passed" "$clients_failed"

echo "== fuzz smoke run (libFuzzer) =="
# test/fuzz/run.sh ends with "fuzz: N passed, M failed" (one count per parser target).
bash test/fuzz/run.sh "${VECANN_FUZZ_SECONDS:-30}" 2>&1 | tee build/fuzz.log
fuzz_rc=${PIPESTATUS[0]}
fuzz_passed=$(sed -n 's/^fuzz: \([0-9]*\) passed, [0-9]* failed$/\1/p' build/fuzz.log | tail -1)
fuzz_failed=$(sed -n 's/^fuzz: [0-9]* passed, \([0-9]*\) failed$/\1/p' build/fuzz.log | tail -1)
[ -n "$fuzz_passed" ] || { fuzz_passed=0; fuzz_failed=1; }
[ "$fuzz_rc" -ne 0 ] && [ "$fuzz_failed" -eq 0 ] && fuzz_failed=1
record fuzz "$fuzz_passed" "$fuzz_failed"

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
