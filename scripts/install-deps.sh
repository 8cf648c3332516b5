#!/usr/bin/env bash
# Installs the Debian packages vecann needs to build, test and benchmark, and
# any further packages named as arguments (scripts that need more pass them).
# Idempotent: installs only what is missing. Run as root on Debian 12.
set -euo pipefail

packages=(
  build-essential g++ cmake pkg-config
  postgresql-15 postgresql-server-dev-15 postgresql-contrib
  libhwy-dev libgtest-dev libbenchmark-dev
  clang libclang-rt-dev            # libFuzzer for the parser fuzz targets
  libipc-run-perl                  # PostgreSQL::Test::Cluster (TAP tests)
  python3 python3-psycopg python3-numpy
)
packages+=("$@")
if [ "${VECANN_WITH_DATASETS:-0}" = 1 ]; then
  packages+=(dataset-fashion-mnist)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing packages: ${missing[*]} (run as root to install them)" >&2
    exit 1
  fi
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
