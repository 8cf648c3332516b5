# Crash recovery and streaming replication of HNSW indexes.
#
# Each round runs concurrent inserts (pgbench, 4 clients), stops the server
# with an immediate shutdown at a random moment, restarts it, and checks that
# the index is consistent (hnsw_check finds no problem), that every committed
# row is in it, and that an index scan finds rows by their own vector. A crash
# during VACUUM after mass deletes gets the same checks. A streaming standby
# must pass the same check and answer queries exactly as the primary does.
# An unlogged table's index must be empty and usable after a crash.
# Everything is checked on two indexes of the same table: float32 storage
# (L2) and quantization = 'i8' (cosine, answers re-ordered by the executor).
# Would catch: missing or wrong WAL records (Generic WAL), pages written
# without WAL after the build, a torn metapage, init forks not logged.
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $dims = 16;
my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "max_wal_senders = 4\nwal_keep_size = 256MB\n");
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION vecann');
$primary->safe_psql('postgres', qq{
  CREATE TABLE items (id bigserial PRIMARY KEY, v vector($dims));
  INSERT INTO items (v)
    SELECT (SELECT array_agg(random()) FROM generate_series(1, $dims) WHERE g > 0)::vector
    FROM generate_series(1, 2000) g;
  CREATE INDEX items_v ON items USING hnsw (v vector_l2_ops) WITH (m = 8, ef_construction = 32);
  CREATE INDEX items_q ON items USING hnsw (v vector_cosine_ops) WITH (m = 8, ef_construction = 32, quantization = 'i8');
  CREATE UNLOGGED TABLE scratch (v vector(2));
  CREATE INDEX scratch_v ON scratch USING hnsw (v);
  INSERT INTO scratch VALUES ('[1,1]'), ('[2,2]');
});

$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;

my $insert_script = $primary->basedir . '/insert.sql';
PostgreSQL::Test::Utils::append_to_file($insert_script,
  "INSERT INTO items (v) SELECT array_agg(random())::vector FROM generate_series(1, $dims);\n");

# Each index agrees with the table: no structural problem, no committed row missing.
my %index_op = (items_v => '<->', items_q => '<=>');
sub check_index {
  my ($node, $what) = @_;
  for my $index (sort keys %index_op) {
    my $row = $node->safe_psql('postgres',
      "SELECT nodes > 0, missing_rows, cardinality(problems), unreachable_nodes, array_to_string(problems, '; ') FROM hnsw_check('$index')");
    my ($has_nodes, $missing, $nproblems, $unreachable, $problems) = split /\|/, $row, 5;
    note("$what, $index: $unreachable live nodes not reachable from the entry point (graph quality, not loss)");
    is($has_nodes, 't', "$what, $index: index has nodes");
    is($missing, '0', "$what, $index: every committed row is in the index");
    is($nproblems, '0', "$what, $index: no structural problem") or diag($problems);
    # Rows are found by their own vector through the index.
    my $op = $index_op{$index};
    my $found = $node->safe_psql('postgres', qq{
      SET enable_seqscan = off; SET vecann.ef_search = 200;
      SELECT count(*) FROM (SELECT id, v FROM items ORDER BY id DESC LIMIT 20) p
      WHERE p.id = (SELECT id FROM items ORDER BY v $op p.v LIMIT 1)});
    is($found, '20', "$what, $index: an index scan finds the newest rows by their vector");
  }
}

for my $round (1 .. 3) {
  my ($out, $err) = ('', '');
  my $bench = IPC::Run::start(
    [ 'pgbench', '--no-vacuum', '--client=4', '--jobs=2', '--time=20', '--file', $insert_script,
      '--host', $primary->host, '--port', $primary->port, 'postgres' ],
    '>', \$out, '2>', \$err);
  # Let the inserts run for a while, then pull the plug.
  my $before = $primary->safe_psql('postgres', 'SELECT count(*) FROM items');
  $primary->poll_query_until('postgres', "SELECT count(*) > $before + 200 + 100 * $round FROM items")
    or die "inserts did not progress";
  $primary->stop('immediate');
  $bench->finish;
  $primary->start;
  check_index($primary, "crash during inserts, round $round");
}

# A crash during VACUUM after mass deletes.
$primary->safe_psql('postgres', 'DELETE FROM items WHERE id % 2 = 0');
my ($vout, $verr) = ('', '');
my $vacuum = IPC::Run::start(
  [ 'psql', '-X', '-c', 'VACUUM items', '--host', $primary->host, '--port', $primary->port, 'postgres' ],
  '>', \$vout, '2>', \$verr);
select(undef, undef, undef, 0.05 + rand(0.3));
$primary->stop('immediate');
$vacuum->finish;
$primary->start;
check_index($primary, 'crash during vacuum');
$primary->safe_psql('postgres', 'VACUUM items');
check_index($primary, 'vacuum after recovery');
my $deleted_returned = $primary->safe_psql('postgres', q{
  SET enable_seqscan = off;
  SELECT count(*) FROM (SELECT id FROM items ORDER BY v <-> (SELECT v FROM items LIMIT 1) LIMIT 300) t
  WHERE id % 2 = 0});
is($deleted_returned, '0', 'deleted rows are not returned after recovery');

# The standby replays it all and answers as the primary does.
$primary->wait_for_catchup($standby);
check_index($standby, 'standby');
for my $op ('<->', '<=>') {
  my $query = qq{SET enable_seqscan = off; SET vecann.ef_search = 100;
    SELECT string_agg(id::text, ',') FROM (SELECT id FROM items ORDER BY v $op (SELECT v FROM items ORDER BY id LIMIT 1 OFFSET 77) LIMIT 10) t};
  is($standby->safe_psql('postgres', $query), $primary->safe_psql('postgres', $query),
    "the standby returns the primary's nearest neighbours ($op)");
}

# Unlogged: after a crash the table and index are empty, and usable.
$primary->stop('immediate');
$primary->start;
is($primary->safe_psql('postgres', 'SELECT count(*) FROM scratch'), '0', 'unlogged table is empty after a crash');
$primary->safe_psql('postgres', "INSERT INTO scratch VALUES ('[3,3]'), ('[4,4]')");
is($primary->safe_psql('postgres',
     "SET enable_seqscan = off; SELECT v FROM scratch ORDER BY v <-> '[3.1,3.1]' LIMIT 1"),
   '[3,3]', 'unlogged index is usable after a crash');
my ($un_nodes, $un_missing) = split /\|/, $primary->safe_psql('postgres', "SELECT nodes, missing_rows FROM hnsw_check('scratch_v')");
is("$un_nodes/$un_missing", '2/0', 'unlogged index holds exactly the new rows');

done_testing();
