-- avg and sum aggregates, including parallel aggregation and errors.
\set VERBOSITY terse
SELECT avg(v), sum(v) FROM (VALUES ('[1,2,3]'::vector), ('[3,2,1]'), (NULL)) t(v);
SELECT avg(v), sum(v) FROM (VALUES (NULL::vector)) t(v);
SELECT avg(v) FROM (SELECT NULL::vector AS v WHERE false) t;
SELECT avg(v) FROM (VALUES ('[1,2]'::vector), ('[1,2,3]')) t(v);
SELECT sum(v) FROM (VALUES ('[1,2]'::vector), ('[1,2,3]')) t(v);
SELECT sum(v) FROM (VALUES ('[3e38]'::vector), ('[3e38]')) t(v);
-- averages are kept in double precision: no float4 drift over many rows
SELECT avg(v) FROM (SELECT ('[' || (i % 10) || ',0.1]')::vector AS v FROM generate_series(1, 100000) i) t;

-- parallel aggregation uses the combine functions and gives the same answer
CREATE TABLE agg_t AS SELECT i, ARRAY[i % 7, i % 5, 1]::vector AS v FROM generate_series(1, 60000) i;
ANALYZE agg_t;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT avg(v), sum(v) FROM agg_t;
SELECT avg(v), sum(v) FROM agg_t;
SET max_parallel_workers_per_gather = 0;
SELECT avg(v), sum(v) FROM agg_t;
RESET max_parallel_workers_per_gather;
DROP TABLE agg_t;
