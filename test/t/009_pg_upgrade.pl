# pg_upgrade of a database with vecann indexes from an older major version
# (VECANN_OLD_BINDIR, set by scripts/test-versions.sh to the bindir of the
# previous version it tested, with vecann installed there) to the version
# under test. pg_upgrade copies the index files as they are, so the new
# server must read the old pages: after the upgrade each index (vector L2,
# vector cosine with i8 codes, halfvec L2) must be used by EXPLAIN, give the
# answers it gave before, pass hnsw_check, and take inserts (a new row is
# found through it) and VACUUM.
# Would catch: an on-disk layout or metapage read that depends on the
# server version, an extension script that a binary upgrade cannot replay,
# a library that does not load in the new server.
use strict;
use warnings;
use File::Basename qw(dirname);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $old_bindir = $ENV{VECANN_OLD_BINDIR} // '';
plan skip_all => 'no older PostgreSQL with vecann (VECANN_OLD_BINDIR)' if $old_bindir eq '';

my $old = PostgreSQL::Test::Cluster->new('old', install_path => dirname($old_bindir));
my $new = PostgreSQL::Test::Cluster->new('new');
plan skip_all => 'VECANN_OLD_BINDIR is not an older major version'
  unless $old->pg_version->major < $new->pg_version->major;
# Data checksums must agree; 18's initdb enables them by default, older ones not.
$old->init(extra => ['--data-checksums']);
$new->init(extra => ['--data-checksums']);
$old->start;
my $old_version = $old->pg_version;
my $new_version = $new->pg_version;

# Deterministic pseudo-random components in [-1, 1): bits of md5(row, position).
sub vec_expr {
  my ($dims, $row) = @_;
  return "(SELECT array_agg((('x' || substr(md5(($row) || ':' || k), 1, 8))::bit(32)::int / 2147483648.0)::real ORDER BY k)"
    . " FROM generate_series(1, $dims) k)::real[]";
}
my $v = vec_expr(16, 'g');
$old->safe_psql('postgres', qq{
  CREATE EXTENSION vecann;
  CREATE TABLE items (id int PRIMARY KEY, v vector(16), h halfvec(16));
  INSERT INTO items SELECT g, ${v}::vector, ${v}::vector::halfvec FROM generate_series(1, 3000) g;
  CREATE INDEX items_l2 ON items USING hnsw (v vector_l2_ops);
  CREATE INDEX items_cos_i8 ON items USING hnsw (v vector_cosine_ops) WITH (quantization = 'i8');
  CREATE INDEX items_half ON items USING hnsw (h halfvec_l2_ops);
  DELETE FROM items WHERE id % 10 = 0;
  VACUUM items;
});

my %queries = (
  items_l2 => 'ORDER BY v <-> (SELECT v FROM items WHERE id = 7)',
  items_cos_i8 => 'ORDER BY v <=> (SELECT v FROM items WHERE id = 13)',
  items_half => 'ORDER BY h <-> (SELECT h FROM items WHERE id = 21)',
);
my $settings = 'SET enable_seqscan = off; SET vecann.ef_search = 200;';
sub answers {
  my ($node) = @_;
  my %out;
  for my $index (sort keys %queries) {
    $out{$index} = $node->safe_psql('postgres',
      "$settings SELECT string_agg(id::text, ',') FROM (SELECT id FROM items $queries{$index} LIMIT 20) s");
  }
  return %out;
}
my %before = answers($old);
my $ext_version = $old->safe_psql('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'vecann'");
$old->stop;

# Its sockets go to a short directory of their own (socket paths are short).
my $work = PostgreSQL::Test::Utils::tempdir_short();
command_ok(
  [ 'pg_upgrade', '--no-sync',
    '-d', $old->data_dir, '-D', $new->data_dir,
    '-b', $old_bindir, '-B', $new->config_data('--bindir'),
    '-s', $work, '-p', $old->port, '-P', $new->port ],
  "pg_upgrade from $old_version to $new_version");
$new->start;

is($new->safe_psql('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'vecann'"),
  $ext_version, 'the extension is there after the upgrade, at the same version');

my %after = answers($new);
for my $index (sort keys %queries) {
  my $plan = $new->safe_psql('postgres', "$settings EXPLAIN (COSTS OFF) SELECT id FROM items $queries{$index} LIMIT 20");
  like($plan, qr/Index Scan using $index on items/, "$index is used after the upgrade");
  isnt($after{$index}, '', "$index answers");
  is($after{$index}, $before{$index}, "$index gives the answers it gave before the upgrade");
  is($new->safe_psql('postgres', "SELECT problems FROM hnsw_check('$index')"), '{}',
    "hnsw_check finds no problem in $index");
}

# The upgraded indexes take writes: new rows are found, VACUUM passes.
$new->safe_psql('postgres', qq{
  INSERT INTO items SELECT g, ${v}::vector, ${v}::vector::halfvec FROM generate_series(3001, 3500) g;
  DELETE FROM items WHERE id % 10 = 1;
  VACUUM items;
});
my %new_row = (
  items_l2 => 'ORDER BY v <-> (SELECT v FROM items WHERE id = 3333)',
  items_cos_i8 => 'ORDER BY v <=> (SELECT v FROM items WHERE id = 3333)',
  items_half => 'ORDER BY h <-> (SELECT h FROM items WHERE id = 3333)',
);
for my $index (sort keys %new_row) {
  like($new->safe_psql('postgres', "$settings EXPLAIN (COSTS OFF) SELECT id FROM items $new_row{$index} LIMIT 1"),
    qr/Index Scan using $index on items/, "$index is used for the new row");
  is($new->safe_psql('postgres', "$settings SELECT id FROM items $new_row{$index} LIMIT 1"),
    '3333', "a row inserted after the upgrade is its own nearest neighbour through $index");
}
for my $index (sort keys %queries) {
  is($new->safe_psql('postgres', "SELECT problems FROM hnsw_check('$index')"), '{}',
    "hnsw_check finds no problem in $index after writes");
}

$new->stop;
done_testing();
