-- HNSW indexes that store vectors in reduced precision (WITH (quantization =
-- 'f16' | 'bf16' | 'i8' | 'bit')): every format and operator class returns the
-- exact nearest rows in true-distance order with exact selected distances,
-- on vector, halfvec and sparsevec keys and on expressions; inserts, vacuum,
-- LIMIT above ef_search and selective WHERE work; option errors and each
-- format's dimension limit are clear; reduced indexes are smaller.
\set VERBOSITY terse
SET vecann.build_threads = 2;
CREATE TABLE qt (id int PRIMARY KEY, v vector(64));
INSERT INTO qt
SELECT i, ARRAY(SELECT sin(i * 0.37 + j * 1.3) * (1 + j % 5) + cos(i * 0.011 * j) FROM generate_series(1, 64) j)::vector
FROM generate_series(1, 2000) i;
ANALYZE qt;

-- For queries near rows 1..n: does the index's top 10 equal the exact top 10
-- (the same distances in the same order: rows that tie may swap)? The
-- distances are selected, so they must be the exact ones too. Returns the
-- number of queries that failed.
CREATE FUNCTION knn_failures(expr text, op text, n int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE a float8[]; b float8[]; failures int := 0; q text;
BEGIN
  FOR i IN 1..n LOOP
    q := format('(SELECT %s FROM qt WHERE id = %s)', expr, i * 4 + 1);
    SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = on;
    EXECUTE format('SELECT array_agg(d ORDER BY r) FROM (SELECT %1$s %2$s %3$s AS d, row_number() OVER () AS r FROM (SELECT * FROM qt ORDER BY %1$s %2$s %3$s LIMIT 10) s) t', expr, op, q) INTO a;
    SET LOCAL enable_seqscan = on; SET LOCAL enable_indexscan = off;
    EXECUTE format('SELECT array_agg(d ORDER BY d) FROM (SELECT d FROM (SELECT %1$s %2$s %3$s AS d FROM qt OFFSET 0) s ORDER BY d LIMIT 10) t', expr, op, q) INTO b;
    IF a IS DISTINCT FROM b OR array_length(a, 1) IS DISTINCT FROM 10 THEN failures := failures + 1; END IF;
  END LOOP;
  RETURN failures;
END $$;

-- Every format x every vector operator class.
SET vecann.ef_search = 400;
CREATE TABLE results (format text, opclass text, failures int);
DO $$
DECLARE fmt text; oc text; op text;
BEGIN
  FOREACH fmt IN ARRAY ARRAY['f32', 'f16', 'bf16', 'i8', 'bit'] LOOP
    FOR oc, op IN SELECT * FROM (VALUES ('vector_l2_ops', '<->'), ('vector_ip_ops', '<#>'),
                                        ('vector_cosine_ops', '<=>'), ('vector_l1_ops', '<+>')) x LOOP
      EXECUTE format('CREATE INDEX qt_idx ON qt USING hnsw (v %s) WITH (quantization = %L)', oc, fmt);
      INSERT INTO results VALUES (fmt, oc, knn_failures('v', op, 12));
      DROP INDEX qt_idx;
    END LOOP;
  END LOOP;
END $$;
SELECT * FROM results ORDER BY format, opclass;

-- Option errors, bit columns, and each format's dimension limit at m = 16.
CREATE TABLE qerr (v vector(3), b bit(8));
CREATE INDEX ON qerr USING hnsw (v vector_l2_ops) WITH (quantization = 'f8');
CREATE INDEX ON qerr USING hnsw (v vector_l2_ops) WITH (quantization = 'F16');
CREATE INDEX ON qerr USING hnsw (v vector_l2_ops) WITH (quantization = '');
CREATE INDEX ON qerr USING hnsw (b bit_hamming_ops) WITH (quantization = 'bit');
CREATE INDEX qerr_b ON qerr USING hnsw (b bit_hamming_ops) WITH (quantization = 'f32');
DROP INDEX qerr_b;
CREATE TABLE qwide (v4k vector(4000), v8k vector(8000), v16k vector(16000));
CREATE INDEX ON qwide USING hnsw (v4k vector_l2_ops);
CREATE INDEX ON qwide USING hnsw (v4k vector_l2_ops) WITH (quantization = 'f16');
CREATE INDEX ON qwide USING hnsw (v4k vector_l2_ops) WITH (quantization = 'f16', m = 12);
CREATE INDEX ON qwide USING hnsw (v8k vector_l2_ops) WITH (quantization = 'i8');
CREATE INDEX ON qwide USING hnsw (v8k vector_l2_ops) WITH (quantization = 'i8', m = 8);
CREATE INDEX qwide_bit ON qwide USING hnsw (v16k vector_l2_ops) WITH (quantization = 'bit');
INSERT INTO qwide (v16k) SELECT array_fill(i::real, ARRAY[16000])::vector FROM generate_series(1, 3) i;
SELECT (v16k::real[])[1] AS nearest FROM qwide ORDER BY v16k <-> array_fill(2.2::real, ARRAY[16000])::vector LIMIT 2;
DROP TABLE qwide, qerr;

-- Reduced indexes are smaller than the float32 one.
CREATE TABLE qsize (v vector(256));
INSERT INTO qsize SELECT ARRAY(SELECT sin(i * j) FROM generate_series(1, 256) j)::vector FROM generate_series(1, 400) i;
CREATE INDEX qsize_f32 ON qsize USING hnsw (v vector_l2_ops);
CREATE INDEX qsize_f16 ON qsize USING hnsw (v vector_l2_ops) WITH (quantization = 'f16');
CREATE INDEX qsize_bf16 ON qsize USING hnsw (v vector_l2_ops) WITH (quantization = 'bf16');
CREATE INDEX qsize_i8 ON qsize USING hnsw (v vector_l2_ops) WITH (quantization = 'i8');
CREATE INDEX qsize_bit ON qsize USING hnsw (v vector_l2_ops) WITH (quantization = 'bit');
SELECT pg_relation_size('qsize_f16') < pg_relation_size('qsize_f32') AS f16_smaller,
       pg_relation_size('qsize_bf16') = pg_relation_size('qsize_f16') AS bf16_as_f16,
       pg_relation_size('qsize_i8') < pg_relation_size('qsize_f16') AS i8_smaller,
       pg_relation_size('qsize_bit') < pg_relation_size('qsize_i8') AS bit_smaller;
SELECT indexrelid::regclass, pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = 'qsize'::regclass ORDER BY 1;
DROP TABLE qsize;

-- halfvec keys stored as f16 lose nothing; sparsevec keys can be reduced too;
-- bit re-ranking evaluates index expressions.
SET vecann.ef_search = 400;
CREATE INDEX qt_h ON qt USING hnsw ((v::halfvec(64)) halfvec_l2_ops) WITH (quantization = 'f16');
SELECT knn_failures('v::halfvec(64)', '<->', 8) AS halfvec_f16_failures;
DROP INDEX qt_h;
CREATE INDEX qt_s ON qt USING hnsw ((v::sparsevec(64)) sparsevec_cosine_ops) WITH (quantization = 'bf16');
SELECT knn_failures('v::sparsevec(64)', '<=>', 8) AS sparsevec_bf16_failures;
DROP INDEX qt_s;
CREATE INDEX qt_e ON qt USING hnsw ((l2_normalize(v)::vector(64)) vector_ip_ops) WITH (quantization = 'bit');
SET vecann.rerank_candidates = 1000;  -- 64 bits find the neighbourhood only roughly
SELECT knn_failures('l2_normalize(v)::vector(64)', '<#>', 8) AS expression_bit_failures;
EXPLAIN (COSTS OFF) SELECT id FROM qt ORDER BY l2_normalize(v)::vector(64) <#> array_fill(0.125::real, ARRAY[64])::vector LIMIT 5;
DROP INDEX qt_e;
RESET vecann.rerank_candidates;

-- A LIMIT above the batch and a selective WHERE: rows keep coming, in order.
CREATE INDEX qt_i8 ON qt USING hnsw (v vector_l2_ops) WITH (quantization = 'i8');
CREATE INDEX qt_bit ON qt USING hnsw (v vector_cosine_ops) WITH (quantization = 'bit');
SET vecann.ef_search = 10;
SET vecann.rerank_candidates = 40;
SET enable_seqscan = off;
-- The plan's scan nodes and their ordering, with the InitPlan's parameter
-- masked (15 shows it as $0, 17+ as (InitPlan 1).col1).
CREATE FUNCTION scan_lines(query text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE line text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
    IF line ~ 'Scan|Order By' THEN
      RETURN NEXT regexp_replace(line, '\$0|\(InitPlan 1\)\.col1', '<subquery>');
    END IF;
  END LOOP;
END $$;
SELECT scan_lines('SELECT id FROM qt ORDER BY v <-> (SELECT v FROM qt WHERE id = 7) LIMIT 300');
SELECT count(*) AS rows, bool_and(d >= prev) AS in_order
FROM (SELECT d, lag(d, 1, 0::float8) OVER (ORDER BY r) AS prev
      FROM (SELECT v <-> (SELECT v FROM qt WHERE id = 7) AS d, row_number() OVER () AS r
            FROM (SELECT v FROM qt ORDER BY v <-> (SELECT v FROM qt WHERE id = 7) LIMIT 300) s) t) u;
SELECT count(*) AS rows, bool_and(d >= prev) AS in_order
FROM (SELECT d, lag(d, 1, 0::float8) OVER (ORDER BY r) AS prev
      FROM (SELECT v <=> (SELECT v FROM qt WHERE id = 7) AS d, row_number() OVER () AS r
            FROM (SELECT v FROM qt ORDER BY v <=> (SELECT v FROM qt WHERE id = 7) LIMIT 300) s) t) u;
SELECT count(*) AS filtered_rows FROM (SELECT id FROM qt WHERE id % 100 = 3 ORDER BY v <-> (SELECT v FROM qt WHERE id = 7) LIMIT 10) s;
SELECT count(*) AS filtered_rows FROM (SELECT id FROM qt WHERE id % 100 = 3 ORDER BY v <=> (SELECT v FROM qt WHERE id = 7) LIMIT 10) s;
RESET enable_seqscan;

-- Inserts after the build, deletes and VACUUM: the graph stays whole and the
-- answers exact.
INSERT INTO qt SELECT i, ARRAY(SELECT cos(i * 0.29 + j * 0.7) * (1 + j % 3) FROM generate_series(1, 64) j)::vector
FROM generate_series(2001, 2400) i;
DELETE FROM qt WHERE id % 4 = 0;
VACUUM qt;
SELECT nodes, deleted_nodes, unreachable_nodes <= nodes / 100 AS mostly_reachable, missing_rows, problems FROM hnsw_check('qt_i8');
SELECT nodes, deleted_nodes, unreachable_nodes <= nodes / 100 AS mostly_reachable, missing_rows, problems FROM hnsw_check('qt_bit');
SET vecann.ef_search = 400;
RESET vecann.rerank_candidates;
SELECT knn_failures('v', '<->', 12) AS i8_failures_after_churn;
SELECT knn_failures('v', '<=>', 12) AS bit_failures_after_churn;
DROP TABLE qt, results;
DROP FUNCTION knn_failures(text, text, int);

-- Values near the float32 range: a code's distance that overflows gives a
-- trivial bound, never one above the true distance (which the executor
-- would stop on with "index returned tuples in wrong order").
SET enable_seqscan = off;
CREATE TABLE qbig (c vector(2));
INSERT INTO qbig SELECT ARRAY[3.4e38, sin(i)]::vector FROM generate_series(1, 5) i;
CREATE INDEX ON qbig USING hnsw (c vector_l2_ops) WITH (quantization = 'bf16');
SELECT round((c <-> '[3.4e38,0]')::numeric, 3) FROM qbig ORDER BY c <-> '[3.4e38,0]' LIMIT 5;
CREATE TABLE qbig_cos (c vector(2));
INSERT INTO qbig_cos SELECT ARRAY[sin(i), cos(i)]::vector FROM generate_series(1, 5) i;
CREATE INDEX ON qbig_cos USING hnsw (c vector_cosine_ops) WITH (quantization = 'f16');
SELECT round((c <=> '[1e20,0]')::numeric, 6) FROM qbig_cos ORDER BY c <=> '[1e20,0]' LIMIT 5;
CREATE TABLE qbig_ip (c vector(2));
INSERT INTO qbig_ip VALUES ('[3e38,1]'), ('[1,2]');
CREATE INDEX ON qbig_ip USING hnsw (c vector_ip_ops) WITH (quantization = 'f16');
SELECT c <#> '[1e20,0]' FROM qbig_ip ORDER BY c <#> '[1e20,0]' LIMIT 5;
CREATE TABLE qbig_sparse (c sparsevec(2));
INSERT INTO qbig_sparse VALUES ('{1:3e38}/2'), ('{2:1}/2');
CREATE INDEX ON qbig_sparse USING hnsw (c sparsevec_l2_ops) WITH (quantization = 'i8');
SELECT c <-> '{}/2' FROM qbig_sparse ORDER BY c <-> '{}/2' LIMIT 5;
-- the same with float32 storage: a distance that overflows float32 becomes
-- a lower bound the executor rechecks (L2), or keeps its place (inner product)
CREATE TABLE qbig_f32 (c vector(1));
INSERT INTO qbig_f32 VALUES ('[3e38]'), ('[1e38]'), ('[-1e38]'), ('[0]');
CREATE INDEX ON qbig_f32 USING hnsw (c vector_l2_ops);
SELECT c, c <-> '[-3e38]' AS d FROM qbig_f32 ORDER BY c <-> '[-3e38]' LIMIT 4;
CREATE TABLE qbig_ip_f32 (c vector(2));
INSERT INTO qbig_ip_f32 VALUES ('[1e20,-1e20]'), ('[1e20,1e20]'), ('[1,1]'), ('[-1,-1]');
CREATE INDEX ON qbig_ip_f32 USING hnsw (c vector_ip_ops);
SELECT count(*) FROM (SELECT c FROM qbig_ip_f32 ORDER BY c <#> '[1e20,1e20]' LIMIT 4) s;
RESET enable_seqscan;
DROP TABLE qbig, qbig_cos, qbig_ip, qbig_sparse, qbig_f32, qbig_ip_f32;
