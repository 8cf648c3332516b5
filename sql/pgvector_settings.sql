-- pgvector's setting names (hnsw.ef_search, hnsw.max_scan_tuples,
-- hnsw.iterative_scan, hnsw.scan_mem_multiplier): defaults, bounds, every
-- value, "the one set last" between a vecann.* name and its hnsw.* twin under
-- SET, SET LOCAL, RESET, a function's SET clause and ROLLBACK, and the
-- settings' effect on plans and results.
\set VERBOSITY terse
LOAD 'vecann';  -- as shared_preload_libraries would: the names exist before any vecann call
SET vecann.build_threads = 1;  -- one thread: the same graph on every run

-- pgvector's defaults
SHOW hnsw.ef_search;
SHOW hnsw.max_scan_tuples;
SHOW hnsw.iterative_scan;
SHOW hnsw.scan_mem_multiplier;
SELECT name, vartype, min_val, max_val, boot_val, enumvals FROM pg_settings
WHERE name LIKE 'hnsw.%' ORDER BY name;

-- pgvector's bounds and values
SET hnsw.ef_search = 0;
SET hnsw.ef_search = 1001;
SET hnsw.ef_search = 1000;
SET hnsw.max_scan_tuples = 0;
SET hnsw.max_scan_tuples = 2147483647;
SET hnsw.scan_mem_multiplier = 0.5;
SET hnsw.scan_mem_multiplier = 1001;
SET hnsw.scan_mem_multiplier = 2.5;
SHOW hnsw.scan_mem_multiplier;
SET hnsw.iterative_scan = relaxed_order;
SHOW hnsw.iterative_scan;
SET hnsw.iterative_scan = strict_order;
SHOW hnsw.iterative_scan;
SET hnsw.iterative_scan = off;
SHOW hnsw.iterative_scan;
SET hnsw.iterative_scan = on;
SET hnsw.iterative_scan = 'relaxed';
-- the prefix is reserved: a misspelt pgvector name is an error, not a placeholder
SET hnsw.ef_serach = 100;
RESET ALL;
SET vecann.build_threads = 1;

-- two names, one setting: the one set last is in force, and SHOW under either
-- name shows it
SET vecann.ef_search = 100;
SHOW hnsw.ef_search;
SET hnsw.ef_search = 200;
SHOW vecann.ef_search;
BEGIN;
SET LOCAL vecann.ef_search = 300;
SHOW hnsw.ef_search;
COMMIT;
SHOW hnsw.ef_search;    -- the session's 200 again
-- a SET LOCAL under pgvector's name overrides a session value under vecann's,
-- and ends with its transaction
RESET ALL;
SET vecann.ef_search = 100;
BEGIN;
SET LOCAL hnsw.ef_search = 250;
SHOW vecann.ef_search;
COMMIT;
SHOW vecann.ef_search;  -- 100: the session's value, not hnsw.ef_search's default
-- ROLLBACK undoes a SET and leaves the value before it in force
BEGIN;
SET hnsw.ef_search = 7;
SHOW vecann.ef_search;
ROLLBACK;
SHOW hnsw.ef_search;
-- RESET of the name set last leaves the other name's value in force
SET hnsw.ef_search = 60;
RESET hnsw.ef_search;
SHOW hnsw.ef_search;
-- a function's SET clause is in force inside the function only
CREATE FUNCTION ef_inside() RETURNS text LANGUAGE sql SET hnsw.ef_search = 33
  AS $$ SELECT current_setting('vecann.ef_search') $$;
SELECT ef_inside(), current_setting('vecann.ef_search') AS outside;
-- the same for max_scan_tuples
SET vecann.max_scan_tuples = 500;
BEGIN;
SET LOCAL hnsw.max_scan_tuples = 50;
SHOW vecann.max_scan_tuples;
COMMIT;
SHOW hnsw.max_scan_tuples;
RESET ALL;
SET vecann.build_threads = 1;

-- 2000 rows of 16-d vectors, deterministic; category 3 holds 1% of them
CREATE TABLE docs (id int PRIMARY KEY, category int, embedding vector(16));
INSERT INTO docs
SELECT i, CASE WHEN i % 100 = 0 THEN 3 ELSE 0 END,
       ARRAY(SELECT sin(i * (j + 1) * 0.37 + j) FROM generate_series(0, 15) j)::vector
FROM generate_series(1, 2000) i;
CREATE INDEX docs_embedding ON docs USING hnsw (embedding vector_l2_ops);
ANALYZE docs;
CREATE TABLE queries AS
SELECT q, ARRAY(SELECT cos(q * (j + 1) * 0.53 + j) FROM generate_series(0, 15) j)::vector AS v
FROM generate_series(1, 40) q;

-- recall@10 over 40 queries, index against exact
CREATE FUNCTION recall() RETURNS float8 LANGUAGE sql AS $$
  SELECT avg(hits) / 10 FROM (
    SELECT (SELECT count(*) FROM
              (SELECT id FROM docs ORDER BY embedding <-> v LIMIT 10) a
              JOIN (SELECT id FROM (SELECT id, embedding <-> v AS d FROM docs OFFSET 0) s ORDER BY d LIMIT 10) e
              USING (id)) AS hits
    FROM queries) r
$$;
-- (OFFSET 0 keeps the exact side off the index; the other side uses it)
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM docs ORDER BY embedding <-> '[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]' LIMIT 10;
-- hnsw.ef_search changes what the index returns: a small candidate list
-- misses neighbours that a large one finds (sequential scans stay off: the
-- index is what is measured, and PostgreSQL 18 reuses a SQL function's plan,
-- made under one ef_search, under another)
SET hnsw.ef_search = 1;
CREATE TEMP TABLE recall_low AS SELECT recall() AS r;
SET hnsw.ef_search = 400;
CREATE TEMP TABLE recall_high AS SELECT recall() AS r;
SELECT l.r < h.r AS ef_search_raises_recall, h.r > 0.95 AS high_at_400
FROM recall_low l, recall_high h;
-- ... and under SET LOCAL in a transaction, as applications set it
RESET hnsw.ef_search;
BEGIN;
SET LOCAL hnsw.ef_search = 1;
SELECT recall() = (SELECT r FROM recall_low) AS same_as_ef_1;
COMMIT;
RESET enable_seqscan;
-- ... and the plan's cost: a larger candidate list costs more to start.
-- knn_cost(k, field): the 'Startup Cost' or 'Total Cost' of the scan under
-- the Limit of a nearest-neighbour query with LIMIT k
CREATE FUNCTION knn_cost(k int, field text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE plan json;
BEGIN
  EXECUTE 'EXPLAIN (FORMAT JSON) SELECT id FROM docs ORDER BY embedding <-> '
          '''[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]'' LIMIT ' || k INTO plan;
  RETURN (plan -> 0 -> 'Plan' -> 'Plans' -> 0 ->> field)::float8;
END $$;
SET hnsw.ef_search = 10;
CREATE TEMP TABLE cost_low AS SELECT knn_cost(10, 'Startup Cost') AS c;
SET hnsw.ef_search = 1000;
SELECT knn_cost(10, 'Startup Cost') > c AS ef_search_raises_cost FROM cost_low;
RESET hnsw.ef_search;

-- hnsw.max_scan_tuples changes the plan's estimate of a scan that needs many
-- rows (past the bound the scan reads the rest of the index)
SET enable_seqscan = off;
SET hnsw.max_scan_tuples = 100000;
CREATE TEMP TABLE cost_many AS SELECT knn_cost(1500, 'Total Cost') AS c;
SET hnsw.max_scan_tuples = 10;
SELECT knn_cost(1500, 'Total Cost') > c AS bound_raises_cost FROM cost_many;
-- ... and whatever the bound and the memory multiplier, the rows are all there,
-- in distance order
SET hnsw.scan_mem_multiplier = 1000;
SELECT count(*), count(DISTINCT id), bool_and(d >= prev) AS ordered FROM (
  SELECT id, d, lag(d, 1, 0::float8) OVER (ORDER BY n) AS prev FROM (
    SELECT id, d, row_number() OVER () AS n FROM (
      SELECT id, embedding <-> '[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]' AS d FROM docs
      ORDER BY embedding <-> '[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]' LIMIT 1500) s) t) u;
RESET ALL;
SET vecann.build_threads = 1;

-- hnsw.iterative_scan. A selective query (1% of the rows, 20 of them,
-- ef_search 10, LIMIT 15; 2,000 points on a curve, hard for a graph search)
-- goes on past its first candidate list under every value, unlike pgvector's
-- off (which returns what that list holds: a row or two here). Under off and
-- strict_order rows come in distance order, and a row the search finds
-- after a farther one was returned is skipped; relaxed_order returns those
-- too, out of order: every row asked for
SET enable_seqscan = off;
SET hnsw.ef_search = 10;
CREATE FUNCTION filtered_rows(OUT total int, OUT ordered bool) LANGUAGE plpgsql AS $$
DECLARE ids int[]; ds float8[]; qv vector;
BEGIN
  total := 0;
  ordered := true;
  FOR qv IN SELECT v FROM queries LOOP
    SELECT array_agg(id ORDER BY n), array_agg(d ORDER BY n) INTO ids, ds FROM (
      SELECT id, embedding <-> qv AS d, row_number() OVER () AS n
      FROM (SELECT id, embedding FROM docs WHERE category = 3 ORDER BY embedding <-> qv LIMIT 15) a) b;
    total := total + cardinality(ids);
    IF EXISTS (SELECT 1 FROM generate_series(2, cardinality(ids)) i WHERE ds[i] < ds[i - 1]) THEN
      ordered := false;
    END IF;
  END LOOP;
END $$;
EXPLAIN (COSTS OFF) SELECT id FROM docs WHERE category = 3 ORDER BY embedding <-> '[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]' LIMIT 15;
SET hnsw.iterative_scan = off;
SELECT total > 500 AS went_on, ordered FROM filtered_rows();
SET hnsw.iterative_scan = strict_order;
SELECT total > 500 AS went_on, ordered FROM filtered_rows();
SET hnsw.iterative_scan = relaxed_order;
SELECT total = 40 * 15 AS every_row FROM filtered_rows();
SET hnsw.iterative_scan = off;
-- Asked for nearly every row, a strict scan skips the rows it finds after a
-- farther row was returned; relaxed_order returns them too, out of order, as
-- pgvector does: every row, each once
CREATE FUNCTION nearly_all(OUT no_more_when_strict bool, OUT relaxed_complete bool, OUT strict_ordered bool)
LANGUAGE plpgsql AS $$
DECLARE strict_rows bigint := 0; relaxed_rows bigint := 0; n bigint; k bigint; disordered bigint := 0; qv vector;
BEGIN
  FOR qv IN SELECT v FROM queries LOOP
    SET LOCAL hnsw.iterative_scan = strict_order;
    SELECT count(*), count(*) FILTER (WHERE d < prev) INTO n, k FROM (
      SELECT d, lag(d) OVER (ORDER BY r) AS prev FROM (
        SELECT embedding <-> qv AS d, row_number() OVER () AS r
        FROM (SELECT embedding FROM docs WHERE category <> 3 ORDER BY embedding <-> qv LIMIT 1980) a) b) c;
    strict_rows := strict_rows + n;
    disordered := disordered + k;
    SET LOCAL hnsw.iterative_scan = relaxed_order;
    SELECT count(DISTINCT id) INTO n FROM
      (SELECT id FROM docs WHERE category <> 3 ORDER BY embedding <-> qv LIMIT 1980) a;
    relaxed_rows := relaxed_rows + n;
  END LOOP;
  no_more_when_strict := strict_rows <= relaxed_rows;
  relaxed_complete := relaxed_rows = 1980 * 40;
  strict_ordered := disordered = 0;
END $$;
SELECT * FROM nearly_all();
RESET ALL;
DROP TABLE docs, queries;
DROP FUNCTION recall, knn_cost, filtered_rows, nearly_all, ef_inside;
