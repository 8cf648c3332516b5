-- HNSW index DDL: options and their bounds, opclasses, dimension limits,
-- settings, NULLs and zero vectors, unlogged tables, REINDEX, TRUNCATE.
\set VERBOSITY terse
CREATE TABLE ddl_t (id int, v vector(3));
INSERT INTO ddl_t VALUES (1, '[1,2,3]'), (2, '[4,5,6]'), (3, NULL), (4, '[0,0,0]');

CREATE INDEX ddl_l2 ON ddl_t USING hnsw (v vector_l2_ops);
CREATE INDEX ddl_ip ON ddl_t USING hnsw (v vector_ip_ops);
CREATE INDEX ddl_cos ON ddl_t USING hnsw (v vector_cosine_ops);
CREATE INDEX ddl_default ON ddl_t USING hnsw (v);
CREATE INDEX ddl_opts ON ddl_t USING hnsw (v) WITH (m = 8, ef_construction = 40);
\d ddl_t
-- NULLs are not indexed; the zero vector has no direction, so cosine skips it
SELECT nodes, table_rows, missing_rows, problems FROM hnsw_check('ddl_l2');
SELECT nodes, table_rows, missing_rows, problems FROM hnsw_check('ddl_cos');

-- option bounds
CREATE INDEX ON ddl_t USING hnsw (v) WITH (m = 1);
CREATE INDEX ON ddl_t USING hnsw (v) WITH (m = 101);
CREATE INDEX ON ddl_t USING hnsw (v) WITH (ef_construction = 3);
CREATE INDEX ON ddl_t USING hnsw (v) WITH (ef_construction = 1001);
CREATE INDEX ON ddl_t USING hnsw (v) WITH (m = 40, ef_construction = 64);
CREATE INDEX ON ddl_t USING hnsw (v) WITH (nonsense = 1);
CREATE INDEX ON ddl_t USING hnsw (v, v);
CREATE INDEX ON ddl_t USING hnsw (id);

-- dimensions: needed, and bounded by the page
CREATE TABLE ddl_nodims (v vector);
CREATE INDEX ON ddl_nodims USING hnsw (v);
CREATE INDEX ON ddl_nodims USING hnsw ((v::vector(3)));
CREATE TABLE ddl_wide (v vector(1988));
CREATE INDEX ON ddl_wide USING hnsw (v);
CREATE TABLE ddl_too_wide (v vector(1989));
CREATE INDEX ON ddl_too_wide USING hnsw (v);
CREATE INDEX ON ddl_too_wide USING hnsw (v) WITH (m = 8, ef_construction = 16);
INSERT INTO ddl_nodims VALUES ('[1,2,3]');
INSERT INTO ddl_nodims VALUES ('[1,2]');

-- the operator classes pass amvalidate
SELECT opcname, amvalidate(c.oid) FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
WHERE amname = 'hnsw' AND opcname LIKE 'vector%' ORDER BY opcname;

-- settings and their bounds
SHOW vecann.ef_search;
SET vecann.ef_search = 0;
SET vecann.ef_search = 1001;
SET vecann.ef_search = 100;
SHOW vecann.ef_search;
RESET vecann.ef_search;
SET vecann.max_scan_tuples = 0;
SET vecann.build_threads = 65;
SET vecann.no_such_setting = 1;

-- unlogged tables get an init fork; REINDEX, CONCURRENTLY and TRUNCATE work
CREATE UNLOGGED TABLE ddl_unlogged (v vector(2));
CREATE INDEX ddl_unlogged_idx ON ddl_unlogged USING hnsw (v);
INSERT INTO ddl_unlogged VALUES ('[1,1]'), ('[2,2]');
SELECT nodes, missing_rows FROM hnsw_check('ddl_unlogged_idx');
REINDEX INDEX ddl_l2;
REINDEX INDEX CONCURRENTLY ddl_ip;
CREATE INDEX CONCURRENTLY ddl_conc ON ddl_t USING hnsw (v vector_l2_ops);
SELECT nodes, table_rows, missing_rows FROM hnsw_check('ddl_conc');
TRUNCATE ddl_t;
SELECT nodes, table_rows FROM hnsw_check('ddl_l2');
INSERT INTO ddl_t VALUES (5, '[1,1,1]');
SELECT nodes, table_rows, missing_rows FROM hnsw_check('ddl_l2');
DROP INDEX ddl_conc;
SELECT * FROM hnsw_check('ddl_t');
-- options that cannot build are refused before CREATE INDEX CONCURRENTLY
-- makes its catalog entry (no invalid index is left behind)
CREATE INDEX CONCURRENTLY ddl_bad_conc ON ddl_t USING hnsw (v) WITH (m = 48);
SELECT count(*) FROM pg_class WHERE relname = 'ddl_bad_conc';
ALTER INDEX ddl_l2 SET (m = 40);
-- an invalid index (a concurrent build that failed), and a partitioned index,
-- cannot be checked; their partitions' indexes can
CREATE TABLE ddl_dup (id int, v vector(2));
INSERT INTO ddl_dup VALUES (1, '[1,1]'), (1, '[2,2]');
CREATE INDEX CONCURRENTLY ddl_dup_v ON ddl_dup USING hnsw (v) WHERE 1 / (id - 1) > 0;
SELECT indisvalid FROM pg_index WHERE indexrelid = 'ddl_dup_v'::regclass;
SELECT * FROM hnsw_check('ddl_dup_v');
CREATE TABLE ddl_parted (id int, v vector(2)) PARTITION BY RANGE (id);
CREATE TABLE ddl_parted_a PARTITION OF ddl_parted DEFAULT;
INSERT INTO ddl_parted VALUES (1, '[1,1]');
CREATE INDEX ddl_parted_v ON ddl_parted USING hnsw (v);
SELECT * FROM hnsw_check('ddl_parted_v');
SELECT nodes, table_rows FROM hnsw_check('ddl_parted_a_v_idx');
DROP TABLE ddl_dup, ddl_parted;

-- a cancelled build (statement_timeout) stops and leaves no index behind
CREATE TABLE ddl_big (v vector(64));
INSERT INTO ddl_big SELECT (SELECT array_agg(random()) FROM generate_series(1, 64) WHERE g > 0)::vector
FROM generate_series(1, 20000) g;
SET statement_timeout = '50ms';
CREATE INDEX ddl_big_idx ON ddl_big USING hnsw (v);
RESET statement_timeout;
SELECT count(*) FROM pg_class WHERE relname = 'ddl_big_idx';
-- one build thread, and the slow path past maintenance_work_mem (with a NOTICE)
SET vecann.build_threads = 1;
SET maintenance_work_mem = '6MB';
CREATE TABLE ddl_slow AS SELECT * FROM ddl_big LIMIT 4000;
CREATE INDEX ddl_slow_idx ON ddl_slow USING hnsw (v);
RESET maintenance_work_mem;
RESET vecann.build_threads;
SELECT nodes, table_rows, missing_rows, problems FROM hnsw_check('ddl_slow_idx');

DROP TABLE ddl_t, ddl_nodims, ddl_wide, ddl_too_wide, ddl_unlogged, ddl_big, ddl_slow;
