-- vecann upgrade script 0.1.0 -> 0.2.0: subvector() and the vector
-- concatenation operator ||. sql/vecann.sql (the full 0.2.0 script) creates
-- the same objects; test/t/002_operations.pl checks that an updated
-- extension's objects equal a fresh install's.

\echo Use "ALTER EXTENSION vecann UPDATE TO '0.2.0'" to load this file. \quit

CREATE FUNCTION subvector(vector, integer, integer) RETURNS vector
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_concat(vector, vector) RETURNS vector
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR || (LEFTARG = vector, RIGHTARG = vector, PROCEDURE = vector_concat);

-- The HNSW operator class for L1 distance.
CREATE OPERATOR CLASS vector_l1_ops FOR TYPE vector USING hnsw AS
  OPERATOR 1 <+> (vector, vector) FOR ORDER BY float_ops,
  FUNCTION 1 l1_distance(vector, vector);
