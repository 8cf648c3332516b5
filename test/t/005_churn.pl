# Churn: an HNSW index that lives through deletes, VACUUM and new inserts
# must answer as well as one built fresh on the same rows.
#
# Two data sets, each 500 queries held out of the table (the rows'
# distribution; with 100 queries one query whose search gets trapped away from
# its neighbours would move recall by 0.01):
#   - SIFT descriptors: ../shared/data/siftsmall (skipped when absent), 9,600
#     rows, queries its 100 queries and the 400 last base vectors;
#   - clustered: 64 Gaussian clusters in 128 dimensions, seeded, 9,500 rows.
# For each: build the index; then delete every second row, VACUUM, and insert
# the deleted rows' vectors slightly perturbed as new rows (hnsw_check after
# each step; VECANN_CHURN_ROUNDS repeats this, recall after each step is
# printed); then recall@10 of index scans (vecann.ef_search = 40) against
# exact answers (a sequential scan) for the churned index and for an index
# built fresh on a copy of the final table, printed, and asserted:
#   churned recall >= fresh recall - 0.02.
# Would catch: VACUUM that leaves the graph around deleted nodes badly
# connected (recall decays; on clustered data, links between clusters that ran
# through deleted nodes and were not replaced), repair that orphans survivors
# (more than 1 % of live nodes unreachable from the entry point), inserts that
# link new nodes to deleted nodes or never get linked in, space reuse that
# corrupts neighbour lists (hnsw_check problems), and deleted rows the index
# still points at (live nodes > table rows).
use strict;
use warnings;
use FindBin;
use File::Spec;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# Churn rounds (delete half, VACUUM, insert as many): the issue asks for one;
# VECANN_CHURN_ROUNDS=3 makes a harsher test.
my $rounds = $ENV{VECANN_CHURN_ROUNDS} // 1;
my $ef_search = 40;
my $k = 10;

my $node = PostgreSQL::Test::Cluster->new('churn');
$node->init;
$node->append_conf('postgresql.conf', "autovacuum = off\nmaintenance_work_mem = 256MB\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vecann');

my $data_dir = $ENV{VECANN_DATA_DIR} // "$FindBin::RealBin/../../../shared/data";

# Reads a TEXMEX .fvecs file: per row an int32 dimension, then float32 values.
sub read_fvecs {
  my ($path) = @_;
  open my $fh, '<:raw', $path or die "$path: $!";
  my @rows;
  while (read($fh, my $head, 4) == 4) {
    my $dim = unpack('l<', $head);
    read($fh, my $body, 4 * $dim) == 4 * $dim or die "$path: short row";
    push @rows, [ unpack("f<$dim", $body) ];
  }
  close $fh;
  return \@rows;
}

# Clustered random vectors (64 centres uniform in [0,100)^dim, Gaussian
# spread of 8 per value), seeded.
sub clustered {
  my ($n, $dim, $seed) = @_;
  srand($seed);
  my @centres = map { [ map { rand(100) } 1 .. $dim ] } 1 .. 64;
  my @rows;
  for (1 .. $n) {
    my $c = $centres[ int(rand(@centres)) ];
    push @rows, [ map { $_ + 8 * sqrt(-2 * log(1 - rand())) * cos(6.283185307 * rand()) } @$c ];
  }
  return \@rows;
}

# Writes rows as a COPY text file (id, vector) that the server reads.
sub copy_file {
  my ($name, $rows) = @_;
  # Absolute: the server reads it, and 17+ name basedir relative to the test.
  my $path = File::Spec->rel2abs($node->basedir) . "/$name.tsv";
  open my $fh, '>', $path or die "$path: $!";
  my $id = 1;
  for my $r (@$rows) {
    print $fh $id++, "\t[", join(',', map { sprintf('%.9g', $_) } @$r), "]\n";
  }
  close $fh;
  return $path;
}

# hnsw_check: no structural problem, no row missing, live nodes = rows, at
# most 1 % of live nodes unreachable.
sub check_index {
  my ($index, $table, $what) = @_;
  my $row = $node->safe_psql('postgres', qq{
    SELECT nodes, deleted_nodes, unreachable_nodes, missing_rows, entry_level, cardinality(problems),
           array_to_string(problems, '; '), (SELECT count(*) FROM $table)
    FROM hnsw_check('$index')});
  my ($nodes, $deleted, $unreachable, $missing, $entry_level, $nproblems, $problems, $rows) = split /\|/, $row, 8;
  note("$what: $rows rows, $nodes nodes ($deleted deleted), $unreachable live nodes unreachable, "
      . "entry level $entry_level");
  is($nproblems, '0', "$what: no structural problem") or diag($problems);
  is($missing, '0', "$what: every row is in the index");
  is($nodes - $deleted, $rows, "$what: live nodes = table rows");
  ok($unreachable <= 0.01 * ($nodes - $deleted), "$what: at most 1% of live nodes unreachable ($unreachable)");
}

# Exact answers for the queries `q` over `table`, into `exact`: a sequential
# scan and sort per query; the ids and the k-th distance.
sub exact_sql {
  my ($table, $q) = @_;
  return "SELECT qid, ARRAY(SELECT id FROM $table ORDER BY v <-> q.v LIMIT $k) AS ids, "
    . "(SELECT max(d) FROM (SELECT v <-> q.v AS d FROM $table ORDER BY v <-> q.v LIMIT $k) s) AS kth FROM $q q";
}
my $exact_settings = 'SET enable_indexscan = off; SET enable_bitmapscan = off;';
sub compute_exact {
  my ($table, $q, $exact) = @_;
  $node->safe_psql('postgres', "DROP TABLE IF EXISTS $exact; $exact_settings CREATE TABLE $exact AS "
      . exact_sql($table, $q));
}

# recall@k of index scans on `table` against `exact`: a returned row counts
# when its distance is no larger than the k-th exact distance (so rows tied at
# that distance count whichever of them is returned). Returns the mean, and a
# text with the worst query, the queries below 0.5 and the plain id overlap.
sub recall {
  my ($table, $q, $exact, $ef) = @_;
  $ef //= $ef_search;
  my ($mean, $worst, $below, $ids) = split /\|/, $node->safe_psql('postgres', qq{
    SET enable_seqscan = off; SET vecann.ef_search = $ef;
    SELECT round(avg(r), 4), round(min(r), 2), count(*) FILTER (WHERE r < 0.5), round(avg(id_r), 4) FROM (
      SELECT (SELECT count(*) FROM unnest(a.dists) d WHERE d <= e.kth * (1 + 1e-6))::numeric / $k AS r,
             (SELECT count(*) FROM unnest(a.got) x WHERE x = ANY (e.ids))::numeric / $k AS id_r
      FROM (SELECT qid, ARRAY(SELECT id FROM $table ORDER BY v <-> q.v LIMIT $k) AS got,
                   ARRAY(SELECT v <-> q.v FROM $table ORDER BY v <-> q.v LIMIT $k) AS dists FROM $q q) a
      JOIN $exact e USING (qid)) per_query});
  return ($mean, "recall\@$k $mean (worst query $worst, $below below 0.5; id overlap $ids)");
}

# The whole scenario for one data set; tables are prefixed with `name`.
sub churn_case {
  my ($name, $base, $queries) = @_;
  my ($items, $q, $exact, $fresh) = ("${name}_items", "${name}_queries", "${name}_exact", "${name}_fresh");
  my $dims = scalar @{ $base->[0] };
  my $n = scalar @$base;
  note(sprintf('%s: %d x %d, %d queries', $name, $n, $dims, scalar @$queries));
  my $base_file = copy_file("${name}_base", $base);
  my $query_file = copy_file("${name}_queries", $queries);
  $node->safe_psql('postgres', qq{
    CREATE TABLE $items (id int PRIMARY KEY, v vector($dims));
    COPY $items (id, v) FROM '$base_file';
    CREATE TABLE $q (qid int PRIMARY KEY, v vector($dims));
    COPY $q (qid, v) FROM '$query_file';
    CREATE INDEX ${items}_v ON $items USING hnsw (v vector_l2_ops) WITH (m = 16, ef_construction = 64);
    VACUUM ANALYZE $items;
  });
  my $size_built = $node->safe_psql('postgres', "SELECT pg_relation_size('${items}_v')");
  compute_exact($items, $q, $exact);
  note("$name as built: " . (recall($items, $q, $exact))[1]);

  my $next_id = $n + 1;
  for my $round (1 .. $rounds) {
    # Delete every other row (in id order), remember the vectors, VACUUM.
    $node->safe_psql('postgres', qq{
      CREATE TABLE gone AS
        SELECT id, v FROM (SELECT id, v, row_number() OVER (ORDER BY id) AS r FROM $items) t WHERE r % 2 = 0;
      DELETE FROM $items WHERE id IN (SELECT id FROM gone);
      VACUUM $items;
    });
    check_index("${items}_v", $items, "$name round $round after DELETE and VACUUM");
    compute_exact($items, $q, $exact);
    note("$name round $round after VACUUM: " . (recall($items, $q, $exact))[1]);
    # The deleted vectors, each value moved by up to +-2, come back as new rows.
    $node->safe_psql('postgres', qq{
      SELECT setseed(0.$round);
      INSERT INTO $items (id, v)
        SELECT $next_id + row_number() OVER (ORDER BY id),
               (SELECT array_agg(x + (random() * 4 - 2) ORDER BY i) FROM unnest(g.v::real[]) WITH ORDINALITY u(x, i))::vector
        FROM gone g;
      DROP TABLE gone;
    });
    $next_id += $n;
    check_index("${items}_v", $items, "$name round $round after the new inserts");
    compute_exact($items, $q, $exact);
    note("$name round $round after the inserts: " . (recall($items, $q, $exact))[1]);
  }
  $node->safe_psql('postgres', "ANALYZE $items");
  my $size_churned = $node->safe_psql('postgres', "SELECT pg_relation_size('${items}_v')");

  # The same rows, indexed fresh.
  $node->safe_psql('postgres', qq{
    CREATE TABLE $fresh AS SELECT id, v FROM $items ORDER BY id;
    ALTER TABLE $fresh ADD PRIMARY KEY (id);
    CREATE INDEX ${fresh}_v ON $fresh USING hnsw (v vector_l2_ops) WITH (m = 16, ef_construction = 64);
    ANALYZE $fresh;
  });
  check_index("${fresh}_v", $fresh, "$name fresh index");
  my $size_fresh = $node->safe_psql('postgres', "SELECT pg_relation_size('${fresh}_v')");

  unlike($node->safe_psql('postgres', "$exact_settings EXPLAIN (COSTS OFF) " . exact_sql($items, $q)),
    qr/${items}_v/, "$name: exact answers come from a sequential scan");
  is($node->safe_psql('postgres', "SELECT count(*) FILTER (WHERE cardinality(ids) = $k) FROM $exact"),
    scalar(@$queries), "$name: exact answers have $k rows for every query");
  for my $t ($items, $fresh) {
    like($node->safe_psql('postgres', "SET enable_seqscan = off; EXPLAIN (COSTS OFF) "
        . "SELECT ARRAY(SELECT id FROM $t ORDER BY v <-> q.v LIMIT $k) FROM $q q"),
      qr/Index Scan using ${t}_v/, "$name: the queries on $t use ${t}_v");
  }
  my ($recall_churned, $churned_text) = recall($items, $q, $exact);
  my ($recall_fresh, $fresh_text) = recall($fresh, $q, $exact);
  note("$name, ef_search $ef_search, after $rounds churn round(s): churned index $churned_text; "
      . "fresh index $fresh_text");
  note("$name index size: built $size_built bytes, after churn $size_churned, fresh $size_fresh");
  cmp_ok($recall_fresh, '>=', 0.5, "$name: the fresh index finds most neighbours (the measurement works)");
  cmp_ok($recall_churned, '>=', $recall_fresh - 0.02, "$name: churned recall is within 0.02 of a fresh index's")
    or diag("$name churned index at ef_search 400: " . (recall($items, $q, $exact, 400))[1]);
}

if (-r "$data_dir/siftsmall/siftsmall_base.fvecs") {
  my $all = read_fvecs("$data_dir/siftsmall/siftsmall_base.fvecs");
  my $queries = read_fvecs("$data_dir/siftsmall/siftsmall_query.fvecs");
  push @$queries, @$all[ $#$all - 399 .. $#$all ];
  churn_case('sift', [ @$all[ 0 .. $#$all - 400 ] ], $queries);
} else {
  note("siftsmall not found in $data_dir: the SIFT case is skipped");
}
{
  my $all = clustered(10000, 128, 1);
  churn_case('clustered', [ @$all[ 0 .. 9499 ] ], [ @$all[ 9500 .. 9999 ] ]);
}

$node->stop;
done_testing();
