#!/usr/bin/env bash
# Cross-compiles the Postgres-free libraries (kernels, codecs, HNSW core) and
# their GoogleTest suite for aarch64 with Debian's cross toolchain, and runs
# the suite under qemu-user on emulated CPUs with different SIMD features:
#   max         NEON, SVE and SVE2 (Highway runs every compiled target that
#               the CPU has, each against the scalar reference): every test
#               but the two slowest whole-SIFT recall tests, which check the
#               algorithm rather than the architecture (x86 runs them; under
#               emulation they take 4 of the suite's 7 minutes)
#   cortex-a72  NEON only, so that dispatch picks NEON as the best target:
#               the kernel, codec and quantization tests
# Ends with "arm64: N passed, M failed" (one count per test per CPU).
# Needs root on a fresh machine: it adds Debian's arm64 architecture to dpkg
# (multiarch) to install the arm64 builds of Highway and GoogleTest. The tests
# run on multiarch's arm64 libc and loader (/lib/ld-linux-aarch64.so.1), not
# with qemu's -L /usr/aarch64-linux-gnu: that mixes the cross toolchain's
# loader with multiarch's libc, and the first pthread_create then spins forever.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  if [ "$(id -u)" != 0 ]; then echo "arm64 is not a dpkg architecture here (run as root to add it)" >&2; exit 1; fi
  dpkg --add-architecture arm64
  apt-get update -qq
fi
bash scripts/install-deps.sh g++-aarch64-linux-gnu qemu-user libhwy-dev:arm64 libgtest-dev:arm64 || exit 1

out=$root/build/arm64
mkdir -p "$out"
cat >"$out/toolchain.cmake" <<'EOF'
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64)
EOF
cmake -S . -B "$out" -DCMAKE_TOOLCHAIN_FILE="$out/toolchain.cmake" -DCMAKE_BUILD_TYPE=Release \
  -DVECANN_MICROBENCH=OFF >"$out/configure.log" 2>&1 &&
  cmake --build "$out" -j"$(nproc)" >"$out/build.log" 2>&1 || {
  tail -50 "$out/configure.log" "$out/build.log"; echo "arm64: 0 passed, 1 failed"; exit 1; }
if grep -E ': warning:' "$out/build.log"; then echo "arm64: the build has warnings"; echo "arm64: 0 passed, 1 failed"; exit 1; fi

passed=0
failed=0
declare -A filter=(
  [max]='-HnswRecall.BuiltOverQuantizedCodes:HnswRecall.Sift10kOneThread'
  [cortex-a72]='*Kernel*:Half*:Bit*:Binary*:Sparse*:Code*:LowerBound*:Jaccard*'
)
for cpu in max cortex-a72; do
  echo "== aarch64 unit tests on qemu's $cpu =="
  # A bound on the run (it takes about 2 minutes per CPU): qemu-user ignores
  # SIGTERM while its guest spins, hence KILL.
  QEMU_CPU=$cpu timeout -s KILL 900 qemu-aarch64 "$out/vecann_unit_tests" \
    --gtest_filter="${filter[$cpu]}" >"$out/unit-$cpu.log" 2>&1
  rc=$?
  grep -E '^\[ +(INFO|PASSED|FAILED|SKIPPED) |Kernels\(\)\.target|tests? ran' "$out/unit-$cpu.log" | head -40
  ok=$(grep -cE '^\[ +OK \]' "$out/unit-$cpu.log" || true)
  bad=$(grep -cE '^\[ +FAILED +\] .* \([0-9]+ ms\)$' "$out/unit-$cpu.log" || true)
  [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ] && { bad=1; tail -30 "$out/unit-$cpu.log"; }
  [ "$ok" -eq 0 ] && [ "$bad" -eq 0 ] && { bad=1; echo "no test ran on $cpu"; }
  passed=$((passed + ok)); failed=$((failed + bad))
done
echo "arm64: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
