-- Text and binary I/O of the vector type, typmods, and every input error.
\set VERBOSITY terse
SELECT '[1,2,3]'::vector;
SELECT '[-1.5, 2.25 ,3e2 ]'::vector;
SELECT '  [ 1 ,2 ]  '::vector;
SELECT '[+1,.5,5.,1E-3]'::vector;
SELECT '[0.1,1e-7,1e20,-0]'::vector;
SELECT '[3.4028235e38,-1.17549435e-38,1.4e-45]'::vector;
-- round trip of awkward floats through text
SELECT v::text::vector = v FROM (SELECT '[0.1,0.2,0.30000001,1.00000012,16777217]'::vector AS v) t;
-- underflow rounds to zero, as float4 input of tiny values does
SELECT '[1e-50]'::vector;

-- malformed literals name the position
\set VERBOSITY default
SELECT '[1,,2]'::vector;
\set VERBOSITY terse
SELECT ''::vector;
SELECT '1,2'::vector;
SELECT '[1,2'::vector;
SELECT '[1 2]'::vector;
SELECT '[1,2]x'::vector;
SELECT '[1,a]'::vector;
SELECT '[1.2.3]'::vector;
SELECT '[0x10]'::vector;
SELECT '[[1]]'::vector;
SELECT '[]'::vector;
SELECT '[ ]'::vector;
SELECT '[NaN]'::vector;
SELECT '[1,Infinity]'::vector;
SELECT '[-inf]'::vector;
SELECT '[1e39]'::vector;
SELECT '[-1e400]'::vector;

-- dimension limits
SELECT vector_dims(array_fill(1, ARRAY[16000])::vector);
SELECT array_fill(1, ARRAY[16001])::vector;
SELECT ('[' || array_to_string(array_fill(1, ARRAY[16001]), ',') || ']')::vector;

-- typmods
SELECT '[1,2,3]'::vector(3);
SELECT '[1,2]'::vector(3);
SELECT '[1,2,3]'::vector(2);
SELECT '[1]'::vector(0);
SELECT '[1]'::vector(16001);
SELECT '[1]'::vector(1, 2);
CREATE TABLE io_t (v vector(3));
INSERT INTO io_t VALUES ('[1,2,3]'), (NULL);
INSERT INTO io_t VALUES ('[1,2]');
INSERT INTO io_t VALUES ('[1,2,3,4]'::vector);
SELECT * FROM io_t;
\d io_t

-- binary send format: int16 dims, int16 0, big-endian float4s
SELECT vector_send('[1,-2,0.5]');
-- binary round trip through COPY
CREATE TABLE io_bin (id int, v vector);
INSERT INTO io_bin VALUES (1, '[1,2.5,-3]'), (2, '[3.4028235e38,1.4e-45]'), (3, NULL);
\copy io_bin TO '/tmp/vecann_regress_io.bin' WITH (FORMAT binary)
CREATE TABLE io_bin2 (LIKE io_bin);
\copy io_bin2 FROM '/tmp/vecann_regress_io.bin' WITH (FORMAT binary)
SELECT a.id, a.v, b.v, a.v = b.v AS same FROM io_bin a JOIN io_bin2 b USING (id) ORDER BY id;
-- a binary vector must match a typmod too
CREATE TABLE io_bin3 (id int, v vector(2));
\copy io_bin3 FROM '/tmp/vecann_regress_io.bin' WITH (FORMAT binary)

DROP TABLE io_t, io_bin, io_bin2, io_bin3;
