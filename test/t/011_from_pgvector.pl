# Moving from pgvector: a database dumped by pg_dump 15 from pgvector 0.8.6
# (test/t/data/pgvector-0.8.6.{sql,dump}, plain and custom format: vector,
# halfvec, sparsevec, bit and vector[] columns, NULLs, HNSW indexes of every
# operator class, with options, an expression and a partial index, ivfflat
# indexes (halfvec, an expression, lists), a view and
# a function using the operators, a column comment) restores into vecann
# with the README's recipe: CREATE EXTENSION vecann first, then the dump
# without pgvector's own CREATE EXTENSION and COMMENT ON EXTENSION.
# After the restore the values must be those pgvector stored, every index
# valid and structurally sound (hnsw_check), used by EXPLAIN, and its
# nearest-neighbour answers the exact ones; the view, the function and new
# rows must work.
# The fixture was made by running, with pgvector 0.8.6 on PostgreSQL 15, the
# statements in test/t/data/README.md.
# Would catch: a text form of pgvector's that vecann's input rejects or reads
# differently, an operator class or index option name that differs, an index
# build that fails under pg_restore's search_path = ''.
use strict;
use warnings;
use File::Spec;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $plain = File::Spec->rel2abs('t/data/pgvector-0.8.6.sql');
my $custom = File::Spec->rel2abs('t/data/pgvector-0.8.6.dump');

my $node = PostgreSQL::Test::Cluster->new('from_pgvector');
$node->init;
$node->start;
my $dir = $node->basedir;

# Plain format: the dump's SQL without pgvector's two extension statements.
open(my $in, '<', $plain) or die "cannot read $plain: $!";
my $sql = '';
my $dropped = 0;
while (my $line = <$in>) {
  if ($line =~ /^(CREATE EXTENSION IF NOT EXISTS vector |COMMENT ON EXTENSION vector )/) {
    $dropped++;
    next;
  }
  $sql .= $line;
}
close($in);
is($dropped, 2, 'the plain dump names pgvector in two statements');
open(my $out, '>', "$dir/restore.sql") or die;
print $out $sql;
close($out);

$node->safe_psql('postgres', 'CREATE DATABASE plain_db');
$node->safe_psql('plain_db', 'CREATE EXTENSION vecann');
$node->command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('plain_db'), '-f', "$dir/restore.sql" ],
  'plain dump restores into vecann');

# Custom format: pg_restore with a list that leaves out the same two entries.
my ($toc, $err);
$node->run_log([ 'pg_restore', '-l', $custom ], '>', \$toc) or die 'pg_restore -l failed';
my @entries = split /\n/, $toc;
my @kept = grep { !/ (EXTENSION - vector|COMMENT - EXTENSION vector) *$/ } @entries;
is(scalar(@entries) - scalar(@kept), 2, 'the custom dump names pgvector in two entries');
open($out, '>', "$dir/restore.list") or die;
print $out join("\n", @kept), "\n";
close($out);
$node->safe_psql('postgres', 'CREATE DATABASE custom_db');
$node->safe_psql('custom_db', 'CREATE EXTENSION vecann');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-L', "$dir/restore.list", '-d', $node->connstr('custom_db'), $custom ],
  'custom dump restores into vecann');

# Without the recipe, pgvector's CREATE EXTENSION fails cleanly (its script
# finds vecann's vector type) and changes nothing.
$node->safe_psql('postgres', 'CREATE DATABASE naive_db');
$node->safe_psql('naive_db', 'CREATE EXTENSION vecann');
my ($ret, $stdout, $stderr) = $node->psql('naive_db', 'CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA public');
isnt($ret, 0, 'without the recipe, CREATE EXTENSION vector fails');
like($stderr, qr/(type "vector" already exists|extension "vector" is not available|could not open extension control file)/,
  '... with a clear error (pgvector installed on the server or not)');

# Index name => [ORDER BY expression, query value] of the queries the index serves.
my %knn = (
  items_l2 => [ 'embedding <-> q', q{'[0.3,-0.2,0.9]'::vector} ],
  items_cos => [ 'embedding <=> q', q{'[0.3,-0.2,0.9]'::vector} ],
  items_ip => [ 'embedding <#> q', q{'[0.3,-0.2,0.9]'::vector} ],
  items_l1 => [ 'embedding <+> q', q{'[0.3,-0.2,0.9]'::vector} ],
  items_half => [ 'half <-> q', q{'[0.1,0.7,0.5]'::halfvec} ],
  items_half_expr => [ 'embedding::halfvec(3) <=> q', q{'[0.3,-0.2,0.9]'::halfvec} ],
  items_sparse => [ 'sparse <-> q', q{'{1:3,3:0.5}/5'::sparsevec} ],
  items_hamming => [ 'bits <~> q', q{'10101010'::bit(8)} ],
  items_jaccard => [ 'bits <%> q', q{'10101010'::bit(8)} ],
  items_ivf_half => [ 'half <=> q', q{'[0.1,0.7,0.5]'::halfvec} ],
  items_ivf_expr => [ 'embedding::halfvec(3) <-> q', q{'[0.3,-0.2,0.9]'::halfvec} ],
);

for my $db ('plain_db', 'custom_db') {
  is($node->safe_psql($db, 'SELECT count(*), count(embedding) FROM items'), '501|500', "$db: every row");
  # The values pgvector stored (each computed the same way here).
  is($node->safe_psql($db, q{
      SELECT count(*) FROM items WHERE id > 0 AND (
        embedding IS DISTINCT FROM ARRAY[sin(id), cos(id), sin(id * 0.5)]::vector
        OR half <-> ARRAY[cos(id), sin(id * 0.3), 0.5]::halfvec > 1e-3
        OR sparse IS DISTINCT FROM ('{1:' || (id % 7 + 1) || ',' || (id % 4 + 2) || ':0.5}/5')::sparsevec
        OR bits IS DISTINCT FROM (id % 256)::bit(8)
        OR tags IS DISTINCT FROM ARRAY[ARRAY[id, 0, 1]::vector, ARRAY[1, 2, id]::vector])}),
    '0', "$db: values as pgvector stored them");
  is($node->safe_psql($db, 'SELECT num_nulls(embedding, half, sparse, bits, tags) FROM items WHERE id = 0'), '5',
    "$db: NULLs");
  is($node->safe_psql($db, q{SELECT col_description('items'::regclass, 2)}), 'vectors made by pgvector 0.8.6',
    "$db: column comment");

  is($node->safe_psql($db, q{
      SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
      WHERE i.indrelid = 'items'::regclass AND a.amname = 'hnsw' AND i.indisvalid}),
    '10', "$db: ten valid hnsw indexes");
  is($node->safe_psql($db, q{
      SELECT string_agg(c.relname || ' ' || array_to_string(c.reloptions, ','), '; ' ORDER BY c.relname)
      FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
      WHERE i.indrelid = 'items'::regclass AND a.amname = 'ivfflat' AND i.indisvalid}),
    'items_ivf_expr lists=10; items_ivf_half lists=5', "$db: two valid ivfflat indexes, with their lists");
  is($node->safe_psql($db, q{SELECT reloptions FROM pg_class WHERE relname = 'items_cos'}),
    '{m=8,ef_construction=32}', "$db: index options");
  for my $index (grep(!/_ivf_/, sort keys %knn), 'items_partial') {
    my $check = $node->safe_psql($db, "SELECT nodes, unreachable_nodes, missing_rows, problems FROM hnsw_check('$index')");
    my $nodes = $index eq 'items_partial' ? 250 : 500;
    is($check, "$nodes|0|0|{}", "$db: hnsw_check($index)");
  }

  for my $index (sort keys %knn) {
    my ($order, $q) = @{ $knn{$index} };
    (my $expr = $order) =~ s/\bq\b/$q/;
    my $plan = $node->safe_psql($db, "SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY $expr LIMIT 10");
    like($plan, qr/Index Scan using $index on items/, "$db: $index serves ORDER BY $order");
    # The distances of the index's 10 rows are the exact 10 smallest (ties
    # make ids ambiguous, distances not).
    my $got = $node->safe_psql($db, "SET enable_seqscan = off; SET hnsw.ef_search = 400; SET ivfflat.probes = 10;
      SELECT array_agg(d ORDER BY n) FROM (SELECT $expr AS d, row_number() OVER () AS n
        FROM (SELECT * FROM items ORDER BY $expr LIMIT 10) s) t");
    my $want = $node->safe_psql($db, "SELECT array_agg(d ORDER BY d) FROM (SELECT d FROM
        (SELECT $expr AS d FROM items WHERE ($expr) IS NOT NULL OFFSET 0) s ORDER BY d LIMIT 10) t");
    is($got, $want, "$db: $index answers exactly");
  }

  is($node->safe_psql($db, 'SELECT count(*) FROM nearest_origin'), '5', "$db: the view");
  is($node->safe_psql($db, q{SELECT count(*) FROM knn('[1,1,1]', 3)}), '3', "$db: the function");
  # The restored indexes take new rows.
  $node->safe_psql($db, q{INSERT INTO items (id, embedding, bits) VALUES (1000, '[9,9,9]', '11111111')});
  is($node->safe_psql($db, q{SET enable_seqscan = off; SELECT id FROM items ORDER BY embedding <-> '[9,9,9]' LIMIT 1}),
    '1000', "$db: a new row is found through the index");
}

$node->stop;
done_testing();
