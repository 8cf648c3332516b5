-- vecann upgrade script 0.2.0 -> 0.3.0: the ivfflat index access method and its
-- operator classes. sql/vecann.sql (the full 0.3.0 script) creates the same
-- objects; test/t/003_update_and_privileges.pl checks that an updated
-- extension's objects equal a fresh install's.
\echo Use "ALTER EXTENSION vecann UPDATE TO '0.3.0'" to load this file. \quit

-- ---- ivfflat index access method ----------------------------------------------------

CREATE FUNCTION ivfflat_handler(internal) RETURNS index_am_handler
  AS 'MODULE_PATHNAME' LANGUAGE C;

CREATE ACCESS METHOD ivfflat TYPE INDEX HANDLER ivfflat_handler;
COMMENT ON ACCESS METHOD ivfflat IS 'vecann inverted-file index (k-means lists) for approximate nearest-neighbour search';

-- pgvector's ivfflat operator classes, with the hnsw ones' support functions:
-- 1 the distance, 2 (cosine) normalize first.
CREATE OPERATOR CLASS vector_l2_ops DEFAULT FOR TYPE vector USING ivfflat AS
  OPERATOR 1 <-> (vector, vector) FOR ORDER BY float_ops,
  FUNCTION 1 vector_l2_squared_distance(vector, vector);
CREATE OPERATOR CLASS vector_ip_ops FOR TYPE vector USING ivfflat AS
  OPERATOR 1 <#> (vector, vector) FOR ORDER BY float_ops,
  FUNCTION 1 vector_negative_inner_product(vector, vector);
CREATE OPERATOR CLASS vector_cosine_ops FOR TYPE vector USING ivfflat AS
  OPERATOR 1 <=> (vector, vector) FOR ORDER BY float_ops,
  FUNCTION 1 vector_negative_inner_product(vector, vector),
  FUNCTION 2 vector_norm(vector);
CREATE OPERATOR CLASS halfvec_l2_ops FOR TYPE halfvec USING ivfflat AS
  OPERATOR 1 <-> (halfvec, halfvec) FOR ORDER BY float_ops,
  FUNCTION 1 halfvec_l2_squared_distance(halfvec, halfvec);
CREATE OPERATOR CLASS halfvec_ip_ops FOR TYPE halfvec USING ivfflat AS
  OPERATOR 1 <#> (halfvec, halfvec) FOR ORDER BY float_ops,
  FUNCTION 1 halfvec_negative_inner_product(halfvec, halfvec);
CREATE OPERATOR CLASS halfvec_cosine_ops FOR TYPE halfvec USING ivfflat AS
  OPERATOR 1 <=> (halfvec, halfvec) FOR ORDER BY float_ops,
  FUNCTION 1 halfvec_negative_inner_product(halfvec, halfvec),
  FUNCTION 2 l2_norm(halfvec);
CREATE OPERATOR CLASS bit_hamming_ops FOR TYPE bit USING ivfflat AS
  OPERATOR 1 <~> (bit, bit) FOR ORDER BY float_ops,
  FUNCTION 1 hamming_distance(bit, bit);
