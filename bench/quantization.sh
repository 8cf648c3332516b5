#!/bin/bash
# The quantization benchmark: one `bench/run.sh ann` run per index kind on one
# dataset and metric -- vecann with each quantization (f32, f16, bf16, i8, bit)
# and pgvector's float32 index and halfvec expression index -- then one table
# of index size, build time and recall@10 / QPS per ef_search
# (bench/quantization_table.py).
#   bash bench/quantization.sh fashion-mnist l2 [extra run.py ann options]
#   bash bench/quantization.sh clusters cosine --rows 50000 --dim 768
# BENCH_NO_BUILD=1 skips the vecann build after the first run.
set -eu
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dataset=${1:?dataset}; metric=${2:?metric}; shift 2
out=$(mktemp -d /tmp/vecann-quant.XXXXXX)
common=(--dataset "$dataset" --metric "$metric" --queries 500 --min-time 2 --pgbench-time 0
        --ef-search 10,20,40,80,120,200,400 "$@")
run() {
  local name=$1; shift
  echo "== quantization bench: $name"
  bash "$BENCH_DIR/run.sh" ann "${common[@]}" --json "$out/$name.json" "$@"
  export BENCH_NO_BUILD=1
}
for q in f32 f16 bf16 i8 bit; do run "vecann-$q" --target vecann --quantization "$q"; done
run pgvector-vector --target pgvector
run pgvector-halfvec --target pgvector --index-kind halfvec
/usr/bin/python3 "$BENCH_DIR/quantization_table.py" "$out"/*.json
echo "raw results: $out"
