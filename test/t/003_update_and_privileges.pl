# Extension life cycle and privileges:
#  - ALTER EXTENSION vecann UPDATE from the released 0.1.0 to the current
#    version: data and HNSW index made under 0.1.0 keep working, the new
#    functions (subvector, ||) appear, and the extension's objects equal a
#    fresh install's, property by property (test/t/extension_members.sql);
#  - a role that is not a superuser and has only CREATE on a database can
#    CREATE EXTENSION vecann (trusted), update it, and use the type,
#    operators, functions, casts, aggregates and HNSW indexes;
#  - the extension installs into a chosen schema, works with search_path = ''
#    through schema-qualified names and OPERATOR(vec.<->), and moves with
#    ALTER EXTENSION ... SET SCHEMA (it is relocatable).
# Would catch: an upgrade script that drifts from sql/vecann.sql, objects
# that need superuser or a particular search_path.
use strict;
use warnings;
use File::Basename qw(dirname);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('life');
$node->init;
$node->start;

# Deterministic pseudo-random vectors (no near-ties): bits of md5(row, position).
sub vec_expr {
  my ($dims, $row) = @_;
  return "(SELECT array_agg((('x' || substr(md5(($row) || ':' || k), 1, 8))::bit(32)::int / 2147483648.0)::real ORDER BY k)"
    . " FROM generate_series(1, $dims) k)::real[]";
}

my $members_sql = PostgreSQL::Test::Utils::slurp_file(dirname(__FILE__) . '/extension_members.sql');
my $current = $node->safe_psql('postgres',
  "SELECT default_version FROM pg_available_extensions WHERE name = 'vecann'");
isnt($current, '0.1.0', "the current version ($current) is newer than the released 0.1.0");
like($node->safe_psql('postgres',
       "SELECT path FROM pg_extension_update_paths('vecann') WHERE source = '0.1.0' AND target = '$current'"),
     qr/^0\.1\.0--/, "an update path leads from 0.1.0 to $current");

# ---- ALTER EXTENSION UPDATE from 0.1.0 -------------------------------------------

$node->safe_psql('postgres', 'CREATE DATABASE upd');
$node->safe_psql('upd', qq{
  CREATE EXTENSION vecann VERSION '0.1.0';
  CREATE TABLE items (id int PRIMARY KEY, v vector(4));
  INSERT INTO items SELECT g, ${\ vec_expr(4, 'g')} FROM generate_series(1, 3000) g;
  CREATE INDEX items_v ON items USING hnsw (v vector_l2_ops) WITH (m = 12, ef_construction = 48);
  CREATE INDEX items_v_cos ON items USING hnsw (v vector_cosine_ops);
  ANALYZE items;
});
is($node->safe_psql('upd', "SELECT extversion FROM pg_extension WHERE extname = 'vecann'"), '0.1.0', 'installed 0.1.0');
my ($ret, $out, $err) = $node->psql('upd', "SELECT subvector('[1,2,3]'::vector, 1, 2)");
like($err, qr/function subvector\(vector, integer, integer\) does not exist/, '0.1.0 has no subvector');

# The index answers: a long candidate list makes its scan exact on these small
# tables, where the planner would then rightly prefer a sequential scan.
my $by_index = 'SET enable_seqscan = off; SET vecann.ef_search = 1000; ';
my $exact = 'SET enable_indexscan = off; SET enable_bitmapscan = off; ';
# Both: the EXPLAIN of a query under $by_index names the index, and its answer is the exact one.
sub check_knn {
  my ($run, $sql, $index_re, $what) = @_;
  like($run->($by_index . "EXPLAIN (COSTS OFF) $sql"), $index_re, "$what: the query is answered by the index");
  my $answer = $run->($by_index . $sql);
  is($answer, $run->($exact . $sql), "$what: index answers equal exact answers");
  return $answer;
}
my $knn = q{
  SELECT array_to_string(ARRAY(SELECT id FROM items ORDER BY v <-> '[0.5,0.5,-0.5,0.1]' LIMIT 10), ',')
    || ' ; ' || array_to_string(ARRAY(SELECT id FROM items ORDER BY v <=> '[1,0,0,1]' LIMIT 10), ',')};
my $upd = sub { $node->safe_psql('upd', $_[0]) };
my $answer_010 = check_knn($upd, $knn, qr/Index Scan using items_v\b.*Index Scan using items_v_cos\b/s, '0.1.0');

$node->safe_psql('upd', 'ALTER EXTENSION vecann UPDATE');
is($node->safe_psql('upd', "SELECT extversion FROM pg_extension WHERE extname = 'vecann'"), $current,
   "ALTER EXTENSION UPDATE reaches $current");
is($node->safe_psql('upd', "SELECT subvector('[1,2,3,4]'::vector, 2, 2), '[1,2]'::vector || '[3]'"),
   '[2,3]|[1,2,3]', 'subvector and || work after the update');
is($node->safe_psql('upd', q{SELECT count(*) FROM items WHERE subvector(v, 1, 2) || subvector(v, 3, 2) = v}),
   '3000', 'subvector and || on stored vectors');
is(check_knn($upd, $knn, qr/Index Scan using items_v\b.*Index Scan using items_v_cos\b/s, 'after the update'), $answer_010,
   'the index built under 0.1.0 gives the same answers after the update');
like($node->safe_psql('upd', q{EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY v <-> '[0.5,0.5,-0.5,0.1]' LIMIT 10}),
     qr/Index Scan using items_v\b/, 'the planner still uses the index after the update');
$node->safe_psql('upd', q{INSERT INTO items VALUES (5000, '[9,9,9,9]'), (5001, '[9,9,9,9.5]')});
is($node->safe_psql('upd', q{SET enable_seqscan = off; SELECT array_to_string(ARRAY(SELECT id FROM items ORDER BY v <-> '[9,9,9,9.1]' LIMIT 2), ',')}),
   '5000,5001', 'rows inserted after the update are found through the old index');
for my $index (qw(items_v items_v_cos)) {
  is($node->safe_psql('upd', "SELECT cardinality(problems) || '/' || missing_rows FROM hnsw_check('$index')"),
     '0/0', "hnsw_check($index) after the update: no problem, no missing row");
}

$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION vecann');
my $fresh_members = $node->safe_psql('fresh', $members_sql);
my $updated_members = $node->safe_psql('upd', $members_sql);
like($fresh_members, qr/^function subvector\(vector,integer,integer\): /m, 'a fresh install has subvector');
like($fresh_members, qr/^operator \|\|\(vector,vector\): code=vector_concat/m, 'a fresh install has ||');
is($updated_members, $fresh_members, 'the updated extension has exactly the objects of a fresh install');
# An update path that misses an object would show here first: name it.
my %fresh_lines = map { $_ => 1 } split /\n/, $fresh_members;
my %upd_lines = map { $_ => 1 } split /\n/, $updated_members;
diag("only in a fresh install: $_") for grep { !$upd_lines{$_} } sort keys %fresh_lines;
diag("only after the update: $_") for grep { !$fresh_lines{$_} } sort keys %upd_lines;

# ---- a role without superuser, CREATE on its database only --------------------------

$node->safe_psql('postgres', q{
  CREATE ROLE app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
  CREATE DATABASE appdb;
  GRANT CREATE ON DATABASE appdb TO app;
  CREATE DATABASE appdb2;
  GRANT CREATE ON DATABASE appdb2 TO app;
});
sub as_app {
  my ($db, $sql) = @_;
  return $node->safe_psql($db, $sql, extra_params => [ '-U', 'app' ]);
}
is(as_app('appdb', 'SELECT rolsuper FROM pg_roles WHERE rolname = current_user'), 'f', 'app is not a superuser');
as_app('appdb', 'CREATE EXTENSION vecann');
is(as_app('appdb', "SELECT extowner::regrole FROM pg_extension WHERE extname = 'vecann'"), 'app',
   'a non-superuser created the (trusted) extension and owns it');
# app has no CREATE on schema public (PostgreSQL 15 default): its own schema.
as_app('appdb', qq{
  CREATE SCHEMA app AUTHORIZATION app;
  CREATE TABLE app.items (id int PRIMARY KEY, v vector(3), tags vector[], cat int);
  INSERT INTO app.items
    SELECT g, ${\ vec_expr(3, 'g')}, ARRAY['[1,2]'::vector], g % 4
    FROM generate_series(1, 3000) g;
  INSERT INTO app.items VALUES (0, NULL, NULL, NULL);
  CREATE INDEX items_l2 ON app.items USING hnsw (v vector_l2_ops) WITH (m = 16, ef_construction = 64);
  CREATE INDEX items_ip ON app.items USING hnsw (v vector_ip_ops);
  CREATE INDEX items_cos ON app.items USING hnsw (v vector_cosine_ops);
  CREATE INDEX items_btree ON app.items (v);
  ANALYZE app.items;
});
is(as_app('appdb', q{SELECT '[1,2,3]'::vector + '[1,1,1]', '[1,2,3]'::vector - '[1,1,1]', '[1,2,3]'::vector * '[2,2,2]',
    '[1,2,3]'::vector < '[1,2,4]', '[1,2]'::vector = '[1,2]', '[3,4]'::vector <-> '[0,0]', '[1,2]'::vector <#> '[3,4]',
    '[1,0]'::vector <=> '[0,1]', '[1,2]'::vector <+> '[3,5]'}),
   '[2,3,4]|[0,1,2]|[2,4,6]|t|t|5|-11|1|5', 'app: operators');
is(as_app('appdb', q{SELECT l2_distance('[0,0]', '[3,4]'), inner_product('[1,2]', '[3,4]'), cosine_distance('[1,1]', '[2,2]'),
    l1_distance('[1,1]', '[2,3]'), vector_dims('[1,2,3]'), vector_norm('[3,4]'), l2_normalize('[3,4]'),
    subvector('[1,2,3]', 2, 2), '[1]'::vector || '[2]', length(vecann_simd_target()) > 0}),
   '5|11|0|3|3|5|[0.6,0.8]|[2,3]|[1,2]|t', 'app: functions');
is(as_app('appdb', q{SELECT '{1,2}'::int[]::vector, '{1.5,2}'::real[]::vector, '{1.5,2}'::float8[]::vector,
    '{1.5,2}'::numeric[]::vector, '[1.5,2]'::vector::real[], '[1.5,2]'::vector::float8[], '[1.5,2.5]'::vector::int[]}),
   '[1,2]|[1.5,2]|[1.5,2]|[1.5,2]|{1.5,2}|{1.5,2}|{2,2}', 'app: casts');
is(as_app('appdb', q{SELECT avg(v), sum(v) FROM (VALUES ('[1,2]'::vector), ('[3,4]'), (NULL)) t(v)}),
   '[2,3]|[4,6]', 'app: aggregates');
is(as_app('appdb', 'SELECT count(*) FROM app.items WHERE v IS NOT NULL AND tags[1] = \'[1,2]\''), '3000', 'app: vector[] columns');
my $app_knn = q{
  SELECT array_to_string(ARRAY(SELECT id FROM app.items ORDER BY v <-> '[0.2,0.4,-0.1]' LIMIT 8), ',')
    || ' ; ' || array_to_string(ARRAY(SELECT id FROM app.items ORDER BY v <#> '[0.2,0.4,-0.1]' LIMIT 8), ',')
    || ' ; ' || array_to_string(ARRAY(SELECT id FROM app.items ORDER BY v <=> '[0.2,0.4,-0.1]' LIMIT 8), ',')
    || ' ; ' || array_to_string(ARRAY(SELECT id FROM app.items WHERE cat = 1 ORDER BY v <-> '[0.2,0.4,-0.1]' LIMIT 8), ',')};
check_knn(sub { as_app('appdb', $_[0]) }, $app_knn,
  qr/Index Scan using items_l2\b.*Index Scan using items_ip\b.*Index Scan using items_cos\b.*Index Scan using items_l2\b/s,
  'app, every opclass');
for my $case (['<->', 'items_l2'], ['<#>', 'items_ip'], ['<=>', 'items_cos']) {
  my ($op, $index) = @$case;
  like(as_app('appdb', "EXPLAIN (COSTS OFF) SELECT id FROM app.items ORDER BY v $op '[0.2,0.4,-0.1]' LIMIT 8"),
       qr/Index Scan using $index\b/, "app: the planner uses $index for $op");
}
as_app('appdb', q{INSERT INTO app.items VALUES (9000, '[7,7,7]'); DELETE FROM app.items WHERE id = 5; VACUUM app.items;
  REINDEX INDEX app.items_l2});
is(as_app('appdb', q{SET enable_seqscan = off; SELECT id FROM app.items ORDER BY v <-> '[7,7,7]' LIMIT 1}), '9000',
   'app: insert, delete, VACUUM and REINDEX on its own table');
($ret, $out, $err) = $node->psql('appdb', "SELECT * FROM hnsw_check('app.items_l2')", extra_params => [ '-U', 'app' ]);
like($err, qr/permission denied for function hnsw_check/, 'app: hnsw_check stays superuser-only unless granted');
as_app('appdb', 'DROP TABLE app.items; DROP EXTENSION vecann');
is($node->safe_psql('appdb', "SELECT count(*) FROM pg_extension WHERE extname = 'vecann'"), '0', 'app can drop its extension');
# The owner updates a trusted extension too.
as_app('appdb', "CREATE EXTENSION vecann VERSION '0.1.0'; ALTER EXTENSION vecann UPDATE");
is(as_app('appdb', "SELECT extversion FROM pg_extension WHERE extname = 'vecann'"), $current, 'app: ALTER EXTENSION UPDATE');

# ---- a chosen schema and search_path = '' ---------------------------------------------

as_app('appdb2', q{
  CREATE SCHEMA vec AUTHORIZATION app;
  CREATE SCHEMA data AUTHORIZATION app;
  CREATE EXTENSION vecann SCHEMA vec;
});
is(as_app('appdb2', "SELECT extnamespace::regnamespace FROM pg_extension WHERE extname = 'vecann'"), 'vec',
   'CREATE EXTENSION vecann SCHEMA vec');
is(as_app('appdb2', "SELECT count(*) FROM pg_type WHERE typname = 'vector' AND typnamespace = 'public'::regnamespace"),
   '0', 'nothing of it lands in public');
my $empty = q{SET search_path = ''; };
as_app('appdb2', $empty . qq{
  CREATE TABLE data.items (id int PRIMARY KEY, v vec.vector(3));
  INSERT INTO data.items SELECT g, ${\ vec_expr(3, 'g')}::vec.vector(3) FROM generate_series(1, 3000) g;
  CREATE INDEX items_l2 ON data.items USING hnsw (v vec.vector_l2_ops) WITH (m = 16, ef_construction = 64);
  CREATE INDEX items_cos ON data.items USING hnsw (v vec.vector_cosine_ops);
  ANALYZE data.items;
});
my $qualified_knn = q{
  SELECT array_to_string(ARRAY(SELECT id FROM data.items ORDER BY v OPERATOR(vec.<->) '[0.2,0.4,-0.1]' LIMIT 8), ',')
    || ' ; ' || array_to_string(ARRAY(SELECT id FROM data.items ORDER BY v OPERATOR(vec.<=>) '[0.2,0.4,-0.1]' LIMIT 8), ',')};
check_knn(sub { as_app('appdb2', $empty . $_[0]) }, $qualified_knn,
  qr/Index Scan using items_l2\b.*Index Scan using items_cos\b/s, "search_path = '', OPERATOR(vec.<->) and OPERATOR(vec.<=>)");
like(as_app('appdb2', $empty . q{EXPLAIN (COSTS OFF) SELECT id FROM data.items ORDER BY v OPERATOR(vec.<->) '[0.2,0.4,-0.1]' LIMIT 8}),
     qr/Index Scan using items_l2\b/, "search_path = '': the planner uses the index");
is(as_app('appdb2', $empty . q{SELECT vec.l2_distance('[0,0]'::vec.vector, '[3,4]'), vec.vector_dims(v), vec.avg(v) IS NOT NULL,
    vec.subvector(v, 1, 1) OPERATOR(vec.||) vec.subvector(v, 2, 2) OPERATOR(vec.=) v, (v::real[])[1] IS NOT NULL
    FROM data.items WHERE id = 1 GROUP BY v}),
   '5|3|t|t|t', "search_path = '': qualified functions, aggregates, operators and casts");
as_app('appdb2', $empty . q{INSERT INTO data.items VALUES (9000, '[5,5,5]')});
is(as_app('appdb2', $empty . q{SET enable_seqscan = off; SELECT id FROM data.items ORDER BY v OPERATOR(vec.<->) '[5,5,5]' LIMIT 1}),
   '9000', "search_path = '': inserts reach the index");
# Relocatable: the extension moves, columns and indexes follow.
as_app('appdb2', 'CREATE SCHEMA vec2 AUTHORIZATION app');
$node->safe_psql('appdb2', 'ALTER EXTENSION vecann SET SCHEMA vec2');
is(as_app('appdb2', $empty . q{SET enable_seqscan = off; SELECT id FROM data.items ORDER BY v OPERATOR(vec2.<->) '[5,5,5]' LIMIT 1}),
   '9000', 'after ALTER EXTENSION SET SCHEMA the index answers through the moved operator');
is(as_app('appdb2', q{SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'data.items'::regclass AND attname = 'v'}),
   'vec2.vector(3)', 'the column type moved with the extension');

done_testing();
