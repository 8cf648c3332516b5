-- What an ordinary role can do with vecann's SQL surface: it cannot gain
-- privileges through hnsw_check, check indexes of tables it does not own,
-- crash the server with hand-built aggregate states, index another type's
-- bytes as a key, or start threads at will. Run as superuser, acting as the
-- roles with SET ROLE.
\set VERBOSITY terse
CREATE ROLE vecann_attacker LOGIN;
CREATE ROLE vecann_victim LOGIN;
GRANT CREATE ON SCHEMA public TO vecann_attacker, vecann_victim;

-- 1. hnsw_check reads the table, which evaluates index expressions: as the
-- table's owner, in a security-restricted operation, never as the caller.
SET ROLE vecann_attacker;
-- An index expression may only call IMMUTABLE functions; nothing stops one
-- from calling a VOLATILE one that does anything its caller may do.
CREATE FUNCTION attacker_escalate() RETURNS void LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  RAISE NOTICE 'index expression runs as %', current_user;
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    EXECUTE 'ALTER ROLE vecann_attacker SUPERUSER';
  END IF;
END $$;
CREATE FUNCTION attacker_fn(v vector) RETURNS vector LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  PERFORM public.attacker_escalate();  -- qualified: 17+ restrict search_path here
  RETURN v;
END $$;
CREATE TABLE attacker_t (v vector(3));
INSERT INTO attacker_t VALUES ('[1,2,3]');
CREATE INDEX attacker_idx ON attacker_t USING hnsw ((attacker_fn(v)::vector(3)) vector_l2_ops);
RESET ROLE;
SELECT nodes, table_rows, missing_rows, problems FROM hnsw_check('attacker_idx');
SELECT rolsuper FROM pg_roles WHERE rolname = 'vecann_attacker';
-- A scan of a quantization = 'bit' index re-ranks candidates by the index's
-- expression, read from the table: also as the table's owner. (The query's
-- own ORDER BY expression runs as the querying role, as any SQL does.)
SET ROLE vecann_attacker;
CREATE FUNCTION attacker_report() RETURNS void LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  RAISE NOTICE 'expression runs as %', current_user;
END $$;
CREATE FUNCTION attacker_fn2(v vector) RETURNS vector LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  PERFORM public.attacker_report();
  RETURN v;
END $$;
CREATE TABLE attacker_q (v vector(3));
INSERT INTO attacker_q VALUES ('[1,2,3]');
CREATE INDEX attacker_bit_idx ON attacker_q USING hnsw ((attacker_fn2(v)::vector(3)) vector_l2_ops)
  WITH (quantization = 'bit');
RESET ROLE;
SET enable_seqscan = off;
SELECT 1 FROM attacker_q ORDER BY (attacker_fn2(v)::vector(3)) <-> '[1,2,3]' LIMIT 1;
RESET enable_seqscan;

-- 2. Who may run hnsw_check: the table's owner or pg_stat_scan_tables, once
-- granted the function; nobody else, whatever the grant.
SET ROLE vecann_victim;
CREATE TABLE victim_t (id int, v vector(3));
INSERT INTO victim_t VALUES (1, '[1,1,1]'), (2, '[2,2,2]');
CREATE INDEX victim_idx ON victim_t USING hnsw (v vector_l2_ops);
RESET ROLE;
SET ROLE vecann_attacker;
SELECT nodes FROM hnsw_check('victim_idx');
RESET ROLE;
GRANT EXECUTE ON FUNCTION hnsw_check(regclass) TO vecann_attacker, vecann_victim;
SET ROLE vecann_attacker;
SELECT nodes FROM hnsw_check('victim_idx');
SELECT nodes FROM hnsw_check('attacker_t');
RESET ROLE;
SET ROLE vecann_victim;
SELECT nodes, table_rows FROM hnsw_check('victim_idx');
RESET ROLE;
GRANT pg_stat_scan_tables TO vecann_attacker;
SET ROLE vecann_attacker;
SELECT nodes, table_rows FROM hnsw_check('victim_idx');
RESET ROLE;
REVOKE pg_stat_scan_tables FROM vecann_attacker;

-- 3. Aggregate states built by hand are validated like input.
SET ROLE vecann_attacker;
SELECT vector_avg(array_fill(1::float8, ARRAY[40001]));
SELECT vector_avg(array_fill(1::float8, ARRAY[16002]));
SELECT vector_dims(vector_avg(array_fill(1::float8, ARRAY[16001])));
SELECT vector_avg('{2,1,3}');
SELECT vector_avg('{0}');
SELECT vector_avg('{}');
SELECT vector_avg('{{1,2}}');
SELECT vector_avg('{1,NULL}');
SELECT vector_avg('{-1,1}');
SELECT vector_avg('{0,1}');
SELECT vector_avg('{0.5,1}');
SELECT vector_avg('{1,NaN}');
SELECT vector_avg('{Infinity,1}');
SELECT vector_avg('{1,1e300}');
SELECT vector_accum('{1,2,3}', '[1,2]');
SELECT vector_accum(array_fill(1::float8, ARRAY[40001]), '[1]');
SELECT vector_accum('{1,1e308}', '[3e38]');
SELECT vector_combine('{1,2}', array_fill(1::float8, ARRAY[40001]));
SELECT vector_combine('{1,1.5e308}', '{1,1.5e308}');
SELECT vector_combine('{0}', '{2,4,6}');
SELECT halfvec_avg(array_fill(1::float8, ARRAY[40001]));
SELECT halfvec_avg('{2,1,3}');
SELECT halfvec_avg('{1,1e6}');
SELECT halfvec_accum(array_fill(1::float8, ARRAY[32769]), '[1]');
SELECT halfvec_accum('{1,2}', '[1]');

-- 4. Key types are vecann's types themselves: bit varying is binary-coercible
-- to bit but has another layout, and is refused; a domain over vector works.
CREATE TABLE attacker_vb (c varbit(64));
INSERT INTO attacker_vb VALUES (B'101'), (B'1111');
CREATE INDEX ON attacker_vb USING hnsw (c bit_hamming_ops);
CREATE INDEX attacker_vb_cast ON attacker_vb USING hnsw ((c::bit(64)) bit_hamming_ops);
CREATE DOMAIN attacker_vec AS vector(3);
CREATE TABLE attacker_dom (v attacker_vec);
INSERT INTO attacker_dom VALUES ('[1,2,3]'), ('[3,2,1]');
CREATE INDEX attacker_dom_idx ON attacker_dom USING hnsw (v vector_l2_ops);
SET enable_seqscan = off;
SELECT v FROM attacker_dom ORDER BY v <-> '[3,2,1]' LIMIT 1;
RESET enable_seqscan;

-- 5. Threads are the server's to give.
SET vecann.build_threads = 8;
SHOW vecann.build_threads;
RESET ROLE;

DROP OWNED BY vecann_attacker, vecann_victim;
DROP ROLE vecann_attacker, vecann_victim;
