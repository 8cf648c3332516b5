#!/bin/bash
# Thin wrapper for the vecann benchmarks: installs missing Debian dependencies, builds
# and installs vecann from this repository, then runs bench/run.py with /usr/bin/python3.
#   bash bench/run.sh exact [options]            exact-search QPS (see bench/README.md)
#   bash bench/run.sh ann --dataset siftsmall    HNSW build, recall/QPS sweep, pgbench
#   bash bench/run.sh writes                     insert throughput, WAL/row, VACUUM after deletes
# BENCH_NO_BUILD=1 skips the vecann build (uses whatever vecann is installed).
set -u

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "$BENCH_DIR")

# --- dependencies -----------------------------------------------------------------------
need=(python3-psycopg python3-numpy postgresql-contrib python3-hnswlib python3-matplotlib)
wants_fashion=0
[ "${1:-}" = exact ] && wants_fashion=1   # exact uses Fashion-MNIST unless --datasets omits it
prev=""
for a in "$@"; do
  val=""
  case "$a" in
    --dataset=*|--datasets=*) val=${a#*=} ;;
    *) case "$prev" in --dataset|--datasets) val=$a ;; esac ;;
  esac
  if [ -n "$val" ]; then
    case "$val" in *fashion-mnist*) wants_fashion=1 ;; *) wants_fashion=0 ;; esac
  fi
  prev=$a
done
[ "$wants_fashion" = 1 ] && need+=(dataset-fashion-mnist)

missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "run.sh: installing missing packages: ${missing[*]}"
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y "${missing[@]}" || { apt-get update && apt-get install -y "${missing[@]}"; } \
      || echo "run.sh: apt-get install failed; continuing" >&2
  elif command -v sudo >/dev/null; then
    sudo apt-get install -y "${missing[@]}" || echo "run.sh: apt-get install failed; continuing" >&2
  else
    echo "run.sh: please install: ${missing[*]}" >&2
  fi
fi

# --- vecann -----------------------------------------------------------------------------
target_given=0
target_pgvector_only=0
prev=""
for a in "$@"; do
  case "$a" in --target|--target=*) target_given=1 ;; esac
  [ "$a" = "--target=pgvector" ] && target_pgvector_only=1
  [ "$prev" = "--target" ] && [ "$a" = "pgvector" ] && target_pgvector_only=1
  prev=$a
done
extra=()
if [ "${BENCH_NO_BUILD:-0}" = 1 ] || [ "$target_pgvector_only" = 1 ]; then
  echo "run.sh: not building vecann (BENCH_NO_BUILD=1 or --target pgvector)"
else
  log=$(mktemp /tmp/vecann-bench-build.XXXXXX.log)
  if make -C "$REPO_DIR" -j2 install >"$log" 2>&1; then
    echo "run.sh: vecann built and installed from $REPO_DIR"
    rm -f "$log"
  else
    echo "run.sh: building/installing vecann FAILED (full log: $log); last lines:" >&2
    tail -n 15 "$log" >&2
    if [ "$target_given" = 0 ]; then
      echo "run.sh: continuing with pgvector only (--target pgvector)" >&2
      extra=(--target pgvector)
    else
      echo "run.sh: continuing with the --target given (a vecann installed earlier, if any)" >&2
    fi
  fi
fi

exec /usr/bin/python3 "$BENCH_DIR/run.py" "$@" "${extra[@]}"
