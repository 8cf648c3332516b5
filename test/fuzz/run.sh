#!/usr/bin/env bash
# Builds the libFuzzer targets for the text and binary parsers of vector,
# halfvec and sparsevec with clang (ASan + UBSan) and runs each for a bounded
# time from a small seed corpus. Ends with "fuzz: N passed, M failed".
# Usage: test/fuzz/run.sh [seconds-per-target]   (default 30)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
seconds=${1:-30}
work=$(mktemp -d /tmp/vecann-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT

flags=(-std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I"$root/src")
codec="$root/src/codec"
# target name -> the sources it needs besides its own fuzz_<name>.cpp
declare -A sources=(
  [vector_text]="$codec/vector_text.cpp $codec/text_scan.cpp"
  [vector_binary]="$codec/vector_binary.cpp"
  [halfvec_text]="$codec/halfvec.cpp $codec/text_scan.cpp"
  [halfvec_binary]="$codec/halfvec.cpp $codec/text_scan.cpp"
  [sparsevec_text]="$codec/sparsevec.cpp $codec/text_scan.cpp"
  [sparsevec_binary]="$codec/sparsevec.cpp $codec/text_scan.cpp"
)
targets=(vector_text vector_binary halfvec_text halfvec_binary sparsevec_text sparsevec_binary)

seed() {  # seed <target> <name> <printf format>
  mkdir -p "$work/corpus_$1"
  # shellcheck disable=SC2059
  printf "$3" >"$work/corpus_$1/$2"
}
i=0
for s in '[1,2,3]' '[-1.5e-3, 2.25 ,3E+2]' '[]' '[1,,2]' '[nan]' '[1e39]' '  [ +.5 ]  ' '[1e-50,-0]'; do
  seed vector_text "s$i" "$s"
  i=$((i + 1))
done
i=0
for s in '[1,2,3]' '[65504,-65520]' '[6e-8,1e-9]' '[2049, 0.1 ,-0]' '[inf]' '[1,,]'; do
  seed halfvec_text "s$i" "$s"
  i=$((i + 1))
done
i=0
for s in '{1:0.5,7:2}/10' ' { 1 : 1.5 , 3 : -3.5 } / 5 ' '{}/3' '{1:0,2:-0}/2' '{2:1,1:1}/3' '{0:1}/3' \
         '{1:1}/1000000000' '{99999999999:1}/3' '{1:nan}/2' '{1:1e39}/1'; do
  seed sparsevec_text "s$i" "$s"
  i=$((i + 1))
done
seed vector_binary s0 '\x00\x03\x00\x00\x3f\x80\x00\x00\xc0\x00\x00\x00\x3f\x00\x00\x00'
seed vector_binary s1 '\x00\x01\x00\x00\x7f\xc0\x00\x00'
seed vector_binary s2 '\x3e\x80\x00\x00'
seed halfvec_binary s0 '\x00\x03\x00\x00\x3c\x00\xc0\x00\x7b\xff'
seed halfvec_binary s1 '\x00\x01\x00\x00\x7c\x00'
seed halfvec_binary s2 '\x00\x00\x00\x00'
seed sparsevec_binary s0 '\x00\x00\x00\x06\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x04\x3f\x80\x00\x00\xc0\x00\x00\x00'
seed sparsevec_binary s1 '\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00\x00'
seed sparsevec_binary s2 '\x00\x00\x00\x03\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x00'

passed=0
failed=0
for target in "${targets[@]}"; do
  # shellcheck disable=SC2086
  clang++ "${flags[@]}" -o "$work/fuzz_$target" "$here/fuzz_$target.cpp" ${sources[$target]}
  echo "fuzz_$target: ${seconds}s"
  if ! "$work/fuzz_$target" -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 \
       -artifact_prefix="$work/" "$work/corpus_$target" >"$work/$target.log" 2>&1; then
    failed=$((failed + 1))
    tail -40 "$work/$target.log"
    mkdir -p "$root/test/fuzz/crashes" && cp "$work"/crash-* "$work"/leak-* "$root/test/fuzz/crashes/" 2>/dev/null || true
    echo "fuzz_$target: FAILED (artifacts in test/fuzz/crashes/)"
  else
    passed=$((passed + 1))
    grep -E "stat::number_of_executed_units|cov:" "$work/$target.log" | tail -2
    echo "fuzz_$target: passed"
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
