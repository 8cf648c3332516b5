-- The halfvec type: text and binary I/O with every input error, typmods,
-- casts, distances and the other functions and operators, comparisons and
-- the btree opclass, aggregates.
\set VERBOSITY terse

-- ---- text input and output ---------------------------------------------------
SELECT '[1,2.5,-3]'::halfvec;
SELECT '  [ 1 , -0.5 ,2e2 ]  '::halfvec;
-- values round to the nearest half; output is the shortest float literal of it
SELECT '[1.1,0.1,3.14159,1000.7,-0]'::halfvec;
SELECT '[65504,-65504,6.1035156e-05,6e-08]'::halfvec;
-- round to nearest, ties to even: 2049 is halfway between 2048 and 2050
SELECT '[2049,2051,65519]'::halfvec;
-- values below half the smallest subnormal become zero, as tiny float input does
SELECT '[1e-8,-1e-8,1e-50]'::halfvec;
-- text round trip
SELECT v::text::halfvec = v FROM (SELECT '[0.1,0.2,0.3,1.1,60000,-3e-5]'::halfvec AS v) t;

\set VERBOSITY default
SELECT '[1,,2]'::halfvec;
SELECT '[1,70000]'::halfvec;
\set VERBOSITY terse
SELECT '[65520]'::halfvec;
SELECT '[-65520]'::halfvec;
SELECT '[1e39]'::halfvec;
SELECT ''::halfvec;
SELECT '[1,2'::halfvec;
SELECT '[1 2]'::halfvec;
SELECT '[1,2]x'::halfvec;
SELECT '[1,a]'::halfvec;
SELECT '[]'::halfvec;
SELECT '[NaN]'::halfvec;
SELECT '[1,-Infinity]'::halfvec;

-- dimension limits
SELECT vector_dims(array_fill(1, ARRAY[16000])::halfvec);
SELECT array_fill(1, ARRAY[16001])::halfvec;
SELECT ('[' || array_to_string(array_fill(1, ARRAY[16001]), ',') || ']')::halfvec;

-- typmods
SELECT '[1,2,3]'::halfvec(3);
SELECT '[1,2]'::halfvec(3);
SELECT '[1]'::halfvec(0);
SELECT '[1]'::halfvec(16001);
SELECT '[1]'::halfvec(1, 2);
CREATE TABLE half_t (v halfvec(3));
INSERT INTO half_t VALUES ('[1,2,3]'), (NULL);
INSERT INTO half_t VALUES ('[1,2]');
SELECT * FROM half_t;
\d half_t
DROP TABLE half_t;

-- ---- binary I/O -----------------------------------------------------------------
-- int16 dims, int16 0, then big-endian IEEE halves
SELECT halfvec_send('[1,-2,0.5,65504]');
CREATE TABLE half_bin (id int, v halfvec);
INSERT INTO half_bin VALUES (1, '[1,2.5,-3]'), (2, '[65504,6e-08,-0]'), (3, NULL);
\copy half_bin TO '/tmp/vecann_regress_halfvec.bin' WITH (FORMAT binary)
CREATE TABLE half_bin2 (LIKE half_bin);
\copy half_bin2 FROM '/tmp/vecann_regress_halfvec.bin' WITH (FORMAT binary)
SELECT a.id, a.v, b.v, a.v = b.v AS same FROM half_bin a JOIN half_bin2 b USING (id) ORDER BY id;
CREATE TABLE half_bin3 (id int, v halfvec(2));
\copy half_bin3 FROM '/tmp/vecann_regress_halfvec.bin' WITH (FORMAT binary)
-- malformed binary values: a bytea column's binary form is its raw bytes, so
-- COPY ... (FORMAT binary) of crafted bytea feeds them to halfvec_recv
CREATE TABLE half_raw (b bytea);
CREATE TABLE half_recv (v halfvec);
INSERT INTO half_raw VALUES ('\x000100003c00');
\copy half_raw TO '/tmp/vecann_regress_halfvec_raw.bin' WITH (FORMAT binary)
\copy half_recv FROM '/tmp/vecann_regress_halfvec_raw.bin' WITH (FORMAT binary)
SELECT * FROM half_recv;
TRUNCATE half_raw;
INSERT INTO half_raw VALUES ('\x0002000000');
\copy half_raw TO '/tmp/vecann_regress_halfvec_raw.bin' WITH (FORMAT binary)
\copy half_recv FROM '/tmp/vecann_regress_halfvec_raw.bin' WITH (FORMAT binary)
TRUNCATE half_raw;
INSERT INTO half_raw VALUES ('\x000100017c00');
\copy half_raw TO '/tmp/vecann_regress_halfvec_raw.bin' WITH (FORMAT binary)
\copy half_recv FROM '/tmp/vecann_regress_halfvec_raw.bin' WITH (FORMAT binary)
TRUNCATE half_raw;
INSERT INTO half_raw VALUES ('\x000100007c00');
\copy half_raw TO '/tmp/vecann_regress_halfvec_raw.bin' WITH (FORMAT binary)
\copy half_recv FROM '/tmp/vecann_regress_halfvec_raw.bin' WITH (FORMAT binary)
TRUNCATE half_raw;
INSERT INTO half_raw VALUES ('\x000100007e00');
\copy half_raw TO '/tmp/vecann_regress_halfvec_raw.bin' WITH (FORMAT binary)
\copy half_recv FROM '/tmp/vecann_regress_halfvec_raw.bin' WITH (FORMAT binary)
TRUNCATE half_raw;
INSERT INTO half_raw VALUES ('\x0000000000');
\copy half_raw TO '/tmp/vecann_regress_halfvec_raw.bin' WITH (FORMAT binary)
\copy half_recv FROM '/tmp/vecann_regress_halfvec_raw.bin' WITH (FORMAT binary)
TRUNCATE half_raw;
INSERT INTO half_raw VALUES ('\x00');
\copy half_raw TO '/tmp/vecann_regress_halfvec_raw.bin' WITH (FORMAT binary)
\copy half_recv FROM '/tmp/vecann_regress_halfvec_raw.bin' WITH (FORMAT binary)
DROP TABLE half_bin, half_bin2, half_bin3, half_raw, half_recv;

-- ---- casts ------------------------------------------------------------------------
SELECT '[1.1,2,-3]'::vector::halfvec, '[1.1,2,-3]'::halfvec::vector;
SELECT '[1,2]'::vector::halfvec(2), '[1,2]'::halfvec::vector(2);
SELECT '[1,2]'::vector::halfvec(3);
SELECT '[1,2]'::halfvec::vector(3);
SELECT '[1e5]'::vector::halfvec;
SELECT ARRAY[1,2,3]::halfvec, ARRAY[1.5,2.5]::real[]::halfvec, ARRAY[1.5,2.5]::double precision[]::halfvec,
       ARRAY[1.25,-2]::numeric[]::halfvec;
SELECT '[1.5,2,-3]'::halfvec::real[], '[1.5,2,-3]'::halfvec::double precision[],
       '[1.5,2,-3]'::halfvec::numeric[], '[1.5,2.5,-3]'::halfvec::integer[];
SELECT ARRAY[1,2]::halfvec(3);
SELECT '{}'::integer[]::halfvec;
SELECT ARRAY[1,NULL]::halfvec;
SELECT ARRAY[[1,2],[3,4]]::halfvec;
SELECT ARRAY['NaN']::real[]::halfvec;
SELECT ARRAY['Infinity']::double precision[]::halfvec;
SELECT ARRAY[70000]::integer[]::halfvec;
SELECT ARRAY[1e39]::double precision[]::halfvec;
SELECT ARRAY[1e300]::numeric[]::halfvec;
-- assignment casts: arrays and vectors go into halfvec columns, halfvecs into vector columns
CREATE TABLE half_cast (h halfvec(2), v vector(2));
INSERT INTO half_cast VALUES (ARRAY[1,2], '[1,2]'::halfvec), ('[1.1,2.2]'::vector, '[3,4]'::halfvec);
SELECT * FROM half_cast;
DROP TABLE half_cast;
-- halfvec to real[] is implicit, as vector's
CREATE FUNCTION half_first(a real[]) RETURNS real LANGUAGE sql AS 'SELECT a[1]';
SELECT half_first('[7,8]'::halfvec);
DROP FUNCTION half_first;

-- ---- distances ----------------------------------------------------------------------
SELECT '[1,2,3]'::halfvec <-> '[3,2,1]' AS l2,
       l2_distance('[1,2,3]'::halfvec, '[3,2,1]') AS l2_fn,
       '[1,2,3]'::halfvec <#> '[3,2,1]' AS neg_ip,
       inner_product('[1,2,3]'::halfvec, '[3,2,1]') AS ip,
       '[1,2,3]'::halfvec <=> '[3,2,1]' AS cosine,
       cosine_distance('[1,2,3]'::halfvec, '[3,2,1]') AS cosine_fn,
       '[1,2,3]'::halfvec <+> '[3,2,1]' AS l1,
       l1_distance('[1,2,3]'::halfvec, '[3,2,1]') AS l1_fn;
SELECT halfvec_l2_squared_distance('[0,0]', '[3,4]'), halfvec_negative_inner_product('[1,2]', '[3,4]');
SELECT '[1,1]'::halfvec <=> '[2,2]' AS same_direction, '[1,1]'::halfvec <=> '[-1,-1]' AS opposite,
       '[0,0]'::halfvec <=> '[1,1]' AS zero_vector;
-- long halfvecs take the SIMD path with a tail; distances equal vector's on the same values
SELECT array_fill(1, ARRAY[1001])::halfvec <-> array_fill(2, ARRAY[1001])::halfvec AS l2_1001,
       inner_product(array_fill(0.5, ARRAY[1537])::halfvec, array_fill(2, ARRAY[1537])::halfvec) AS ip_1537,
       array_fill(1.5, ARRAY[777])::halfvec <+> array_fill(-0.25, ARRAY[777])::halfvec AS l1_777;
SELECT abs((h1 <-> h2) - (h1::vector <-> h2::vector)) < 1e-4 AS l2_same,
       abs((h1 <#> h2) - (h1::vector <#> h2::vector)) < 1e-3 AS ip_same,
       abs((h1 <=> h2) - (h1::vector <=> h2::vector)) < 1e-6 AS cos_same,
       abs((h1 <+> h2) - (h1::vector <+> h2::vector)) < 1e-3 AS l1_same
FROM (SELECT array_agg(sin(i)::real)::halfvec AS h1, array_agg(cos(i)::real)::halfvec AS h2
      FROM generate_series(1, 999) i) t;
-- a vector operand is cast to halfvec
SELECT '[1,2]'::halfvec <-> '[4,6]'::vector;
SELECT '[1,2]'::halfvec <-> '[1,2,3]';
SELECT '[1,2]'::halfvec <#> '[1,2,3]';
SELECT '[1,2]'::halfvec <=> '[1,2,3]';
SELECT '[1,2]'::halfvec <+> '[1,2,3]';
SELECT inner_product('[1,2]'::halfvec, '[1,2,3]');

-- ---- other functions -----------------------------------------------------------------
SELECT vector_dims('[1,2,3]'::halfvec), l2_norm('[3,4]'::halfvec), l2_norm('[0,0]'::halfvec);
SELECT l2_normalize('[3,4]'::halfvec), l2_normalize('[0,0]'::halfvec), l2_norm(l2_normalize('[1,2,3]'::halfvec));
SELECT subvector('[1,2,3,4,5]'::halfvec, 2, 3), subvector('[1,2,3]'::halfvec, 0, 2), subvector('[1,2,3]'::halfvec, 3, 9);
SELECT subvector('[1,2,3]'::halfvec, 4, 1);
SELECT subvector('[1,2,3]'::halfvec, -5, 2);
SELECT subvector('[1,2,3]'::halfvec, 1, 0);
SELECT '[1,2]'::halfvec || '[3.5]', vector_dims(array_fill(1, ARRAY[8000])::halfvec || array_fill(1, ARRAY[8000])::halfvec);
SELECT array_fill(1, ARRAY[8000])::halfvec || array_fill(1, ARRAY[8001])::halfvec;

-- ---- arithmetic ------------------------------------------------------------------------
SELECT '[1,2]'::halfvec + '[3,4.5]', '[1,2]'::halfvec - '[3,4]', '[1,2]'::halfvec * '[3,4]';
SELECT '[60000]'::halfvec + '[10000]';
SELECT '[-60000]'::halfvec - '[10000]';
SELECT '[300]'::halfvec * '[300]';
SELECT '[0.001]'::halfvec * '[0.0001]';
SELECT '[0.001]'::halfvec * '[0.00001]';
SELECT '[1,2]'::halfvec + '[1,2,3]';

-- ---- comparisons and the btree opclass ---------------------------------------------------
SELECT '[1,2]'::halfvec = '[1,2]', '[1,2]'::halfvec <> '[1,2]', '[1,2]'::halfvec < '[1,3]',
       '[1,2]'::halfvec < '[1,2,0]', '[2]'::halfvec > '[1,9]', '[1,2]'::halfvec <= '[1,2]',
       '[1,2]'::halfvec >= '[1,3]', '[0]'::halfvec = '[-0]';
SELECT halfvec_cmp('[1,2]', '[1,2]'), halfvec_cmp('[1,2]', '[0,5]'), halfvec_cmp('[1]', '[1,0]');
CREATE TABLE half_ops (v halfvec);
INSERT INTO half_ops VALUES ('[2,1]'), ('[1,2,3]'), ('[1,2]'), ('[-1,5]'), (NULL), ('[1,2]');
SELECT v FROM half_ops ORDER BY v;
CREATE INDEX ON half_ops USING btree (v);
SET enable_seqscan = off;
SELECT v FROM half_ops WHERE v = '[1,2]';
EXPLAIN (COSTS OFF) SELECT v FROM half_ops WHERE v = '[1,2]';
RESET enable_seqscan;
SELECT DISTINCT v FROM half_ops ORDER BY v;

-- ---- aggregates ---------------------------------------------------------------------------
SELECT avg(v), sum(v) FROM (VALUES ('[1,2]'::halfvec), ('[3,4.5]'), (NULL)) t(v);
SELECT avg(v), sum(v) FROM half_ops WHERE false;
SELECT avg(v) FROM half_ops;
SELECT sum(v) FROM (VALUES ('[60000]'::halfvec), ('[60000]')) t(v);
SELECT avg(v) FROM (VALUES ('[60000]'::halfvec), ('[60000]')) t(v);
-- parallel aggregation combines partial states (avg only: a sum of many
-- halves rounds at every step, so its value depends on the order of rows)
CREATE TABLE half_agg AS SELECT ARRAY[i % 10, 0.1]::halfvec AS v FROM generate_series(1, 20000) i;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT avg(v) FROM half_agg;
SELECT avg(v) FROM half_agg;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
DROP TABLE half_ops, half_agg;
