#!/usr/bin/env bash
# Builds the libFuzzer targets for the vector text and binary parsers with
# clang (ASan + UBSan) and runs each for a bounded time from a small seed
# corpus. Usage: test/fuzz/run.sh [seconds-per-target]   (default 30)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
seconds=${1:-30}
work=$(mktemp -d /tmp/vecann-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT

flags=(-std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I"$root/src")
clang++ "${flags[@]}" -o "$work/fuzz_text" "$here/fuzz_vector_text.cpp" "$root/src/codec/vector_text.cpp"
clang++ "${flags[@]}" -o "$work/fuzz_binary" "$here/fuzz_vector_binary.cpp" "$root/src/codec/vector_binary.cpp"

mkdir -p "$work/text" "$work/binary"
i=0
for seed in '[1,2,3]' '[-1.5e-3, 2.25 ,3E+2]' '[]' '[1,,2]' '[nan]' '[1e39]' '  [ +.5 ]  ' '[1e-50,-0]'; do
  printf '%s' "$seed" >"$work/text/seed$((i++))"
done
printf '\x00\x03\x00\x00\x3f\x80\x00\x00\xc0\x00\x00\x00\x3f\x00\x00\x00' >"$work/binary/seed0"
printf '\x00\x01\x00\x00\x7f\xc0\x00\x00' >"$work/binary/seed1"
printf '\x3e\x80\x00\x00' >"$work/binary/seed2"

status=0
for target in text binary; do
  echo "fuzz_vector_$target: ${seconds}s"
  if ! "$work/fuzz_$target" -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 \
       -artifact_prefix="$work/" "$work/$target" >"$work/$target.log" 2>&1; then
    status=1
    tail -40 "$work/$target.log"
    mkdir -p "$root/test/fuzz/crashes" && cp "$work"/crash-* "$work"/leak-* "$root/test/fuzz/crashes/" 2>/dev/null || true
    echo "fuzz_vector_$target: FAILED (artifacts in test/fuzz/crashes/)"
  else
    grep -E "stat::number_of_executed_units|cov:" "$work/$target.log" | tail -2
    echo "fuzz_vector_$target: passed"
  fi
done
exit $status
