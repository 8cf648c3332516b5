#!/usr/bin/env bash
# Builds vecann against each PostgreSQL major version and runs the pg_regress
# suite (on a scratch server of that version) and the TAP suite (clusters of
# that version) for it, one closing line per version:
#   postgres 17 (PostgreSQL 17.11): regress 13/13 passed, tap 1330/1330 passed (480 s)
# and at the end "versions: N passed, M failed" (counts of tests).
#   VECANN_PG_VERSIONS  the versions, default "15 17 18" (15: Debian's own
#                       server; the others built by build-postgres.sh)
# Each version builds in its own copy of the sources (build/pg<major>/), so
# objects of one version never leak into another's library. 15 is installed
# into Debian's server, where the client tests and sqlfuzz use it. The TAP run of
# each version also upgrades a cluster of the previous source-built version
# with pg_upgrade (test/t/009_pg_upgrade.pl: 17 -> 18). Debian's 15 cannot be
# the old side: its 15.20 package stores a pg_attver option on every column,
# which upstream 17.11 and 18.6 reject when pg_upgrade restores any table.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
versions=${VECANN_PG_VERSIONS:-15 17 18}

passed=0
failed=0
summary=()
old_bindir=""  # an older version with vecann installed, for the pg_upgrade test

pg_config_for() {  # pg_config_for <major>: the pg_config of that version
  if [ "$1" = 15 ]; then
    echo /usr/lib/postgresql/15/bin/pg_config
  else
    bash scripts/build-postgres.sh "$1"
  fi
}

regress_counts() {  # regress_counts <log>: "<total> <failed>" in either output style
  local total bad
  # 15: "test name ... ok" / "     name ... FAILED"; 16+: "ok 1 - name" / "not ok 2 - name".
  total=$(grep -cE '^(test| ) +[a-z_0-9]+ +\.\.\. |^(not )?ok +[0-9]+ +[-+] ' "$1" || true)
  bad=$(grep -cE '\.\.\. FAILED|^not ok +[0-9]+ ' "$1" || true)
  [ "$total" -gt 0 ] || { total=1; bad=1; }
  echo "$total $bad"
}

test_version() {  # test_version <major>: build, install, regress, TAP; sets the counts
  local major=$1 pg_config bindir out
  v_regress="not run" v_tap="not run" v_server="?"
  pg_config=$(pg_config_for "$major") || { echo "postgres $major: could not get the server" >&2; return 1; }
  bindir=$("$pg_config" --bindir)
  v_server=$("$pg_config" --version)
  out=$root/build/pg$major
  rm -rf "$out"
  mkdir -p "$out"
  tar -c --exclude='*.o' --exclude='*.so' --exclude='.deps' Makefile vecann.control sql src expected | tar -x -C "$out"

  echo "== postgres $major: build and install the extension =="
  make -C "$out" -j"$(nproc)" PG_CONFIG="$pg_config" >"$out/build.log" 2>&1 &&
    make -C "$out" install PG_CONFIG="$pg_config" >>"$out/build.log" 2>&1 || {
    tail -50 "$out/build.log"; v_regress="build FAILED"; return 1; }
  if grep -E ': warning:' "$out/build.log"; then
    v_regress="build has warnings (FAILED)"; return 1
  fi

  echo "== postgres $major: SQL tests (pg_regress) =="
  PG_BINDIR=$bindir  # the scratch server's version
  # shellcheck source=scratch-pg.sh
  source scripts/scratch-pg.sh
  trap scratch_pg_stop EXIT
  scratch_pg_start || { scratch_pg_stop; trap - EXIT; v_regress="server start FAILED"; return 1; }
  local regress_rc
  make -C "$out" installcheck PG_CONFIG="$pg_config" >"$out/regress.log" 2>&1
  regress_rc=$?
  cat "$out/regress.log"
  scratch_pg_stop
  trap - EXIT
  read -r total bad < <(regress_counts "$out/regress.log")
  # pg_regress stopped part-way (a crash, a bail-out): what did not run fails.
  [ "$regress_rc" -ne 0 ] && [ "$bad" -eq 0 ] && bad=1
  [ "$bad" -gt 0 ] && [ -f "$out/regression.diffs" ] && head -200 "$out/regression.diffs"
  passed=$((passed + total - bad)); failed=$((failed + bad))
  v_regress="$((total - bad))/$total passed"

  echo "== postgres $major: system tests (TAP) =="
  # PostgreSQL::Test::Cluster runs initdb, which refuses root: run as postgres,
  # from a copy of the tests (and of the shared data they read) in a directory
  # postgres can enter: this clone may live where postgres cannot.
  local tap_dir pgxs_dir as_pg=()
  tap_dir=$(mktemp -d /tmp/vecann-tap.XXXXXX)
  chmod 755 "$tap_dir"
  cp -r test/t "$tap_dir/t"
  if [ -d "$root/../shared/data" ]; then cp -r "$root/../shared/data" "$tap_dir/data"; fi
  if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$tap_dir"; as_pg=(runuser -u postgres --); fi
  pgxs_dir=$(dirname "$("$pg_config" --pgxs)")/..
  (cd "$tap_dir" && "${as_pg[@]}" env TESTDIR="$tap_dir" PATH="$bindir:$PATH" \
    PG_REGRESS="$pgxs_dir/test/regress/pg_regress" VECANN_DATA_DIR="$tap_dir/data" \
    VECANN_OLD_BINDIR="$old_bindir" \
    prove -I "$pgxs_dir/test/perl" --verbose t/*.pl) >"$out/tap.log" 2>&1
  cat "$out/tap.log"
  local tap_failed tap_passed
  tap_failed=$(grep -cE '^not ok [0-9]' "$out/tap.log" || true)
  tap_passed=$(grep -cE '^ok [0-9]' "$out/tap.log" || true)
  grep -qE '^Result: PASS' "$out/tap.log" || tap_failed=$((tap_failed > 0 ? tap_failed : 1))
  [ "$tap_failed" -gt 0 ] && find "$tap_dir" -name '*.log' -path '*log*' -exec tail -n 30 {} \; | tail -200
  rm -rf "$tap_dir"
  passed=$((passed + tap_passed)); failed=$((failed + tap_failed))
  v_tap="$tap_passed/$((tap_passed + tap_failed)) passed"
  [ "$major" != 15 ] && old_bindir=$bindir
  return 0
}

for major in $versions; do
  start=$SECONDS
  if ! test_version "$major"; then
    failed=$((failed + 1))
  fi
  summary+=("postgres $major ($v_server): regress $v_regress, tap $v_tap ($((SECONDS - start)) s)")
done

echo
printf '%s\n' "${summary[@]}"
echo "versions: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
