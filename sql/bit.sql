-- Distances on bit strings (Hamming <~>, Jaccard <%>) and binary
-- quantization of vector and halfvec.
\set VERBOSITY terse

SELECT B'1010' <~> B'0110' AS hamming, hamming_distance(B'1010', B'0110') AS hamming_fn,
       B'1010' <%> B'0110' AS jaccard, jaccard_distance(B'1010', B'0110') AS jaccard_fn;
SELECT B'1111' <~> B'1111', B'1111' <%> B'1111', B'0000' <~> B'1111', B'0000' <%> B'1111',
       B'0000' <%> B'0000', B'' <~> B'', B'' <%> B'';
-- bit varying arguments are bit strings too
SELECT '101'::varbit <~> '011'::varbit;
-- lengths that are not a multiple of 8, and long strings through the SIMD path
SELECT B'1011001' <~> B'0011100', B'1011001' <%> B'0011100';
SELECT (repeat('10', 1000)::bit(2000)) <~> (repeat('01', 1000)::bit(2000)) AS all_differ,
       (repeat('1100', 777)::bit(3108)) <%> (repeat('1010', 777)::bit(3108)) AS jaccard_3108,
       (repeat('1', 64000)::bit(64000)) <~> (repeat('0', 63999) || '1')::bit(64000) AS hamming_64000;
-- against a bit-by-bit count
SELECT a <~> b = (SELECT count(*) FROM generate_series(1, 1531) k
                  WHERE substring(a from k for 1) <> substring(b from k for 1)) AS hamming_ok,
       abs((a <%> b) - (1 - (SELECT count(*) FROM generate_series(1, 1531) k
                               WHERE substring(a from k for 1) = B'1' AND substring(b from k for 1) = B'1')::float8
                          / (SELECT count(*) FROM generate_series(1, 1531) k
                               WHERE substring(a from k for 1) = B'1' OR substring(b from k for 1) = B'1'))) < 1e-12
         AS jaccard_ok
FROM (SELECT string_agg(CASE WHEN sin(k) > 0 THEN '1' ELSE '0' END, '')::bit(1531) AS a,
             string_agg(CASE WHEN cos(k * 3) > 0.3 THEN '1' ELSE '0' END, '')::bit(1531) AS b
      FROM generate_series(1, 1531) k) t;
SELECT B'101' <~> B'10';
SELECT B'101' <%> B'1010';
SELECT hamming_distance(B'1', B'11');

-- binary_quantize: 1 where the value is > 0 (zero and -0 give 0)
SELECT binary_quantize('[1,-2,0,3,-0,0.001,-1e-30,5]'::vector);
SELECT binary_quantize('[1,-2,0,3,-0,0.001,-1e-3,5,1]'::halfvec);
SELECT binary_quantize(array_fill(1, ARRAY[16000])::vector)::text = repeat('1', 16000);
SELECT length(binary_quantize('[1,2,3]')), binary_quantize('[1,2,3]')::bit(3);
-- an untyped literal means vector
SELECT binary_quantize('[-1,1]');
-- Hamming distance of quantized vectors
SELECT binary_quantize('[1,-1,1,-1]'::vector) <~> binary_quantize('[1,1,-1,-1]'::halfvec);
SELECT binary_quantize('[1,2]'::vector) <~> binary_quantize('[1,2,3]'::vector);
