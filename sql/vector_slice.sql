-- subvector() and the || operator (added in 0.2.0): results, pgvector's
-- substring-like clamping, every error, and typmods of the results.

SELECT subvector('[1,2,3,4,5]'::vector, 1, 3);
SELECT subvector('[1,2,3,4,5]'::vector, 3, 2);
SELECT subvector('[1,2,3,4,5]'::vector, 5, 1);
SELECT subvector('[1,2,3,4,5]'::vector, 1, 5);
-- Like substring(): the part of [start, start + count) inside the vector.
SELECT subvector('[1,2,3,4,5]'::vector, -1, 3);
SELECT subvector('[1,2,3,4,5]'::vector, 3, 9);
SELECT subvector('[1,2,3,4,5]'::vector, 0, 2147483647);
SELECT subvector('[1,2,3,4,5]'::vector, 3, 2147483647);
SELECT subvector('[1,2,3,4,5]'::vector, -2147483644, 2147483647);
-- Nothing inside the vector, or no elements asked for.
SELECT subvector('[1,2,3,4,5]'::vector, 1, 0);
SELECT subvector('[1,2,3,4,5]'::vector, 3, -1);
SELECT subvector('[1,2,3,4,5]'::vector, 6, 1);
SELECT subvector('[1,2,3,4,5]'::vector, 2147483647, 10);
SELECT subvector('[1,2,3,4,5]'::vector, -1, 2);
SELECT subvector('[1,2,3,4,5]'::vector, -2147483648, 2147483647);
SELECT subvector(NULL::vector, 1, 2) IS NULL AS null_in_null_out;
-- The slice of a large vector, and a slice compared with the array form.
SELECT vector_dims(subvector(array_fill(1.5, ARRAY[16000])::vector, 15001, 1000));
SELECT subvector(v, 2, 3)::real[] = (v::real[])[2:4] AS same_as_array_slice
  FROM (SELECT '[0.5,-1,2.25,3e-7,4,5]'::vector AS v) s;

SELECT '[1,2]'::vector || '[3]'::vector;
SELECT '[1]'::vector || '[2,3,4.5]';
SELECT ('[1,2]'::vector || '[3,4]'::vector) || '[5]'::vector;
SELECT vector_concat('[1,2]', '[3]');
SELECT NULL::vector || '[1]'::vector IS NULL AS null_in_null_out;
-- Up to 16,000 dimensions, and no more.
SELECT vector_dims(array_fill(1, ARRAY[8000])::vector || array_fill(2, ARRAY[8000])::vector);
SELECT array_fill(1, ARRAY[8000])::vector || array_fill(2, ARRAY[8001])::vector;
SELECT array_fill(1, ARRAY[16000])::vector || '[1]'::vector;
-- The result fits a typed column when the lengths add up.
CREATE TEMP TABLE sliced (v vector(4));
INSERT INTO sliced VALUES ('[1,2]'::vector || '[3,4]'), (subvector('[9,8,7,6,5]', 2, 4));
SELECT v FROM sliced ORDER BY v;
INSERT INTO sliced VALUES ('[1,2]'::vector || '[3]');
-- Concatenation and slicing undo each other.
SELECT subvector(a || b, vector_dims(a) + 1, vector_dims(b)) = b AS slice_of_concat
  FROM (SELECT '[1,2,3]'::vector AS a, '[4,5]'::vector AS b) s;
DROP TABLE sliced;
