# The WAL of an index build, on both of its paths, with full_page_writes off.
#
# A build writes its in-memory graph without WAL and logs the pages once;
# past maintenance_work_mem it goes on inserting rows one by one with Generic
# WAL records. Those records carry only page deltas when full_page_writes is
# off, so every page they touch must have been logged before them. Here a
# streaming standby replays both kinds of builds (in memory, and the slow
# path, from 1 MB of maintenance_work_mem), then the primary crashes right
# after another slow-path build and recovers: the standby and the recovered
# primary must hold indexes that hnsw_check finds sound, with every row, and
# that answer queries as the primary did.
# Would catch: Generic WAL records of the slow path applied to pages a standby
# never received (it stops with "WAL contains references to invalid pages"),
# pages written without WAL and never logged, a build that logs its pages
# twice or not at all.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $dims = 32;
my $primary = PostgreSQL::Test::Cluster->new('build_primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "full_page_writes = off\nautovacuum = off\nmax_wal_size = 1GB\n");
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION vecann');
$primary->safe_psql('postgres', qq{
  SELECT setseed(0.5);
  CREATE TABLE items (id int PRIMARY KEY, v vector($dims));
  INSERT INTO items SELECT g, (SELECT array_agg(random()) FROM generate_series(1, $dims) WHERE g > 0)::vector
    FROM generate_series(1, 6000) g;
});
$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('build_standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;

# Builds an index; returns the NOTICEs it gave.
sub build {
  my ($name, $opclass, $mem, $with) = @_;
  my ($ret, $out, $err) = $primary->psql('postgres', qq{
    SET maintenance_work_mem = '$mem';
    CREATE INDEX $name ON items USING hnsw (v $opclass) WITH (m = 8, ef_construction = 32$with)});
  is($ret, 0, "$name: built") or diag($err);
  return $err;
}

sub check_index {
  my ($node, $name, $what) = @_;
  my $row = $node->safe_psql('postgres',
    "SELECT nodes, missing_rows, cardinality(problems), array_to_string(problems, '; ') FROM hnsw_check('$name')");
  my ($nodes, $missing, $nproblems, $problems) = split /\|/, $row, 4;
  is($nodes, '6000', "$what, $name: every row has a node");
  is($missing, '0', "$what, $name: no row is missing");
  is($nproblems, '0', "$what, $name: no structural problem") or diag($problems);
}

my $knn = sub {
  my ($op) = @_;
  return qq{SET enable_seqscan = off; SET vecann.ef_search = 100;
    SELECT string_agg(id::text, ',') FROM (SELECT id FROM items ORDER BY v $op (SELECT v FROM items WHERE id = 77) LIMIT 10) t};
};

my $notice = build('in_memory', 'vector_l2_ops', '256MB', '');
unlike($notice, qr/maintenance_work_mem/, 'in_memory: the build stays in memory');
$notice = build('slow_path', 'vector_l2_ops', '1MB', '');
like($notice, qr/no longer fits into maintenance_work_mem/, 'slow_path: the build goes past maintenance_work_mem');
$notice = build('slow_path_i8', 'vector_cosine_ops', '1MB', ", quantization = 'i8'");
like($notice, qr/no longer fits into maintenance_work_mem/, 'slow_path_i8: the build goes past maintenance_work_mem');

$primary->wait_for_catchup($standby);
for my $index ('in_memory', 'slow_path', 'slow_path_i8') {
  check_index($standby, $index, 'standby');
}
for my $op ('<->', '<=>') {
  is($standby->safe_psql('postgres', $knn->($op)), $primary->safe_psql('postgres', $knn->($op)),
    "the standby answers as the primary ($op)");
}
ok(!$standby->log_contains('invalid pages'), 'the standby met no references to invalid pages');

# A crash right after a slow-path build: recovery replays it from the WAL.
$primary->safe_psql('postgres', 'DROP INDEX in_memory, slow_path');
build('slow_again', 'vector_l2_ops', '1MB', '');
my $answer = $primary->safe_psql('postgres', $knn->('<->'));
$primary->stop('immediate');
$primary->start;
check_index($primary, 'slow_again', 'after a crash');
is($primary->safe_psql('postgres', $knn->('<->')), $answer, 'after a crash: the same nearest neighbours');

$primary->wait_for_catchup($standby);
check_index($standby, 'slow_again', 'standby after the crash');

done_testing();
