-- The sparsevec type: text and binary I/O with every input error, typmods,
-- casts to and from vector and halfvec, distances, norms, comparisons and the
-- btree opclass.
\set VERBOSITY terse

-- ---- text input and output ---------------------------------------------------
SELECT '{1:0.5,7:2}/10'::sparsevec;
SELECT ' { 1 : 1.5 , 3 : -3.5 } / 5 '::sparsevec;
SELECT '{}/3'::sparsevec;
-- zeros are dropped
SELECT '{1:0,2:1.5,3:-0}/3'::sparsevec;
SELECT '{1:1e-50}/1'::sparsevec;
SELECT '{1:3.4028235e38,2:-1.4e-45}/2'::sparsevec;
-- dimensions go up to 1,000,000,000 (the non-zero elements up to 16,000)
SELECT '{1000000000:1}/1000000000'::sparsevec;
-- text round trip
SELECT v::text::sparsevec = v FROM (SELECT '{2:0.1,5:0.2,9:0.30000001}/9'::sparsevec AS v) t;

\set VERBOSITY default
SELECT '{1:1,,2:1}/3'::sparsevec;
SELECT '{1:1,3:1}/2'::sparsevec;
\set VERBOSITY terse
SELECT '{0:1}/3'::sparsevec;
SELECT '{-1:1}/3'::sparsevec;
SELECT '{4:0}/3'::sparsevec;
SELECT '{99999999999999999999:1}/3'::sparsevec;
SELECT '{2:1,1:1}/3'::sparsevec;
SELECT '{2:1,2:3}/3'::sparsevec;
-- errors come in the order of the text: the index above dims first
SELECT '{5:1,3:1}/4'::sparsevec;
SELECT '{1:1}/0'::sparsevec;
SELECT '{1:1}/-1'::sparsevec;
SELECT '{1:1}/1000000001'::sparsevec;
SELECT '{1:NaN}/3'::sparsevec;
SELECT '{1:-Infinity}/3'::sparsevec;
SELECT '{1:1e39}/3'::sparsevec;
SELECT ''::sparsevec;
SELECT '{1:1}'::sparsevec;
SELECT '{1:1}/'::sparsevec;
SELECT '{1:1}/3x'::sparsevec;
SELECT '{1:1/3'::sparsevec;
SELECT '{1 1}/3'::sparsevec;
SELECT '{1:}/3'::sparsevec;
SELECT '{:1}/3'::sparsevec;
SELECT '{1.5:1}/3'::sparsevec;
SELECT '[1,2]'::sparsevec;
-- the non-zero limit: 16,000 stored elements
SELECT length(('{' || string_agg(i || ':1', ',') || '}/20000')::sparsevec::text) > 0
FROM generate_series(1, 16000) i;
SELECT ('{' || string_agg(i || ':1', ',') || '}/20000')::sparsevec FROM generate_series(1, 16001) i;
-- zeros do not count
SELECT ('{' || string_agg(i || ':' || (i % 2), ',') || '}/20000')::sparsevec::text LIKE '{1:1,3:1,%'
FROM generate_series(1, 20000) i;

-- typmods
SELECT '{1:1}/3'::sparsevec(3);
SELECT '{1:1}/3'::sparsevec(2);
SELECT '{1:1}/3'::sparsevec(0);
SELECT '{1:1}/3'::sparsevec(1000000001);
CREATE TABLE sparse_t (v sparsevec(3));
INSERT INTO sparse_t VALUES ('{1:1}/3'), (NULL);
INSERT INTO sparse_t VALUES ('{1:1}/4');
SELECT * FROM sparse_t;
\d sparse_t
DROP TABLE sparse_t;

-- ---- binary I/O -----------------------------------------------------------------
-- int32 dims, int32 nnz, int32 0, then int32 indices (0-based) and float4 values
SELECT sparsevec_send('{2:1,5:-2}/6');
CREATE TABLE sparse_bin (id int, v sparsevec);
INSERT INTO sparse_bin VALUES (1, '{2:1,5:-2}/6'), (2, '{}/4'), (3, '{1000000000:1.5}/1000000000'), (4, NULL);
\copy sparse_bin TO '/tmp/vecann_regress_sparsevec.bin' WITH (FORMAT binary)
CREATE TABLE sparse_bin2 (LIKE sparse_bin);
\copy sparse_bin2 FROM '/tmp/vecann_regress_sparsevec.bin' WITH (FORMAT binary)
SELECT a.id, a.v, b.v, a.v = b.v AS same FROM sparse_bin a JOIN sparse_bin2 b USING (id) ORDER BY id;
CREATE TABLE sparse_bin3 (id int, v sparsevec(6));
\copy sparse_bin3 FROM '/tmp/vecann_regress_sparsevec.bin' WITH (FORMAT binary)
-- malformed binary values, fed to sparsevec_recv as the raw bytes of a bytea
CREATE TABLE sparse_raw (b bytea);
CREATE TABLE sparse_recv (v sparsevec);
CREATE FUNCTION sparse_try(bytes bytea) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE sparse_raw;
  INSERT INTO sparse_raw VALUES (bytes);
END $$;
SELECT sparse_try('\x000000030000000100000000000000023f800000');
\copy sparse_raw TO '/tmp/vecann_regress_sparsevec_raw.bin' WITH (FORMAT binary)
\copy sparse_recv FROM '/tmp/vecann_regress_sparsevec_raw.bin' WITH (FORMAT binary)
SELECT * FROM sparse_recv;
-- index 3 of 3 dimensions (binary indices are 0-based)
SELECT sparse_try('\x000000030000000100000000000000033f800000');
\copy sparse_raw TO '/tmp/vecann_regress_sparsevec_raw.bin' WITH (FORMAT binary)
\copy sparse_recv FROM '/tmp/vecann_regress_sparsevec_raw.bin' WITH (FORMAT binary)
SELECT sparse_try('\x0000000300000001000000000000ffff3f800000');
\copy sparse_raw TO '/tmp/vecann_regress_sparsevec_raw.bin' WITH (FORMAT binary)
\copy sparse_recv FROM '/tmp/vecann_regress_sparsevec_raw.bin' WITH (FORMAT binary)
-- indices 1, 1 and 1, 0
SELECT sparse_try('\x00000003000000020000000000000001000000013f8000003f800000');
\copy sparse_raw TO '/tmp/vecann_regress_sparsevec_raw.bin' WITH (FORMAT binary)
\copy sparse_recv FROM '/tmp/vecann_regress_sparsevec_raw.bin' WITH (FORMAT binary)
SELECT sparse_try('\x00000003000000020000000000000001000000003f8000003f800000');
\copy sparse_raw TO '/tmp/vecann_regress_sparsevec_raw.bin' WITH (FORMAT binary)
\copy sparse_recv FROM '/tmp/vecann_regress_sparsevec_raw.bin' WITH (FORMAT binary)
-- a zero value, a NaN
SELECT sparse_try('\x0000000300000001000000000000000000000000');
\copy sparse_raw TO '/tmp/vecann_regress_sparsevec_raw.bin' WITH (FORMAT binary)
\copy sparse_recv FROM '/tmp/vecann_regress_sparsevec_raw.bin' WITH (FORMAT binary)
SELECT sparse_try('\x000000030000000100000000000000007fc00000');
\copy sparse_raw TO '/tmp/vecann_regress_sparsevec_raw.bin' WITH (FORMAT binary)
\copy sparse_recv FROM '/tmp/vecann_regress_sparsevec_raw.bin' WITH (FORMAT binary)
-- more non-zero elements than dimensions, a negative count, a short message
SELECT sparse_try('\x000000010000000200000000');
\copy sparse_raw TO '/tmp/vecann_regress_sparsevec_raw.bin' WITH (FORMAT binary)
\copy sparse_recv FROM '/tmp/vecann_regress_sparsevec_raw.bin' WITH (FORMAT binary)
SELECT sparse_try('\x00000003ffffffff00000000');
\copy sparse_raw TO '/tmp/vecann_regress_sparsevec_raw.bin' WITH (FORMAT binary)
\copy sparse_recv FROM '/tmp/vecann_regress_sparsevec_raw.bin' WITH (FORMAT binary)
SELECT sparse_try('\x00000003000000010000000000000000');
\copy sparse_raw TO '/tmp/vecann_regress_sparsevec_raw.bin' WITH (FORMAT binary)
\copy sparse_recv FROM '/tmp/vecann_regress_sparsevec_raw.bin' WITH (FORMAT binary)
-- 0 dimensions, a reserved field that is not 0, a truncated header
SELECT sparse_try('\x000000000000000000000000');
\copy sparse_raw TO '/tmp/vecann_regress_sparsevec_raw.bin' WITH (FORMAT binary)
\copy sparse_recv FROM '/tmp/vecann_regress_sparsevec_raw.bin' WITH (FORMAT binary)
SELECT sparse_try('\x000000030000000000000001');
\copy sparse_raw TO '/tmp/vecann_regress_sparsevec_raw.bin' WITH (FORMAT binary)
\copy sparse_recv FROM '/tmp/vecann_regress_sparsevec_raw.bin' WITH (FORMAT binary)
SELECT sparse_try('\x0000000300');
\copy sparse_raw TO '/tmp/vecann_regress_sparsevec_raw.bin' WITH (FORMAT binary)
\copy sparse_recv FROM '/tmp/vecann_regress_sparsevec_raw.bin' WITH (FORMAT binary)
DROP FUNCTION sparse_try;
DROP TABLE sparse_bin, sparse_bin2, sparse_bin3, sparse_raw, sparse_recv;

-- ---- casts ------------------------------------------------------------------------
SELECT '[0,1.5,0,-2]'::vector::sparsevec, '{2:1.5,4:-2}/4'::sparsevec::vector;
SELECT '[0,1.1,0]'::halfvec::sparsevec, '{2:1.1}/3'::sparsevec::halfvec;
SELECT '[0,0]'::vector::sparsevec, '{}/2'::sparsevec::vector;
SELECT '[1,2]'::vector::sparsevec(2), '{1:1}/2'::sparsevec::vector(2), '{1:1}/2'::sparsevec::halfvec(2);
SELECT '[1,2]'::vector::sparsevec(3);
SELECT '{1:1}/2'::sparsevec::vector(3);
SELECT '{1:1}/2'::sparsevec::halfvec(3);
SELECT '{1:1}/16001'::sparsevec::vector;
SELECT '{1:1}/16001'::sparsevec::halfvec;
SELECT '{1:1e5}/2'::sparsevec::halfvec;
-- dense -> sparse is implicit: a vector operand meets a sparsevec one
SELECT '{1:3}/2'::sparsevec <-> '[0,4]'::vector;
CREATE TABLE sparse_cast (s sparsevec(3), v vector(3), h halfvec(3));
INSERT INTO sparse_cast VALUES ('[0,1,0]'::vector, '{2:5}/3'::sparsevec, '{3:0.5}/3'::sparsevec);
SELECT * FROM sparse_cast;
DROP TABLE sparse_cast;

-- ---- distances ----------------------------------------------------------------------
SELECT '{1:1,3:3}/4'::sparsevec <-> '{2:2,3:1}/4' AS l2,
       l2_distance('{1:1,3:3}/4'::sparsevec, '{2:2,3:1}/4') AS l2_fn,
       '{1:1,3:3}/4'::sparsevec <#> '{2:2,3:1}/4' AS neg_ip,
       inner_product('{1:1,3:3}/4'::sparsevec, '{2:2,3:1}/4') AS ip,
       '{1:1,3:3}/4'::sparsevec <=> '{2:2,3:1}/4' AS cosine,
       cosine_distance('{1:1,3:3}/4'::sparsevec, '{2:2,3:1}/4') AS cosine_fn,
       '{1:1,3:3}/4'::sparsevec <+> '{2:2,3:1}/4' AS l1,
       l1_distance('{1:1,3:3}/4'::sparsevec, '{2:2,3:1}/4') AS l1_fn;
SELECT sparsevec_l2_squared_distance('{1:3}/2', '{2:4}/2'), sparsevec_negative_inner_product('{1:1,2:2}/2', '{1:3,2:4}/2');
SELECT '{1:1,2:1}/2'::sparsevec <=> '{1:2,2:2}/2' AS same_direction, '{}/2'::sparsevec <=> '{1:1}/2' AS zero_vector,
       '{}/2'::sparsevec <-> '{}/2' AS both_empty;
-- the same distances as on the dense vectors
SELECT abs((s1 <-> s2) - (s1::vector <-> s2::vector)) < 1e-5 AS l2_same,
       abs((s1 <#> s2) - (s1::vector <#> s2::vector)) < 1e-4 AS ip_same,
       abs((s1 <=> s2) - (s1::vector <=> s2::vector)) < 1e-6 AS cos_same,
       abs((s1 <+> s2) - (s1::vector <+> s2::vector)) < 1e-4 AS l1_same
FROM (SELECT array_agg(CASE WHEN i % 3 = 0 THEN sin(i) ELSE 0 END::real)::vector::sparsevec AS s1,
             array_agg(CASE WHEN i % 5 = 0 THEN cos(i) ELSE 0 END::real)::vector::sparsevec AS s2
      FROM generate_series(1, 3000) i) t;
SELECT '{1:1}/2'::sparsevec <-> '{1:1}/3';
SELECT '{1:1}/2'::sparsevec <#> '{1:1}/3';
SELECT '{1:1}/2'::sparsevec <=> '{1:1}/3';
SELECT '{1:1}/2'::sparsevec <+> '{1:1}/3';

-- ---- norms ----------------------------------------------------------------------------
SELECT l2_norm('{1:3,5:4}/5'::sparsevec), l2_norm('{}/5'::sparsevec);
SELECT l2_normalize('{1:3,5:4}/5'::sparsevec), l2_normalize('{}/5'::sparsevec),
       l2_normalize('{1:1e30,2:1e-20}/2'::sparsevec);

-- ---- comparisons and the btree opclass ---------------------------------------------------
SELECT '{1:1}/2'::sparsevec = '{1:1}/2', '{1:1}/2'::sparsevec <> '{1:1}/2', '{1:1}/2'::sparsevec < '{1:2}/2',
       '{1:1}/2'::sparsevec < '{1:1}/3', '{2:1}/2'::sparsevec < '{1:1}/2', '{1:-1}/2'::sparsevec < '{}/2',
       '{1:1}/2'::sparsevec >= '{1:1,2:1}/2', '{}/2'::sparsevec > '{2:-1}/2';
SELECT sparsevec_cmp('{1:1}/2', '{1:1}/2'), sparsevec_cmp('{2:1}/2', '{1:1}/2'), sparsevec_cmp('{1:1}/2', '{1:1}/3');
CREATE TABLE sparse_ops (v sparsevec);
INSERT INTO sparse_ops VALUES ('{1:2}/2'), ('{1:1,2:2}/3'), ('{1:1,2:2}/2'), ('{1:-1,2:5}/2'), (NULL), ('{1:1,2:2}/2'), ('{}/2');
SELECT v FROM sparse_ops ORDER BY v;
CREATE INDEX ON sparse_ops USING btree (v);
SET enable_seqscan = off;
SELECT v FROM sparse_ops WHERE v = '{1:1,2:2}/2';
EXPLAIN (COSTS OFF) SELECT v FROM sparse_ops WHERE v = '{1:1,2:2}/2';
RESET enable_seqscan;
SELECT DISTINCT v FROM sparse_ops ORDER BY v;
DROP TABLE sparse_ops;
