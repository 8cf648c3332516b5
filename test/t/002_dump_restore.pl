# pg_dump / pg_restore of databases that use vecann, in custom and plain
# formats: vector, vector(n), vector[] and NULL values, a 2,000-dimension
# column, HNSW indexes of every operator class with their options, and an
# extension installed in its own schema. After a restore the data must be
# identical, the index definitions the same, EXPLAIN must show the restored
# indexes in use, hnsw_check must find no problem, and nearest-neighbour
# queries must return what they returned before the dump (which is also the
# exact answer: small table, high ef_search).
# Would catch: a type that does not round-trip through COPY text, an opclass
# or reloption that pg_dump cannot reproduce, an index build that needs
# search_path (restores run with search_path = '').
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
$node->append_conf('postgresql.conf', "maintenance_work_mem = 256MB\n");
$node->start;
my $dir = $node->basedir;

# Deterministic pseudo-random components in [-1, 1): bits of md5(row, position).
sub vec_expr {
  my ($dims, $row) = @_;
  return "(SELECT array_agg((('x' || substr(md5(($row) || ':' || k), 1, 8))::bit(32)::int / 2147483648.0)::real ORDER BY k)"
    . " FROM generate_series(1, $dims) k)::real[]";
}

$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', 'CREATE EXTENSION vecann');
my $v8 = vec_expr(8, 'g') . '::vector';
my $v8b = vec_expr(8, 'g + 5000') . '::vector';
my $v2000 = vec_expr(2000, 'g') . '::vector';
$node->safe_psql('src', qq{
  CREATE TABLE items (
    id int PRIMARY KEY,
    embedding vector(8),
    anydim vector,
    history vector[],
    big vector(2000),
    category int
  );
  INSERT INTO items
    SELECT g,
           CASE WHEN g % 97 = 0 THEN NULL ELSE $v8 END,
           CASE WHEN g % 3 = 0 THEN '[1,2.5,-3]'::vector ELSE $v8b END,
           CASE WHEN g % 5 = 0 THEN NULL
                WHEN g % 5 = 1 THEN ARRAY[]::vector[]
                ELSE ARRAY[$v8, NULL, '[0.5,1e-7,-2]'::vector] END,
           CASE WHEN g <= 20 THEN $v2000 END,
           g % 10
    FROM generate_series(1, 3000) g;
  INSERT INTO items (id, embedding) VALUES (0, '[0,0,0,0,0,0,0,0]');
  CREATE INDEX items_l2 ON items USING hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64);
  CREATE INDEX items_ip ON items USING hnsw (embedding vector_ip_ops) WITH (m = 8, ef_construction = 40);
  CREATE INDEX items_cos ON items USING hnsw (embedding vector_cosine_ops);
  CREATE INDEX items_expr ON items USING hnsw ((anydim::vector(8)) vector_l2_ops) WHERE id % 3 <> 0;
  CREATE INDEX items_ivf ON items USING ivfflat ((embedding::halfvec(8)) halfvec_cosine_ops)
    WITH (lists = 20, quantization = 'f16');
  CREATE INDEX items_btree ON items (embedding);
  ANALYZE items;
});
# A second database whose extension lives in schema vec.
$node->safe_psql('postgres', 'CREATE DATABASE src_schema');
$node->safe_psql('src_schema', qq{
  CREATE SCHEMA vec;
  CREATE EXTENSION vecann SCHEMA vec;
  SET search_path = '';
  CREATE TABLE public.docs (id int PRIMARY KEY, v vec.vector(3));
  INSERT INTO public.docs SELECT g, ${\ vec_expr(3, 'g')}::vec.vector(3) FROM generate_series(1, 2000) g;
  CREATE INDEX docs_v ON public.docs USING hnsw (v vec.vector_cosine_ops) WITH (m = 12);
  ANALYZE public.docs;
});

# Everything that must survive a dump and restore, as one text per database.
my $data_sql = q{SELECT md5(string_agg(t::text, E'\n' ORDER BY id)) FROM items t};
my $indexdef_sql = q{SELECT string_agg(pg_get_indexdef(indexrelid), E'\n' ORDER BY indexrelid::regclass::text)
  FROM pg_index WHERE indrelid = 'items'::regclass};
my @queries = map { "(SELECT embedding FROM items WHERE id = $_)" } (7, 300, 1234, 2999);
push @queries, "'[1,-1,1,-1,1,-1,1,-1]'::vector";
sub knn_sql {
  my ($op, $extra) = @_;
  $extra //= '';
  my @parts = map { "array_to_string(ARRAY(SELECT id FROM items $extra ORDER BY embedding $op $_ LIMIT 7), ',')" } @queries;
  return 'SELECT ' . join(" || ' ; ' || ", @parts);
}
my %knn = (
  'l2' => knn_sql('<->'),
  'ip' => knn_sql('<#>'),
  'cosine' => knn_sql('<=>'),
  'l2 with a filter' => knn_sql('<->', 'WHERE category = 3'),
  'ivfflat halfvec cosine' => 'SELECT ' . join(" || ' ; ' || ",
    map { "array_to_string(ARRAY(SELECT id FROM items ORDER BY embedding::halfvec(8) <=> ($_)::halfvec(8) LIMIT 7), ',')" }
      @queries),
);
my $explain_sql = q{EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY embedding <-> '[1,2,3,4,5,6,7,8]' LIMIT 5};
# The index answers: the longest candidate list (every list, for ivfflat) makes its
# scan exact on this small table, where the planner would then rightly prefer a
# sequential scan.
my $by_index = 'SET enable_seqscan = off; SET vecann.ef_search = 1000; SET ivfflat.probes = 20; ';
my $exact = 'SET enable_indexscan = off; SET enable_bitmapscan = off; ';
my %knn_index = ('l2' => 'items_l2', 'ip' => 'items_ip', 'cosine' => 'items_cos', 'l2 with a filter' => 'items_l2',
                 'ivfflat halfvec cosine' => 'items_ivf');

my %before;
$before{data} = $node->safe_psql('src', $data_sql);
$before{indexdef} = $node->safe_psql('src', $indexdef_sql);
for my $name (sort keys %knn) {
  like($node->safe_psql('src', $by_index . "EXPLAIN (COSTS OFF) $knn{$name}"), qr/Index Scan using $knn_index{$name}\b/,
       "source: $name queries use $knn_index{$name}");
  $before{$name} = $node->safe_psql('src', $by_index . $knn{$name});
  is($before{$name}, $node->safe_psql('src', $exact . $knn{$name}), "source: $name index answers equal exact answers");
}
like($node->safe_psql('src', $explain_sql), qr/Index Scan using items_l2/, 'source: the planner uses the HNSW index');
my $schema_knn = q{SELECT array_to_string(ARRAY(SELECT id FROM public.docs ORDER BY v OPERATOR(vec.<=>) '[3,1,2]' LIMIT 10), ',')};
like($node->safe_psql('src_schema', "SET search_path = ''; $by_index EXPLAIN (COSTS OFF) $schema_knn"), qr/Index Scan using docs_v\b/,
     'extension in schema vec: the query uses the index');
my $schema_before = $node->safe_psql('src_schema', "SET search_path = ''; $by_index $schema_knn");
is($schema_before, $node->safe_psql('src_schema', "SET search_path = ''; $exact $schema_knn"),
  'extension in schema vec: index answers equal exact answers');

my %dumps = (
  custom => "$dir/src.dump",
  plain => "$dir/src.sql",
);
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dumps{custom}, '-d', 'src' ], 'pg_dump custom format');
$node->command_ok([ 'pg_dump', '-Fp', '-f', $dumps{plain}, '-d', 'src' ], 'pg_dump plain format');
$node->command_ok([ 'pg_dump', '-Fc', '-f', "$dir/schema.dump", '-d', 'src_schema' ], 'pg_dump of the schema database');

for my $format (qw(custom plain)) {
  my $db = "restored_$format";
  $node->safe_psql('postgres', "CREATE DATABASE $db");
  if ($format eq 'custom') {
    $node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $db, $dumps{custom} ], "pg_restore into $db");
  } else {
    $node->command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $db, '-f', $dumps{plain} ], "psql restore into $db");
  }
  is($node->safe_psql($db, $data_sql), $before{data}, "$format: table contents identical (vectors, vector[], NULLs, 2000 dims)");
  is($node->safe_psql($db, $indexdef_sql), $before{indexdef}, "$format: index definitions identical");
  is($node->safe_psql($db, "SELECT extversion FROM pg_extension WHERE extname = 'vecann'"),
     $node->safe_psql('src', "SELECT extversion FROM pg_extension WHERE extname = 'vecann'"), "$format: same extension version");
  $node->safe_psql($db, 'ANALYZE items');
  like($node->safe_psql($db, $explain_sql), qr/Index Scan using items_l2/, "$format: the planner uses the restored index");
  for my $name (sort keys %knn) {
    is($node->safe_psql($db, $by_index . $knn{$name}), $before{$name}, "$format: $name queries give the same answers");
  }
  for my $index (qw(items_l2 items_ip items_cos items_expr)) {
    my ($problems, $missing) = split /\|/, $node->safe_psql($db,
      "SELECT cardinality(problems), missing_rows FROM hnsw_check('$index')");
    is("$problems/$missing", '0/0', "$format: hnsw_check($index) finds no problem and no missing row");
  }
}

$node->safe_psql('postgres', 'CREATE DATABASE restored_schema');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', 'restored_schema', "$dir/schema.dump" ],
  'pg_restore of an extension in its own schema');
is($node->safe_psql('restored_schema',
     "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE extname = 'vecann'"),
   'vec', 'the restored extension is in schema vec');
is($node->safe_psql('restored_schema', "SET search_path = ''; $by_index $schema_knn"), $schema_before, 'schema-qualified queries give the same answers after restore');
like($node->safe_psql('restored_schema',
       q{SET search_path = ''; ANALYZE public.docs;
         EXPLAIN (COSTS OFF) SELECT id FROM public.docs ORDER BY v OPERATOR(vec.<=>) '[3,1,2]' LIMIT 10}),
     qr/Index Scan using docs_v/, 'the restored index in the other schema is used');

done_testing();
