#!/usr/bin/env bash
# Builds a PostgreSQL major version from Debian's source package into a cache
# directory that later runs reuse, and prints its pg_config path:
#   bash scripts/build-postgres.sh 17   ->  .../postgres/17/install/bin/pg_config
# 15 is Debian 12's own server (installed by install-deps.sh, not built here);
# 17 comes from trixie's postgresql-17, 18 from sid's postgresql-18. The source
# is fetched with `apt-get source` through a private apt configuration (its own
# sources list, lists and archives under the cache), so the machine's apt setup
# is untouched. If the mirror does not serve the version its index names (seen:
# trixie's index ahead of its pool), the pinned version below is fetched from
# the same pool and checked against its pinned SHA-256 sums.
# Cache: $VECANN_CACHE_DIR/postgres/<major>/; the default is /var/cache/vecann
# for root (the postgres user must reach the binaries; /root is private), else
# ~/.cache/vecann.
# Progress goes to stderr, the build log to <major>/build.log.
set -euo pipefail
umask 022  # the postgres OS user runs the binaries and reads the share files

major=${1:?usage: build-postgres.sh <major version: 17 or 18>}
if [ "$(id -u)" = 0 ]; then default_cache=/var/cache/vecann; else default_cache=$HOME/.cache/vecann; fi
cache=${VECANN_CACHE_DIR:-$default_cache}
mirror=http://deb.debian.org/debian

case "$major" in
  17) suite=trixie
      pinned=17.11-0+deb13u1
      pinned_sums="bf148ae423a982707c3f60672c3a072ef62b701bd9f5df847d9f4b8c9b3e3b18 postgresql-17_17.11-0+deb13u1.dsc
dd27f2b3c59e73ed14aa3324901242bf69a032a6347805f274e6260322d42979 postgresql-17_17.11.orig.tar.bz2
82851f4dfeb372c99b94b412e2e3046a8eee7771098e42ac1fa234bef2611cbd postgresql-17_17.11-0+deb13u1.debian.tar.xz" ;;
  18) suite=sid
      pinned=18.6-3
      pinned_sums="a4254c4548ebeea683832de193460ee8a9f1271418e884803b44ded1aead1776 postgresql-18_18.6-3.dsc
555610c24d53e4316da5b7d3fc25c279d96856d5e0e23ee308c328c5fa881d9f postgresql-18_18.6.orig.tar.bz2
5efd00aa59930757931d13e3b2a343b5ac983fdf646a54a3b96caa30cb40512b postgresql-18_18.6-3.debian.tar.xz" ;;
  *) echo "build-postgres.sh: no recipe for PostgreSQL $major (15 is Debian's own)" >&2; exit 2 ;;
esac

# Upstream sources (Debian's patches are not applied: they move the socket
# directory and such, and managed services run upstream), configured for what
# the tests need: TAP modules, pg_regress, zlib for pg_dump's custom format.
configure_flags=(--enable-tap-tests --without-icu --without-readline --with-zlib)
stamp_text="$major ${configure_flags[*]} contrib=pageinspect"

dir=$cache/postgres/$major
prefix=$dir/install
if [ -f "$dir/stamp" ] && [ "$(cat "$dir/stamp")" = "$stamp_text" ] && [ -x "$prefix/bin/pg_config" ]; then
  echo "$prefix/bin/pg_config"
  exit 0
fi

bash "$(dirname "$0")/install-deps.sh" bison flex zlib1g-dev dpkg-dev curl >&2

rm -rf "$dir"
mkdir -p "$dir/apt/lists/partial" "$dir/apt/archives/partial" "$dir/apt/parts" "$dir/src"
cat >"$dir/apt/sources.list" <<EOF
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main
EOF
apt_opts=(-o "Dir::Etc::SourceList=$dir/apt/sources.list" -o "Dir::Etc::SourceParts=$dir/apt/parts"
          -o "Dir::State::Lists=$dir/apt/lists" -o "Dir::Cache=$dir/apt"
          -o "Dir::Cache::archives=$dir/apt/archives" -o "APT::Sandbox::User=root")
echo "postgres $major: fetching the source of postgresql-$major from $suite" >&2
apt-get "${apt_opts[@]}" -qq update >&2
cd "$dir/src"
if ! apt-get "${apt_opts[@]}" -qq source --download-only "postgresql-$major" >"$dir/fetch.log" 2>&1; then
  echo "postgres $major: apt-get source failed ($(grep -m1 -oE 'E: .{0,160}' "$dir/fetch.log" || echo "see $dir/fetch.log")); fetching pinned $pinned" >&2
  rm -f ./*
  while read -r sum file; do
    curl -fsS -o "$file" "$mirror/pool/main/p/postgresql-$major/$file"
    echo "$sum  $file" | sha256sum -c --quiet -
  done <<<"$pinned_sums"
fi
tarball=$(ls postgresql-"$major"_*.orig.tar.bz2)
tar xjf "$tarball"
srcdir=$(ls -d postgresql-"$major".*/)
echo "postgres $major: building ${srcdir%/} (log: $dir/build.log)" >&2
(
  cd "$srcdir"
  ./configure --prefix="$prefix" "${configure_flags[@]}"
  make -j"$(nproc)"
  make install
  make -C contrib/pageinspect -j"$(nproc)" install
) >"$dir/build.log" 2>&1 || { tail -50 "$dir/build.log" >&2; exit 1; }
rm -rf "$dir/src"
echo "$stamp_text" >"$dir/stamp"
echo "$prefix/bin/pg_config"
