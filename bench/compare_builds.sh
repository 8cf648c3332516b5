#!/usr/bin/env bash
# Before/after measurement of two vecann builds on the same machine and data:
# build time, QPS of prepared KNN queries (pgbench), INSERT and VACUUM times.
# Each build is installed in its own PostgreSQL installation (PostgreSQL is
# relocatable: copy /usr/lib/postgresql/15 and /usr/share/postgresql/15 under
# a prefix, keeping their layout, then `make install PG_CONFIG=<prefix>/usr/
# lib/postgresql/15/bin/pg_config` in a checkout of the old commit).
#   bash bench/compare_builds.sh OLD_BINDIR NEW_BINDIR [rows] [dims] [rounds]
# e.g. bash bench/compare_builds.sh /opt/pgold/usr/lib/postgresql/15/bin /usr/lib/postgresql/15/bin
# Data: clustered random vectors (200 Gaussian clusters, seeded), L2,
# m = 16, ef_construction = 64. Servers run one at a time, rounds alternate.
# COMPARE_WRITES=0 skips the INSERT and VACUUM steps (the search alone).
# COMPARE_CONTINUED=1 also measures scans that go past their first batch
# (ef_search 40): a WHERE keeping 1% or 10% of the rows with LIMIT 10, and
# LIMIT 1000 without one: rows returned and recall against the exact answer
# (over 100 queries), and QPS (pgbench, the index forced).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
old_bin=$1
new_bin=$2
rows=${3:-300000}
dims=${4:-96}
rounds=${5:-2}
work=$(mktemp -d /tmp/vecann-compare.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT

/usr/bin/python3 - "$work" "$rows" "$dims" <<'EOF'
import sys
import numpy as np
work, n, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(7)
centres = rng.uniform(-1, 1, (200, d)).astype(np.float32)
def write(path, x, first):
    with open(path, 'w') as f:
        for i, row in enumerate(x):
            f.write('%d\t[%s]\n' % (first + i, ','.join('%.5g' % v for v in row)))
x = centres[rng.integers(0, 200, n)] + rng.normal(0, 0.35, (n, d)).astype(np.float32)
write(work + '/items.tsv', x, 1)
q = centres[rng.integers(0, 200, 1000)] + rng.normal(0, 0.35, (1000, d)).astype(np.float32)
write(work + '/queries.tsv', q, 1)
EOF
chmod 644 "$work"/*.tsv
cat >"$work/q.sql" <<'EOF'
\set qid random(1, 1000)
SELECT id FROM items ORDER BY v <-> (SELECT v FROM queries WHERE qid = :qid) LIMIT 10;
EOF
# name|WHERE clause|LIMIT of the continued-scan measurements
continued=("filter 1%|id % 100 = 7|10" "filter 10%|id % 10 = 3|10" "no filter|true|1000")
for c in "${continued[@]}"; do
  IFS='|' read -r name where limit <<<"$c"
  f="$work/q-${name//[^a-z0-9]/_}.sql"
  printf '%s\n%s\n' '\set qid random(1, 1000)' \
    "SELECT id FROM items WHERE $where ORDER BY v <-> (SELECT v FROM queries WHERE qid = :qid) LIMIT $limit;" >"$f"
done

# shellcheck source=../scripts/scratch-pg.sh
source "$here/../scripts/scratch-pg.sh"
seconds() { echo "$2 - $1" | bc; }
for round in $(seq 1 "$rounds"); do
  for which in old new; do
    if [ $which = old ]; then export PG_BINDIR=$old_bin; else export PG_BINDIR=$new_bin; fi
    scratch_pg_start "shared_buffers = 2GB" "autovacuum = off" "jit = off" >/dev/null || exit 1
    P="$PG_BINDIR/psql -X -q"
    $P -c "CREATE EXTENSION vecann" -c "CREATE EXTENSION pg_prewarm" \
       -c "CREATE TABLE items (id int, v vector($dims))" -c "CREATE TABLE queries (qid int, v vector($dims))" \
       -c "\\copy items FROM '$work/items.tsv'" -c "\\copy queries FROM '$work/queries.tsv'" -c "VACUUM ANALYZE items"
    s=$(date +%s.%N)
    $P -c "SET maintenance_work_mem = '2GB'" -c "SET vecann.build_threads = 2" \
       -c "CREATE INDEX items_v ON items USING hnsw (v vector_l2_ops)"
    echo "round $round $which: CREATE INDEX $(seconds "$s" "$(date +%s.%N)") s"
    $P -c "SELECT pg_prewarm('items_v')" -c "SELECT pg_prewarm('items')" >/dev/null
    for ef in 40 100; do
      tps=$(PGOPTIONS="-c vecann.ef_search=$ef" "$PG_BINDIR/pgbench" -n -M prepared -c 1 -T 15 -f "$work/q.sql" postgres \
            2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
      echo "round $round $which: ef_search $ef: $tps QPS"
    done
    if [ "${COMPARE_CONTINUED:-0}" = 1 ]; then
      for c in "${continued[@]}"; do
        IFS='|' read -r name where limit <<<"$c"
        got=$($P -At -c "SET enable_seqscan = off" -c "SET vecann.ef_search = 40" -c "
          SELECT round(avg(got), 2) || ' rows, recall ' || round(avg(hit) / $limit, 4) FROM (
            SELECT (SELECT count(*) FROM (SELECT id FROM items WHERE $where ORDER BY v <-> q.v LIMIT $limit) a) AS got,
                   (SELECT count(*) FROM (SELECT id FROM items WHERE $where ORDER BY v <-> q.v LIMIT $limit) a
                      JOIN (SELECT id FROM (SELECT id, v <-> q.v AS d FROM items WHERE $where OFFSET 0) s
                            ORDER BY d LIMIT $limit) e USING (id)) AS hit
            FROM queries q WHERE qid <= 100) t")
        tps=$(PGOPTIONS="-c vecann.ef_search=40 -c enable_seqscan=off" "$PG_BINDIR/pgbench" -n -M prepared -c 1 -T 15 \
              -f "$work/q-${name//[^a-z0-9]/_}.sql" postgres 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
        echo "round $round $which: $name, LIMIT $limit: $got; $tps QPS"
      done
    fi
    if [ "${COMPARE_WRITES:-1}" = 0 ]; then
      scratch_pg_stop
      continue
    fi
    s=$(date +%s.%N)
    $P -c "INSERT INTO items SELECT 1000000 + g, (SELECT array_agg(random() * 2 - 1) FROM generate_series(1, $dims) WHERE g > 0)::vector FROM generate_series(1, 2000) g"
    echo "round $round $which: INSERT 2000 rows $(seconds "$s" "$(date +%s.%N)") s"
    $P -c "DELETE FROM items WHERE id % 10 = 3"
    s=$(date +%s.%N)
    $P -c "VACUUM items"
    echo "round $round $which: VACUUM after deleting 10% $(seconds "$s" "$(date +%s.%N)") s"
    s=$(date +%s.%N)
    $P -c "VACUUM items"
    echo "round $round $which: VACUUM with nothing to do $(seconds "$s" "$(date +%s.%N)") s"
    scratch_pg_stop
  done
done
