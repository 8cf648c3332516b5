-- HNSW indexes on halfvec, sparsevec and bit keys, and on expressions such
-- as (embedding::halfvec(n)) and (binary_quantize(embedding)::bit(n)): every
-- operator class agrees with the exact ordering at a high ef_search, the
-- planner uses each index, and dimension limits and errors are clear.
\set VERBOSITY terse
SET vecann.build_threads = 2;
CREATE TABLE kt (id int PRIMARY KEY, v vector(16));
INSERT INTO kt
SELECT i, ARRAY[sin(i), cos(i), sin(i * 0.7), cos(i * 1.3), sin(i * 2.1), cos(i * 0.3), sin(i * 1.7), cos(i * 2.9),
                sin(i * 0.11), cos(i * 0.23), sin(i * 3.1), cos(i * 0.9), sin(i * 1.1), cos(i * 2.3), sin(i * 0.5), cos(i * 1.9)]::vector
FROM generate_series(1, 3000) i;
-- every third row has its last eight values zero: sparse for real
UPDATE kt SET v = (v::real[])[1:8] || array_fill(0::real, ARRAY[8]) WHERE id % 3 = 0;
ANALYZE kt;

-- Index answers vs an exact ordering of the same expression (ties by id).
CREATE FUNCTION same_as_exact(index_sql text, exact_sql text) RETURNS bool LANGUAGE plpgsql AS $$
DECLARE a int[]; b int[];
BEGIN
  SET LOCAL enable_seqscan = off;
  EXECUTE index_sql INTO a;
  SET LOCAL enable_seqscan = on; SET LOCAL enable_indexscan = off;
  EXECUTE exact_sql INTO b;
  RETURN a = b;
END $$;

SET vecann.ef_search = 1000;
CREATE INDEX kt_h_l2 ON kt USING hnsw ((v::halfvec(16)) halfvec_l2_ops);
CREATE INDEX kt_h_ip ON kt USING hnsw ((v::halfvec(16)) halfvec_ip_ops);
CREATE INDEX kt_h_cos ON kt USING hnsw ((v::halfvec(16)) halfvec_cosine_ops);
CREATE INDEX kt_h_l1 ON kt USING hnsw ((v::halfvec(16)) halfvec_l1_ops);
SELECT op, same_as_exact(
  format('SELECT array_agg(id) FROM (SELECT id FROM kt ORDER BY v::halfvec(16) %s (SELECT v::halfvec(16) FROM kt WHERE id = 10) LIMIT 10) t', op),
  format('SELECT array_agg(id) FROM (SELECT id FROM kt ORDER BY v::halfvec(16) %s (SELECT v::halfvec(16) FROM kt WHERE id = 10), id LIMIT 10) t', op))
FROM unnest(ARRAY['<->', '<#>', '<=>', '<+>']) op;
DROP INDEX kt_h_l2, kt_h_ip, kt_h_cos, kt_h_l1;

CREATE INDEX kt_s_l2 ON kt USING hnsw ((v::sparsevec(16)) sparsevec_l2_ops);
CREATE INDEX kt_s_ip ON kt USING hnsw ((v::sparsevec(16)) sparsevec_ip_ops);
CREATE INDEX kt_s_cos ON kt USING hnsw ((v::sparsevec(16)) sparsevec_cosine_ops);
CREATE INDEX kt_s_l1 ON kt USING hnsw ((v::sparsevec(16)) sparsevec_l1_ops);
SELECT op, same_as_exact(
  format('SELECT array_agg(id) FROM (SELECT id FROM kt ORDER BY v::sparsevec(16) %s (SELECT v::sparsevec(16) FROM kt WHERE id = 12) LIMIT 10) t', op),
  format('SELECT array_agg(id) FROM (SELECT id FROM kt ORDER BY v::sparsevec(16) %s (SELECT v::sparsevec(16) FROM kt WHERE id = 12), id LIMIT 10) t', op))
FROM unnest(ARRAY['<->', '<#>', '<=>', '<+>']) op;
DROP INDEX kt_s_l2, kt_s_ip, kt_s_cos, kt_s_l1;

-- binary quantization: distances come out in order (bit distances tie a lot,
-- so the check is on the distances, not on which of the tied rows)
CREATE INDEX kt_b_ham ON kt USING hnsw ((binary_quantize(v)::bit(16)) bit_hamming_ops);
CREATE INDEX kt_b_jac ON kt USING hnsw ((binary_quantize(v)::bit(16)) bit_jaccard_ops);
SELECT op, same_as_exact(
  format('SELECT array_agg(d) FROM (SELECT (binary_quantize(v)::bit(16) %1$s q.b)::int * 1000 AS d FROM kt, (SELECT binary_quantize(v)::bit(16) AS b FROM kt WHERE id = 5) q ORDER BY binary_quantize(v)::bit(16) %1$s q.b LIMIT 20) t', op),
  format('SELECT array_agg(d) FROM (SELECT ((binary_quantize(v)::bit(16) %1$s q.b) * 1000)::int AS d FROM kt, (SELECT binary_quantize(v)::bit(16) AS b FROM kt WHERE id = 5) q ORDER BY 1 LIMIT 20) t', op))
FROM unnest(ARRAY['<~>']) op;
SELECT same_as_exact(
  'SELECT array_agg(d) FROM (SELECT round(((binary_quantize(v)::bit(16) <%> q.b) * 1000)::numeric)::int AS d FROM kt, (SELECT binary_quantize(v)::bit(16) AS b FROM kt WHERE id = 5) q ORDER BY binary_quantize(v)::bit(16) <%> q.b LIMIT 20) t',
  'SELECT array_agg(d) FROM (SELECT round(((binary_quantize(v)::bit(16) <%> q.b) * 1000)::numeric)::int AS d FROM kt, (SELECT binary_quantize(v)::bit(16) AS b FROM kt WHERE id = 5) q ORDER BY 1 LIMIT 20) t') AS jaccard_in_order;

-- re-ranking: the binary index finds candidates, the exact distance orders them
RESET vecann.ef_search;
EXPLAIN (COSTS OFF)
SELECT id FROM (SELECT id, v FROM kt ORDER BY binary_quantize(v)::bit(16) <~> binary_quantize('[1,0,1,0,1,0,1,0,1,0,1,0,1,0,1,0]'::vector)::bit(16) LIMIT 100) c
ORDER BY v <-> '[1,0,1,0,1,0,1,0,1,0,1,0,1,0,1,0]' LIMIT 5;
SELECT nodes, unreachable_nodes, missing_rows, problems FROM hnsw_check('kt_b_ham');
DROP INDEX kt_b_ham, kt_b_jac;

-- the planner uses them at the default ef_search
CREATE INDEX kt_h ON kt USING hnsw ((v::halfvec(16)) halfvec_l2_ops);
EXPLAIN (COSTS OFF) SELECT id FROM kt ORDER BY v::halfvec(16) <-> '[1,0,1,0,1,0,1,0,1,0,1,0,1,0,1,0]' LIMIT 5;
DROP INDEX kt_h;

-- columns of the new types, rows inserted after the build, and errors
CREATE TABLE kh (id int, h halfvec(4), s sparsevec(5), b bit(8));
CREATE INDEX kh_h ON kh USING hnsw (h halfvec_l2_ops);
CREATE INDEX kh_s ON kh USING hnsw (s sparsevec_cosine_ops);
CREATE INDEX kh_b ON kh USING hnsw (b bit_hamming_ops);
INSERT INTO kh VALUES (1, '[1,2,3,4]', '{1:1,3:2}/5', B'10101010'), (2, '[4,3,2,1]', '{2:1}/5', B'11110000'),
                      (3, NULL, '{}/5', NULL);
SET enable_seqscan = off;
SELECT id FROM kh ORDER BY h <-> '[1,2,3,5]' LIMIT 1;
SELECT id FROM kh ORDER BY s <=> '{1:2,3:4}/5' LIMIT 1;
SELECT id FROM kh ORDER BY b <~> B'11110001' LIMIT 1;
SELECT id FROM kh ORDER BY h <-> '[1,2,3]' LIMIT 1;
RESET enable_seqscan;
SELECT nodes, table_rows, missing_rows, problems FROM hnsw_check('kh_s');
CREATE TABLE kw (b bit(70000), s sparsevec(2000), h halfvec);
CREATE INDEX ON kw USING hnsw (b bit_hamming_ops);
CREATE INDEX ON kw USING hnsw (s sparsevec_l2_ops);
CREATE INDEX ON kw USING hnsw (h halfvec_l2_ops);
SELECT opcname, amvalidate(c.oid) FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
WHERE amname = 'hnsw' AND opcname NOT LIKE 'vector%' ORDER BY opcname;

DROP TABLE kt, kh, kw;
DROP FUNCTION same_as_exact;
