-- The ivfflat index: pgvector's DDL and operator classes, its options and
-- settings (ivfflat.probes, ivfflat.iterative_scan, ivfflat.max_probes),
-- exact answers when every list is probed, inserts, VACUUM, NULL and zero
-- vectors, and the errors for what it cannot index.
\set VERBOSITY terse
LOAD 'vecann';  -- the ivfflat.* names exist once the library is loaded
SET vecann.build_threads = 1;

-- settings: pgvector's defaults, bounds and values; the prefix is reserved
SELECT name, vartype, min_val, max_val, boot_val, enumvals FROM pg_settings
WHERE name LIKE 'ivfflat.%' ORDER BY name;
SET ivfflat.probes = 0;
SET ivfflat.probes = 32769;
SET ivfflat.max_probes = 0;
SET ivfflat.iterative_scan = strict_order;
SET ivfflat.iterative_scan = relaxed_order;
SHOW ivfflat.iterative_scan;
SET ivfflat.prboes = 10;
RESET ALL;
SET vecann.build_threads = 1;

-- 3000 points on a curve in 8 dimensions; ids 1..3000
CREATE TABLE ivf (id int PRIMARY KEY, cat int, v vector(8));
INSERT INTO ivf
SELECT i, i % 10, ARRAY[sin(i * 0.011), cos(i * 0.013), sin(i * 0.017), cos(i * 0.019),
                        sin(i * 0.023), cos(i * 0.029), sin(i * 0.031), cos(i * 0.037)]::vector
FROM generate_series(1, 3000) i;
CREATE TABLE queries (q int PRIMARY KEY, v vector(8));
INSERT INTO queries
SELECT i, ARRAY[sin(i * 0.5), cos(i * 0.3), sin(i * 0.2), cos(i * 0.7),
                sin(i * 0.9), cos(i * 0.1), sin(i * 0.4), cos(i * 0.6)]::vector
FROM generate_series(1, 20) i;

-- options
CREATE INDEX ON ivf USING ivfflat (v) WITH (lists = 0);
CREATE INDEX ON ivf USING ivfflat (v) WITH (lists = 32769);
CREATE INDEX ON ivf USING ivfflat (v) WITH (quantization = 'bit');
CREATE INDEX ON ivf USING ivfflat (v) WITH (quantization = 'f8');
CREATE INDEX ON ivf USING ivfflat (v) WITH (m = 16);
CREATE INDEX ivf_l2 ON ivf USING ivfflat (v vector_l2_ops) WITH (lists = 30);
SELECT amname, reloptions FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.relname = 'ivf_l2';
-- every operator class of the access method passes amvalidate
SELECT opcname, amvalidate(c.oid) FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
WHERE a.amname = 'ivfflat' ORDER BY opcname;

-- the planner uses the index for ORDER BY ... LIMIT
EXPLAIN (COSTS OFF) SELECT id FROM ivf ORDER BY v <-> '[0,0,0,0,0,0,0,0]' LIMIT 5;
-- and not without an ORDER BY distance
EXPLAIN (COSTS OFF) SELECT id FROM ivf WHERE v = '[0,0,0,0,0,0,0,0]';

-- exact answers: the top 10 of each query from the index, with every list
-- probed, equal those of a sequential scan; the distances too
CREATE FUNCTION knn_ids(q vector, k int) RETURNS int[] LANGUAGE sql
  AS $$ SELECT array_agg(id) FROM (SELECT id FROM ivf ORDER BY v <-> q LIMIT k) s $$;
SET enable_indexscan = off;
CREATE TEMP TABLE exact AS SELECT q, knn_ids(v, 10) AS ids FROM queries;
RESET enable_indexscan;
SET ivfflat.probes = 30;
SELECT count(*) FILTER (WHERE knn_ids(queries.v, 10) = exact.ids) AS same, count(*) AS queries
FROM queries JOIN exact USING (q);
-- recall grows with probes: one list of 30 finds fewer of the true neighbours
CREATE FUNCTION recall(probes int) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE hits int := 0;
BEGIN
  PERFORM set_config('ivfflat.probes', probes::text, true);
  SELECT sum(cardinality(ARRAY(SELECT unnest(knn_ids(queries.v, 10)) INTERSECT SELECT unnest(exact.ids))))
    INTO hits FROM queries JOIN exact USING (q);
  RETURN hits / 200.0;
END $$;
SELECT recall(1) < recall(30) AS probes_raise_recall, recall(30) AS full_recall;
RESET ivfflat.probes;

-- iterative scans: a WHERE that keeps 1 row in 10 needs more lists than
-- probes = 1 gives; the scan goes on (pgvector's off would stop), in order
CREATE FUNCTION filtered(k int) RETURNS TABLE (found bigint, ordered bool) LANGUAGE sql AS $$
  WITH r AS (SELECT row_number() OVER () AS n, d
             FROM (SELECT v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' AS d FROM ivf WHERE cat = 3
                   ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT k) s)
  SELECT count(*), coalesce(bool_and(d >= prev), true)
  FROM (SELECT d, coalesce(lag(d) OVER (ORDER BY n), 0) AS prev FROM r) t $$;
SET enable_seqscan = off;
SELECT found > 30 AS went_on, ordered FROM filtered(150);
SET ivfflat.iterative_scan = relaxed_order;
-- relaxed_order returns every matching row (300), some out of order
SELECT * FROM filtered(1000);
-- max_probes bounds how many lists the scan reads
SET ivfflat.max_probes = 2;
SELECT found < 300 AS bounded FROM filtered(1000);
RESET ivfflat.max_probes;
RESET ivfflat.iterative_scan;
-- 2,000 scattered 2-d points in 20 lists, probes 1: a scan that goes on
-- returns rows in order and misses only rows closer than the first list's
-- nearer half; a WHERE that keeps 20 rows gets all 20, under L2, cosine
-- stored as i8 (keys rechecked by the executor), and inner product
CREATE TABLE scatter (id int, v vector(2));
INSERT INTO scatter
SELECT i, ARRAY[sin(i * 12.9898) * 43758.5453 - floor(sin(i * 12.9898) * 43758.5453),
                sin(i * 78.233) * 43758.5453 - floor(sin(i * 78.233) * 43758.5453)]::vector
FROM generate_series(1, 2000) i;
CREATE INDEX scatter_l2 ON scatter USING ivfflat (v) WITH (lists = 20);
CREATE FUNCTION scatter_scan(op text, q vector, k int, filter text DEFAULT 'true')
  RETURNS TABLE (found bigint, distinct_ids bigint, ordered bool) LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY EXECUTE format(
    'WITH r AS (SELECT id, d, row_number() OVER () AS n FROM (SELECT id, v %1$s $1 AS d FROM scatter
                WHERE %2$s ORDER BY v %1$s $1 LIMIT %3$s) s)
     SELECT count(*), count(DISTINCT id), coalesce(bool_and(d >= prev), true)
     FROM (SELECT id, d, lag(d) OVER (ORDER BY n) AS prev FROM r) t', op, filter, k) USING q;
END $$;
SELECT found > 1800 AS nearly_all, found = distinct_ids AS no_duplicates, ordered
FROM scatter_scan('<->', '[0.5,0.5]', 2000);
SELECT found, ordered FROM scatter_scan('<->', '[0.2,0.7]', 20, 'id % 100 = 0');
CREATE INDEX scatter_i8 ON scatter USING ivfflat (v vector_cosine_ops) WITH (lists = 20, quantization = 'i8');
SELECT found > 1800 AS nearly_all, ordered FROM scatter_scan('<=>', '[0.5,0.2]', 2000);
SELECT found, ordered FROM scatter_scan('<=>', '[0.2,0.7]', 20, 'id % 100 = 0');
CREATE INDEX scatter_ip ON scatter USING ivfflat (v vector_ip_ops) WITH (lists = 20);
SELECT found > 1000 AS most, ordered FROM scatter_scan('<#>', '[0.5,0.2]', 2000);
DROP TABLE scatter;
DROP FUNCTION scatter_scan;
RESET enable_seqscan;

-- inserts after the build join their lists; NULLs are not indexed
INSERT INTO ivf VALUES (3001, 0, '[9,9,9,9,9,9,9,9]'), (3002, 0, NULL);
SELECT id FROM ivf ORDER BY v <-> '[9,9,9,9,9,9,9,8.9]' LIMIT 1;
SET enable_seqscan = off;
SET ivfflat.iterative_scan = relaxed_order;
SELECT count(*) FROM (SELECT id FROM ivf ORDER BY v <-> '[9,9,9,9,9,9,9,9]' LIMIT 5000) s;
-- VACUUM removes deleted rows from the lists
DELETE FROM ivf WHERE id > 2000;
VACUUM ivf;
SELECT count(*), max(id) FROM (SELECT id FROM ivf ORDER BY v <-> '[9,9,9,9,9,9,9,9]' LIMIT 5000) s;
-- ORDER BY a NULL distance returns every indexed row
SELECT count(*) FROM (SELECT id FROM ivf ORDER BY v <-> NULL LIMIT 5000) s;
RESET ALL;
SET vecann.build_threads = 1;
-- a query of other dimensions
SELECT id FROM ivf ORDER BY v <-> '[1,2,3]' LIMIT 1;
DROP INDEX ivf_l2;

-- inner product, cosine, and cosine stored as i8: exact answers with every
-- list probed (the i8 index orders by lower bounds the executor rechecks)
CREATE FUNCTION same_as_seqscan(op text) RETURNS bool LANGUAGE plpgsql AS $$
DECLARE a int[]; b int[]; ok bool := true; qv vector;
BEGIN
  FOR qv IN SELECT v FROM queries LOOP
    SET LOCAL enable_indexscan = off;
    EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM ivf ORDER BY v %s $1, id LIMIT 10) s', op) INTO a USING qv;
    SET LOCAL enable_indexscan = on;
    SET LOCAL enable_seqscan = off;
    SET LOCAL ivfflat.probes = 1000;
    EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM ivf ORDER BY v %s $1 LIMIT 10) s', op) INTO b USING qv;
    ok := ok AND a = b;
  END LOOP;
  RETURN ok;
END $$;
CREATE INDEX ivf_ip ON ivf USING ivfflat (v vector_ip_ops) WITH (lists = 20);
SELECT same_as_seqscan('<#>');
DROP INDEX ivf_ip;
CREATE INDEX ivf_cos ON ivf USING ivfflat (v vector_cosine_ops) WITH (lists = 20);
SELECT same_as_seqscan('<=>');
DROP INDEX ivf_cos;
CREATE INDEX ivf_i8 ON ivf USING ivfflat (v vector_cosine_ops) WITH (lists = 20, quantization = 'i8');
SELECT same_as_seqscan('<=>');
DROP INDEX ivf_i8;
CREATE INDEX ivf_f16 ON ivf USING ivfflat (v vector_l2_ops) WITH (lists = 20, quantization = 'f16');
SELECT same_as_seqscan('<->');
DROP INDEX ivf_f16;
-- a zero vector has no cosine distance: not indexed, and as a query every row ties
CREATE TABLE z (id int, v vector(2));
INSERT INTO z VALUES (1, '[0,0]'), (2, '[1,0]'), (3, '[0,1]');
CREATE INDEX ON z USING ivfflat (v vector_cosine_ops) WITH (lists = 2);
SET enable_seqscan = off;
SELECT id FROM z ORDER BY v <=> '[1,0.1]' LIMIT 3;
SELECT count(*) FROM (SELECT id FROM z ORDER BY v <=> '[0,0]' LIMIT 3) s;
RESET enable_seqscan;

-- halfvec and bit
CREATE TABLE h (id int, v halfvec(4), b bit(16));
INSERT INTO h SELECT i, ARRAY[i % 7, i % 5, i % 3, i % 11]::halfvec(4),
                     (i * 2654435761 % 65536)::int::bit(16) FROM generate_series(1, 500) i;
CREATE INDEX h_l2 ON h USING ivfflat (v halfvec_l2_ops) WITH (lists = 5);
CREATE INDEX h_ip ON h USING ivfflat (v halfvec_ip_ops) WITH (lists = 5);
CREATE INDEX h_cos ON h USING ivfflat (v halfvec_cosine_ops) WITH (lists = 5);
CREATE INDEX h_bit ON h USING ivfflat (b bit_hamming_ops) WITH (lists = 5);
SET enable_seqscan = off;
SET ivfflat.probes = 5;
CREATE TEMP TABLE idx AS
SELECT (SELECT array_agg(v <-> '[1,2,3,4]') FROM (SELECT v FROM h ORDER BY v <-> '[1,2,3,4]' LIMIT 5) s) AS l2,
       (SELECT array_agg(v <#> '[1,2,3,4]') FROM (SELECT v FROM h ORDER BY v <#> '[1,2,3,4]' LIMIT 5) s) AS ip,
       (SELECT array_agg(v <=> '[1,2,3,4]') FROM (SELECT v FROM h ORDER BY v <=> '[1,2,3,4]' LIMIT 5) s) AS cos,
       (SELECT array_agg(b <~> '1010101010101010') FROM (SELECT b FROM h ORDER BY b <~> '1010101010101010' LIMIT 5) s) AS ham;
RESET enable_seqscan;
SET enable_indexscan = off;
SELECT idx.l2 = (SELECT array_agg(v <-> '[1,2,3,4]') FROM (SELECT v FROM h ORDER BY v <-> '[1,2,3,4]' LIMIT 5) s) AS l2,
       idx.ip = (SELECT array_agg(v <#> '[1,2,3,4]') FROM (SELECT v FROM h ORDER BY v <#> '[1,2,3,4]' LIMIT 5) s) AS ip,
       idx.cos = (SELECT array_agg(v <=> '[1,2,3,4]') FROM (SELECT v FROM h ORDER BY v <=> '[1,2,3,4]' LIMIT 5) s) AS cos,
       idx.ham = (SELECT array_agg(b <~> '1010101010101010') FROM (SELECT b FROM h ORDER BY b <~> '1010101010101010' LIMIT 5) s) AS ham
FROM idx;
RESET ALL;
SET vecann.build_threads = 1;

-- what ivfflat cannot index
CREATE TABLE bad (v vector, s sparsevec(4), b bit(8), vb varbit(8), big vector(3000), j bit(8));
CREATE INDEX ON bad USING ivfflat (v);
CREATE INDEX ON bad USING ivfflat (s);
CREATE INDEX ON bad USING ivfflat (b bit_hamming_ops) WITH (quantization = 'i8');
CREATE INDEX ON bad USING ivfflat (vb bit_hamming_ops);
CREATE INDEX ON bad USING ivfflat (big);
CREATE INDEX ON bad USING ivfflat (j bit_jaccard_ops);
-- an empty table: one NOTICE, and the index works once rows arrive
CREATE TABLE empty (id int, v vector(2));
CREATE INDEX ON empty USING ivfflat (v) WITH (lists = 4);
INSERT INTO empty SELECT i, ARRAY[i, -i]::vector FROM generate_series(1, 100) i;
SET enable_seqscan = off;
SELECT id FROM empty ORDER BY v <-> '[50,-50]' LIMIT 3;
-- an unlogged table's index
CREATE UNLOGGED TABLE u (id int, v vector(2));
CREATE INDEX ON u USING ivfflat (v) WITH (lists = 1);
INSERT INTO u VALUES (1, '[1,1]'), (2, '[2,2]');
SELECT id FROM u ORDER BY v <-> '[2,2]' LIMIT 1;
RESET ALL;
DROP TABLE ivf, queries, z, h, bad, empty, u;
DROP FUNCTION knn_ids, recall, filtered, same_as_seqscan;
