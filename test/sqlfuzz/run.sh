#!/usr/bin/env bash
# Structured fuzzing of vecann's SQL surface (test/sqlfuzz/sqlfuzz.py) on a
# scratch cluster this script creates and removes (scripts/scratch-pg.sh).
# As the superuser it creates a database owned by an ordinary NON-superuser
# role, which then installs the (trusted) extension itself and runs the fuzzer
# for a bounded time. The installed build is tested (run `make install` first).
#   bash test/sqlfuzz/run.sh [seconds] [seed]      (defaults: 60, random)
# Findings (the SQL of each crash / internal error / hang) go to
# $SQLFUZZ_FINDINGS (default test/sqlfuzz/findings/<seed>/). Ends with the line
# "sqlfuzz: N passed, M failed" and exits non-zero when M > 0.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
seconds=${1:-60}
seed=${2:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
PY=/usr/bin/python3  # Debian's Python, where python3-psycopg is

fail() { echo "$1" >&2; echo "sqlfuzz: 0 passed, 1 failed"; exit 1; }

$PY -c 'import psycopg' 2>/dev/null || bash "$root/scripts/install-deps.sh" python3-psycopg >/dev/null ||
  fail "python3-psycopg is missing and could not be installed"
[ -f "$(pg_config --sharedir)/extension/vecann.control" ] ||
  fail "vecann is not installed: run make install first"

# shellcheck source=../../scripts/scratch-pg.sh
source "$root/scripts/scratch-pg.sh"
trap scratch_pg_stop EXIT
# Crash-restart stays on (the default) so the fuzzer can go on after a crash.
# The log keeps LOG and worse (crash reports) but not the fuzzer's many ordinary errors.
scratch_pg_start "restart_after_crash = on" "log_min_messages = log" "log_min_error_statement = panic" \
  "log_checkpoints = off" || fail "scratch server did not start"

psql_su() { psql -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }
psql_su <<'SQL' || fail "setting up the fuzz role and database failed"
CREATE ROLE sqlfuzz LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
CREATE DATABASE sqlfuzz OWNER sqlfuzz;
SQL
# The role installs the extension itself (trusted: no superuser needed).
PGUSER=sqlfuzz psql -X -q -v ON_ERROR_STOP=1 -d sqlfuzz -c 'CREATE EXTENSION vecann' ||
  fail "CREATE EXTENSION vecann as a non-superuser failed"
# hnsw_check is revoked from PUBLIC; grant it so its own privilege checks (own
# index vs. someone else's) are fuzzed too, and leave the superuser an index
# of its own in the role's database that the role must not be able to read.
psql_su -d sqlfuzz <<'SQL' || fail "superuser setup in the fuzz database failed"
GRANT EXECUTE ON FUNCTION hnsw_check(regclass) TO sqlfuzz;
CREATE SCHEMA su_private;
CREATE TABLE su_private.items (id int, v vector(3));
INSERT INTO su_private.items SELECT i, ARRAY[i, i % 7, i % 3]::vector FROM generate_series(1, 50) i;
CREATE INDEX su_items_idx ON su_private.items USING hnsw (v vector_l2_ops);
GRANT USAGE ON SCHEMA su_private TO sqlfuzz;
SQL

findings=${SQLFUZZ_FINDINGS:-$here/findings/$seed}
out=$SCRATCH_PG_DIR/sqlfuzz.out
PGUSER=sqlfuzz PGDATABASE=sqlfuzz $PY "$here/sqlfuzz.py" --seconds "$seconds" --seed "$seed" \
  --server-log "$SCRATCH_PG_DIR/server.log" --findings "$findings" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
if ! tail -n 1 "$out" | grep -qE '^sqlfuzz: [0-9]+ passed, [0-9]+ failed$'; then
  echo "the fuzzer ended without its summary (exit code $rc); server log tail:" >&2
  tail -n 20 "$SCRATCH_PG_DIR/server.log" >&2
  echo "sqlfuzz: 0 passed, 1 failed"
  exit 1
fi
exit "$rc"
