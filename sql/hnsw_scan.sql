-- HNSW scans: plans, ordering, every opclass, LIMIT above ef_search, a
-- selective WHERE, prepared statements, build then insert then vacuum.
\set VERBOSITY terse
SET vecann.build_threads = 2;
-- 3000 rows of 8-d vectors, deterministic; category 7 holds 1% of them
CREATE TABLE items (id int PRIMARY KEY, category int, embedding vector(8));
INSERT INTO items
SELECT i, CASE WHEN i % 100 = 0 THEN 7 ELSE i % 5 END,
       ARRAY[sin(i), cos(i), sin(i * 0.7), cos(i * 1.3), sin(i * 2.1), cos(i * 0.3), sin(i * 1.7), cos(i * 2.9)]::vector
FROM generate_series(1, 3000) i;
CREATE INDEX items_l2 ON items USING hnsw (embedding vector_l2_ops);
ANALYZE items;
SELECT nodes, reachable_nodes, unreachable_nodes, table_rows, missing_rows, problems FROM hnsw_check('items_l2');

-- the index serves ORDER BY ... LIMIT; not a plain ORDER BY of every row
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY embedding <-> '[0,1,0,1,0,1,0,1]' LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY embedding <-> '[0,1,0,1,0,1,0,1]';
EXPLAIN (COSTS OFF) SELECT id FROM items WHERE embedding <-> '[0,1,0,1,0,1,0,1]' < 1;
PREPARE knn(vector) AS SELECT id FROM items ORDER BY embedding <-> $1 LIMIT 5;
EXPLAIN (COSTS OFF) EXECUTE knn('[0,1,0,1,0,1,0,1]');

-- with a generous ef_search the index gives the exact answer, nearest first
CREATE FUNCTION exact_top(q vector, k int) RETURNS int[] LANGUAGE sql AS
  $$ SELECT array_agg(id ORDER BY d, id) FROM (SELECT id, embedding <-> q AS d FROM items ORDER BY d, id LIMIT k) t $$;
SET vecann.ef_search = 400;
SELECT array_agg(id) = exact_top('[0,1,0,1,0,1,0,1]', 10) AS exact
FROM (SELECT id FROM items ORDER BY embedding <-> '[0,1,0,1,0,1,0,1]' LIMIT 10) t;
EXECUTE knn('[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]');
SELECT exact_top('[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]', 5);
-- distances come out in non-decreasing order
SELECT bool_and(d >= prev) AS ordered FROM (
  SELECT d, lag(d, 1, 0::float8) OVER (ORDER BY n) AS prev FROM (
    SELECT embedding <-> '[1,0,1,0,1,0,1,0]' AS d, row_number() OVER () AS n
    FROM (SELECT embedding FROM items ORDER BY embedding <-> '[1,0,1,0,1,0,1,0]' LIMIT 200) s) t) u;

-- LIMIT above ef_search: the scan keeps searching
SET vecann.ef_search = 10;
SELECT count(*) FROM (SELECT id FROM items ORDER BY embedding <-> '[0,0,0,0,0,0,0,0]' LIMIT 500) t;
SELECT count(DISTINCT id) FROM (SELECT id FROM items ORDER BY embedding <-> '[0,0,0,0,0,0,0,0]' LIMIT 500) t;
-- a selective WHERE still gets its 10 rows (category 7 is 1% of the table)
SET vecann.ef_search = 40;
SET enable_seqscan = off;  -- make the planner use the index even for this filter
EXPLAIN (COSTS OFF) SELECT id FROM items WHERE category = 7 ORDER BY embedding <-> '[0,0,0,0,0,0,0,0]' LIMIT 10;
SELECT count(*) FROM (SELECT id FROM items WHERE category = 7 ORDER BY embedding <-> '[0,0,0,0,0,0,0,0]' LIMIT 10) t;
-- ... and so does any query past the graph search's bound: the scan goes on
-- through the rest of the index in distance order, never returning fewer rows
-- than asked for while the table has them
SET vecann.max_scan_tuples = 100;
SELECT array_agg(id) = (SELECT array_agg(id ORDER BY d, id) FROM (
         SELECT id, embedding <-> '[0,0,0,0,0,0,0,0]' AS d FROM items WHERE category = 7 ORDER BY d, id LIMIT 10) e)
       AS exact_rows
FROM (SELECT id FROM items WHERE category = 7 ORDER BY embedding <-> '[0,0,0,0,0,0,0,0]' LIMIT 10) t;
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM items ORDER BY embedding <-> '[1,1,1,1,1,1,1,1]' LIMIT 2500) t;
SELECT count(*) FROM (SELECT id FROM items WHERE category = 7 AND id > 2900 ORDER BY embedding <-> '[1,1,1,1,1,1,1,1]' LIMIT 10) t;
SELECT bool_and(d >= prev) AS ordered FROM (
  SELECT d, lag(d, 1, 0::float8) OVER (ORDER BY n) AS prev FROM (
    SELECT embedding <-> '[1,0,1,0,1,0,1,0]' AS d, row_number() OVER () AS n
    FROM (SELECT embedding FROM items ORDER BY embedding <-> '[1,0,1,0,1,0,1,0]' LIMIT 2000) s) t) u;
RESET vecann.max_scan_tuples;
RESET enable_seqscan;
-- the planner knows that rows past what the graph search gives cost a read of
-- the whole index: a large LIMIT, or a filter keeping few rows, is cheaper as
-- a sequential scan and sort
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY embedding <-> '[0,0,0,0,0,0,0,0]' LIMIT 2500;
SET vecann.max_scan_tuples = 100;
EXPLAIN (COSTS OFF) SELECT id FROM items WHERE category = 7 ORDER BY embedding <-> '[0,0,0,0,0,0,0,0]' LIMIT 10;
RESET vecann.max_scan_tuples;

-- errors at scan time
SELECT id FROM items ORDER BY embedding <-> '[1,2]' LIMIT 1;
-- a NULL or zero query: every row ties
SELECT count(*) FROM (SELECT id FROM items ORDER BY embedding <-> NULL LIMIT 5) t;

-- every opclass agrees with the exact ordering at a high ef_search
SET vecann.ef_search = 400;
CREATE INDEX items_ip ON items USING hnsw (embedding vector_ip_ops);
CREATE INDEX items_cos ON items USING hnsw (embedding vector_cosine_ops);
CREATE INDEX items_l1 ON items USING hnsw (embedding vector_l1_ops);
SELECT array_agg(id) = (SELECT array_agg(id) FROM (SELECT id FROM items ORDER BY embedding <#> '[1,2,3,4,5,6,7,8]', id LIMIT 10) e) AS ip_exact
FROM (SELECT id FROM items ORDER BY embedding <#> '[1,2,3,4,5,6,7,8]' LIMIT 10) t;
SELECT array_agg(id) = (SELECT array_agg(id) FROM (SELECT id FROM items ORDER BY embedding <=> '[1,2,3,4,5,6,7,8]', id LIMIT 10) e) AS cosine_exact
FROM (SELECT id FROM items ORDER BY embedding <=> '[1,2,3,4,5,6,7,8]' LIMIT 10) t;
SELECT array_agg(id) = (SELECT array_agg(id) FROM (SELECT id FROM items ORDER BY embedding <+> '[1,2,3,4,5,6,7,8]', id LIMIT 10) e) AS l1_exact
FROM (SELECT id FROM items ORDER BY embedding <+> '[1,2,3,4,5,6,7,8]' LIMIT 10) t;
SELECT count(*) FROM (SELECT id FROM items ORDER BY embedding <=> '[0,0,0,0,0,0,0,0]' LIMIT 5) t;
RESET vecann.ef_search;
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY embedding <#> '[1,2,3,4,5,6,7,8]' LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY embedding <=> '[1,2,3,4,5,6,7,8]' LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY embedding <+> '[1,2,3,4,5,6,7,8]' LIMIT 10;
DROP INDEX items_ip, items_cos, items_l1;

-- rows inserted after the build are found at once
INSERT INTO items
SELECT i, 9, ARRAY[sin(i), cos(i), sin(i * 0.7), cos(i * 1.3), sin(i * 2.1), cos(i * 0.3), sin(i * 1.7), cos(i * 2.9)]::vector
FROM generate_series(3001, 3500) i;
SELECT nodes, table_rows, missing_rows, problems FROM hnsw_check('items_l2');
SELECT id FROM items ORDER BY embedding <-> (SELECT embedding FROM items WHERE id = 3333) LIMIT 1;
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM items WHERE category = 9 ORDER BY embedding <-> '[0,0,0,0,0,0,0,0]' LIMIT 20) t;
RESET enable_seqscan;

-- deleted rows disappear from scans; vacuum marks their nodes
DELETE FROM items WHERE id % 3 = 0;
SELECT count(*) FROM (SELECT id FROM items ORDER BY embedding <-> '[0,0,0,0,0,0,0,0]' LIMIT 100) t WHERE id % 3 = 0;
VACUUM items;
SELECT nodes, deleted_nodes, table_rows, missing_rows, problems FROM hnsw_check('items_l2');
SELECT count(*) FROM (SELECT id FROM items ORDER BY embedding <-> '[0,0,0,0,0,0,0,0]' LIMIT 100) t WHERE id % 3 = 0;
UPDATE items SET embedding = '[5,5,5,5,5,5,5,5]' WHERE id = 1;
SELECT id FROM items ORDER BY embedding <-> '[5,5,5,5,5,5,5,5]' LIMIT 1;

-- a tiny table is cheaper to scan sequentially
CREATE TABLE tiny (v vector(2));
INSERT INTO tiny VALUES ('[1,1]'), ('[2,2]');
CREATE INDEX ON tiny USING hnsw (v);
ANALYZE tiny;
EXPLAIN (COSTS OFF) SELECT * FROM tiny ORDER BY v <-> '[0,0]' LIMIT 1;

DROP TABLE items, tiny;
DROP FUNCTION exact_top;
