-- Casts between vector and arrays, with their errors.
\set VERBOSITY terse
SELECT ARRAY[1,2,3]::vector, ARRAY[1.5,2.5]::real[]::vector, ARRAY[1.5,2.5]::double precision[]::vector,
       ARRAY[1.25,-2]::numeric[]::vector;
SELECT '[1.5,2,-3]'::vector::real[], '[1.5,2,-3]'::vector::double precision[],
       '[1.5,2,-3]'::vector::numeric[], '[1.5,2.5,-3]'::vector::integer[];
SELECT ARRAY[1,2]::vector(2), ARRAY[1,2]::vector(3);
SELECT '{}'::integer[]::vector;
SELECT ARRAY[1,NULL]::vector;
SELECT ARRAY[[1,2],[3,4]]::vector;
SELECT ARRAY['NaN']::real[]::vector;
SELECT ARRAY['Infinity']::double precision[]::vector;
SELECT ARRAY[1e39]::double precision[]::vector;
SELECT ARRAY[1e39]::numeric[]::vector;
SELECT ARRAY['NaN']::numeric[]::vector;
SELECT '[3e9]'::vector::integer[];
-- assignment casts let arrays go into vector columns
CREATE TABLE cast_t (v vector(2));
INSERT INTO cast_t VALUES (ARRAY[1,2]), (ARRAY[1.5,2]::real[]), (ARRAY[1.5,2]::float8[]), (ARRAY[1.5,2]::numeric[]);
INSERT INTO cast_t VALUES (ARRAY[1,2,3]);
SELECT * FROM cast_t;
-- vector to real[] is implicit, as in pgvector
CREATE FUNCTION cast_first(a real[]) RETURNS real LANGUAGE sql AS 'SELECT a[1]';
SELECT cast_first('[7,8]'::vector);
DROP FUNCTION cast_first;
DROP TABLE cast_t;
