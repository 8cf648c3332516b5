#!/usr/bin/env bash
# The main job, end to end on a fresh Debian machine (as root) or a developer's:
# installs what is missing, builds and installs vecann, starts a scratch
# PostgreSQL cluster of its own, creates the extension, loads sample vectors,
# builds an HNSW index, runs a nearest-neighbour query, shows its plan and
# results, then removes the cluster.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash scripts/install-deps.sh
echo "== building and installing vecann"
make -j"$(nproc)" >/dev/null
make install >/dev/null

# shellcheck source=scratch-pg.sh
source scripts/scratch-pg.sh
trap scratch_pg_stop EXIT
scratch_pg_start
echo "== scratch server on port $PGPORT (data in $PGDATA)"

psql -X -v ON_ERROR_STOP=1 <<'SQL'
\set QUIET on
CREATE EXTENSION vecann;
SELECT extversion AS vecann_version, vecann_simd_target() AS simd_target
FROM pg_extension WHERE extname = 'vecann';

-- 20,000 sample "embeddings": 64-d vectors around 20 random cluster centres
SELECT setseed(0.42) \g /dev/null
CREATE TABLE items (id bigint PRIMARY KEY, label text, embedding vector(64));
INSERT INTO items
SELECT i, 'cluster ' || (i % 20),
       (SELECT array_agg(c.x + (random() - 0.5) * 0.2) FROM unnest(centres.v) AS c(x))::vector
FROM generate_series(1, 20000) i
JOIN (SELECT k, array_agg(random()::real) AS v FROM generate_series(0, 19) k, generate_series(1, 64) GROUP BY k) centres
  ON centres.k = i % 20;
\echo
\echo == building the HNSW index (m = 16, ef_construction = 64)
\timing on
CREATE INDEX items_embedding_idx ON items USING hnsw (embedding vector_l2_ops)
  WITH (m = 16, ef_construction = 64);
\timing off
ANALYZE items;
SELECT pg_size_pretty(pg_relation_size('items_embedding_idx')) AS index_size;

\echo == the plan of a nearest-neighbour query
EXPLAIN (COSTS OFF)
SELECT id, label FROM items ORDER BY embedding <-> (SELECT embedding FROM items WHERE id = 1234) LIMIT 5;

\echo == the 5 rows nearest to row 1234 (vecann.ef_search = 40)
SELECT id, label, round((embedding <-> q.v)::numeric, 4) AS l2_distance
FROM items, (SELECT embedding AS v FROM items WHERE id = 1234) q
ORDER BY embedding <-> q.v LIMIT 5;

\echo == the same by cosine distance, from a vector literal
CREATE INDEX ON items USING hnsw (embedding vector_cosine_ops);
SELECT id, label, round((embedding <=> q.v)::numeric, 4) AS cosine_distance
FROM items, (SELECT (SELECT embedding FROM items WHERE id = 77)::text::vector AS v) q
ORDER BY embedding <=> q.v LIMIT 5;

\echo == index check
SELECT nodes, reachable_nodes, table_rows, missing_rows, problems FROM hnsw_check('items_embedding_idx');
SQL
echo "== done; the scratch server is removed"
