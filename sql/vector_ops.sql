-- Distance operators and functions, norms, arithmetic, comparisons and the
-- btree opclass; dimension mismatches and overflow errors.
\set VERBOSITY terse
SELECT '[1,2,3]'::vector <-> '[3,2,1]' AS l2,
       l2_distance('[1,2,3]', '[3,2,1]') AS l2_fn,
       '[1,2,3]'::vector <#> '[3,2,1]' AS neg_ip,
       inner_product('[1,2,3]', '[3,2,1]') AS ip,
       '[1,2,3]'::vector <=> '[3,2,1]' AS cosine,
       cosine_distance('[1,2,3]', '[3,2,1]') AS cosine_fn,
       '[1,2,3]'::vector <+> '[3,2,1]' AS l1,
       l1_distance('[1,2,3]', '[3,2,1]') AS l1_fn;
SELECT vector_l2_squared_distance('[0,0]', '[3,4]');
-- cosine edge cases: identical, opposite, and a zero vector (NaN, documented)
SELECT '[1,1]'::vector <=> '[2,2]' AS same_direction,
       '[1,1]'::vector <=> '[-1,-1]' AS opposite,
       '[0,0]'::vector <=> '[1,1]' AS zero_vector;
-- rows with a zero vector sort last under <=> (NaN sorts after numbers)
SELECT v FROM (VALUES ('[0,0]'::vector), ('[1,0]'), ('[1,1]')) t(v) ORDER BY v <=> '[1,0]';
-- long vectors take the SIMD path with a tail
SELECT round((array_fill(1, ARRAY[1001])::vector <-> array_fill(2, ARRAY[1001])::vector)::numeric, 4);
SELECT inner_product(array_fill(0.5, ARRAY[1537])::vector, array_fill(2, ARRAY[1537])::vector);
-- mismatched dimensions
SELECT '[1,2]'::vector <-> '[1,2,3]';
SELECT '[1,2]'::vector <#> '[1,2,3]';
SELECT '[1,2]'::vector <=> '[1,2,3]';
SELECT l1_distance('[1,2]', '[1,2,3]');
SELECT '[1,2]'::vector + '[1,2,3]';

SELECT vector_dims('[1,2,3]'), vector_norm('[3,4]'), vector_norm('[0,0]');
SELECT l2_normalize('[3,4]'), l2_normalize('[0,0]'), vector_norm(l2_normalize('[1,2,3]'));

SELECT '[1,2]'::vector + '[3,4]', '[1,2]'::vector - '[3,4]', '[1,2]'::vector * '[3,4]';
SELECT '[3e38]'::vector + '[3e38]';
SELECT '[-3e38]'::vector - '[3e38]';
SELECT '[1e38]'::vector * '[10]';
SELECT '[1e-30]'::vector * '[1e-30]';

SELECT '[1,2]'::vector = '[1,2]', '[1,2]'::vector <> '[1,2]', '[1,2]'::vector < '[1,3]',
       '[1,2]'::vector < '[1,2,0]', '[2]'::vector > '[1,9]', '[1,2]'::vector <= '[1,2]',
       '[1,2]'::vector >= '[1,3]';
SELECT vector_cmp('[1,2]', '[1,2]'), vector_cmp('[1,2]', '[0,5]'), vector_cmp('[1]', '[1,0]');
CREATE TABLE ops_t (v vector);
INSERT INTO ops_t VALUES ('[2,1]'), ('[1,2,3]'), ('[1,2]'), ('[-1,5]'), (NULL), ('[1,2]');
SELECT v FROM ops_t ORDER BY v;
CREATE INDEX ON ops_t USING btree (v);
SET enable_seqscan = off;
SELECT v FROM ops_t WHERE v = '[1,2]';
EXPLAIN (COSTS OFF) SELECT v FROM ops_t WHERE v = '[1,2]';
RESET enable_seqscan;
SELECT DISTINCT v FROM ops_t ORDER BY v;
DROP TABLE ops_t;

-- distances of values whose float32 sums overflow are summed again in
-- double precision: true values, never inf or a wrong cosine
SELECT '[3e38]'::vector <-> '[-3e38]' AS l2, l2_distance('[3e38,0]', '[0,3e38]') AS l2_diag,
       inner_product('[3e38,3e38]', '[2,2]') AS ip, '[3e38,1]'::vector <#> '[2,1]' AS neg_ip,
       l1_distance('[3e38,3e38]', '[-3e38,0]') AS l1;
SELECT round(cosine_distance('[1e20,0]', '[1,1]')::numeric, 6) AS cos, cosine_distance('[3e38,3e38]', '[1,1]') AS cos_same;

-- every function is immutable, strict and parallel safe, but for the SIMD
-- report (stable), the index handler and the index checker (volatile)
SELECT p.proname, p.provolatile, p.proisstrict, p.proparallel
FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
JOIN pg_extension e ON e.oid = d.refobjid
WHERE e.extname = 'vecann' AND (p.provolatile <> 'i' OR NOT p.proisstrict OR p.proparallel <> 's')
  AND p.prokind = 'f'
ORDER BY 1;
SELECT vecann_simd_target() IN ('AVX3_SPR', 'AVX3_ZEN4', 'AVX3_DL', 'AVX3', 'AVX2', 'SSE4', 'SSSE3', 'EMU128', 'SCALAR', 'NEON', 'SVE', 'SVE2') AS known_target;
