# Crash recovery, streaming replication and corrupt pages of ivfflat indexes.
#
# Concurrent inserts (pgbench, 4 clients) into a table with two ivfflat
# indexes (float32 L2 with few lists, so lists grow new pages all the time;
# quantization = 'i8' cosine) are cut by an immediate shutdown, twice; so is
# a VACUUM after mass deletes. After each restart every committed row must be
# in each index (a scan of every list returns exactly the table's rows) and
# found by its own vector. A streaming standby must hold the same and answer
# as the primary does; an unlogged table's index must be empty and usable
# after a crash. Then pages of an index are corrupted on disk: each case must
# end in an error naming the index (or a result), never a crash or a hang.
# Would catch: missing or wrong WAL records (the new page, its link and the
# centroid's last page in one record), pages written without WAL after the
# build, init forks not logged, unchecked page contents.
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $dims = 16;
my $primary = PostgreSQL::Test::Cluster->new('primary');
# Data checksums off (18's initdb turns them on unless told not to), so that
# the corrupt pages below reach the index's own checks.
$primary->init(allows_streaming => 1, $primary->pg_version >= 18 ? (extra => ['--no-data-checksums']) : ());
$primary->append_conf('postgresql.conf', "max_wal_senders = 4\nwal_keep_size = 256MB\n");
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION vecann');
$primary->safe_psql('postgres', qq{
  CREATE TABLE items (id bigserial PRIMARY KEY, v vector($dims));
  INSERT INTO items (v)
    SELECT (SELECT array_agg(random()) FROM generate_series(1, $dims) WHERE g > 0)::vector
    FROM generate_series(1, 2000) g;
  CREATE INDEX items_v ON items USING ivfflat (v vector_l2_ops) WITH (lists = 4);
  CREATE INDEX items_q ON items USING ivfflat (v vector_cosine_ops) WITH (lists = 8, quantization = 'i8');
  CREATE UNLOGGED TABLE scratch (v vector(2));
  CREATE INDEX scratch_v ON scratch USING ivfflat (v) WITH (lists = 2);
  INSERT INTO scratch VALUES ('[1,1]'), ('[2,2]');
});

$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;

my $insert_script = $primary->basedir . '/insert.sql';
PostgreSQL::Test::Utils::append_to_file($insert_script,
  "INSERT INTO items (v) SELECT array_agg(random())::vector FROM generate_series(1, $dims);\n");

# Every list read (probes = lists), every row returned (relaxed order): the
# index holds exactly the table's rows, and finds the newest by their vector.
my %index_op = (items_v => '<->', items_q => '<=>');
my $all_lists = 'SET enable_seqscan = off; SET ivfflat.probes = 100; SET ivfflat.iterative_scan = relaxed_order;';
sub check_index {
  my ($node, $what) = @_;
  my $table_rows = $node->safe_psql('postgres', 'SELECT count(*) FROM items');
  for my $index (sort keys %index_op) {
    my $op = $index_op{$index};
    my ($rows, $distinct) = split /\|/, $node->safe_psql('postgres', qq{$all_lists
      SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM items ORDER BY v $op '[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1]' LIMIT 1000000) s});
    is("$rows/$distinct", "$table_rows/$table_rows", "$what, $index: the index holds each of the table's $table_rows rows once");
    my $found = $node->safe_psql('postgres', qq{$all_lists
      SELECT count(*) FROM (SELECT id, v FROM items ORDER BY id DESC LIMIT 20) p
      WHERE p.id = (SELECT id FROM items ORDER BY v $op p.v LIMIT 1)});
    is($found, '20', "$what, $index: an index scan finds the newest rows by their vector");
  }
}

for my $round (1 .. 2) {
  my ($out, $err) = ('', '');
  my $bench = IPC::Run::start(
    [ 'pgbench', '--no-vacuum', '--client=4', '--jobs=2', '--time=20', '--file', $insert_script,
      '--host', $primary->host, '--port', $primary->port, 'postgres' ],
    '>', \$out, '2>', \$err);
  my $before = $primary->safe_psql('postgres', 'SELECT count(*) FROM items');
  $primary->poll_query_until('postgres', "SELECT count(*) > $before + 300 + 200 * $round FROM items")
    or die "inserts did not progress";
  $primary->stop('immediate');
  $bench->finish;
  unlike($err, qr/contains corrupted|is not a vecann/, "round $round: no insert met a corrupted page before the crash") or diag($err);
  $primary->start;
  check_index($primary, "crash during inserts, round $round");
}

# A crash during VACUUM after mass deletes.
$primary->safe_psql('postgres', 'DELETE FROM items WHERE id % 2 = 0');
my ($vout, $verr) = ('', '');
my $vacuum = IPC::Run::start(
  [ 'psql', '-X', '-c', 'VACUUM items', '--host', $primary->host, '--port', $primary->port, 'postgres' ],
  '>', \$vout, '2>', \$verr);
select(undef, undef, undef, 0.02 + rand(0.1));
$primary->stop('immediate');
$vacuum->finish;
$primary->start;
$primary->safe_psql('postgres', 'VACUUM items');
check_index($primary, 'vacuum after a crash during vacuum');
my $index_rows = $primary->safe_psql('postgres', "SELECT reltuples::bigint FROM pg_class WHERE relname = 'items_v'");
is($index_rows, $primary->safe_psql('postgres', 'SELECT count(*) FROM items'), 'VACUUM counts the rows left in the index');

# The standby replays it all and answers as the primary does.
$primary->wait_for_catchup($standby);
check_index($standby, 'standby');
for my $op ('<->', '<=>') {
  my $query = qq{SET enable_seqscan = off; SET ivfflat.probes = 2;
    SELECT string_agg(id::text, ',') FROM (SELECT id FROM items ORDER BY v $op (SELECT v FROM items ORDER BY id LIMIT 1 OFFSET 77) LIMIT 10) t};
  is($standby->safe_psql('postgres', $query), $primary->safe_psql('postgres', $query),
    "the standby returns the primary's nearest neighbours ($op)");
}

# Unlogged: after a crash the table and index are empty, and usable.
$primary->stop('immediate');
$primary->start;
is($primary->safe_psql('postgres', 'SELECT count(*) FROM scratch'), '0', 'unlogged table is empty after a crash');
$primary->safe_psql('postgres', "INSERT INTO scratch VALUES ('[3,3]'), ('[4,4]'), ('[5,5]')");
is($primary->safe_psql('postgres',
     "SET enable_seqscan = off; SET ivfflat.iterative_scan = relaxed_order; SELECT string_agg(v::text, ' ') FROM (SELECT v FROM scratch ORDER BY v <-> '[3.1,3.1]' LIMIT 5) s"),
   '[3,3] [4,4] [5,5]', 'unlogged index holds exactly the new rows after a crash');
$standby->stop;

# ---- corrupt pages -----------------------------------------------------------------
# Layout (src/ivfflat/layout.h): page header 24 bytes (pd_lower @12, pd_upper
# @14, pd_special @16), line pointers from 24 (lp_off bits 0-14, lp_flags
# 15-16, lp_len 17-31); special space in the last 8 bytes: page type (u16),
# unused (u16), next block (u32). Block 0 the metapage, block 1 the centroid
# page (one for 4 lists), blocks 2.. list pages. A centroid tuple: first
# block (u32), last block (u32), the centroid; a list tuple: heap TID (6),
# unused (2), the code.
use constant BLCKSZ => 8192;
$primary->safe_psql('postgres', qq{
  CREATE TABLE c (id int, v vector($dims));
  INSERT INTO c SELECT g, (SELECT array_agg(random()) FROM generate_series(1, $dims) WHERE g > 0)::vector
    FROM generate_series(1, 3000) g;
  CREATE INDEX c_v ON c USING ivfflat (v) WITH (lists = 4);
  CHECKPOINT;
});
my $path = $primary->data_dir . '/' . $primary->safe_psql('postgres', "SELECT pg_relation_filepath('c_v')");
my $blocks = $primary->safe_psql('postgres', "SELECT pg_relation_size('c_v') / 8192");
$primary->stop;
my $pristine = do { open my $fh, '<:raw', $path or die "$path: $!"; local $/; <$fh> };

my $query = q{SET enable_seqscan = off; SET ivfflat.probes = 4; SET ivfflat.iterative_scan = relaxed_order;
  SELECT count(*) FROM (SELECT id FROM c ORDER BY v <-> (SELECT v FROM c LIMIT 1) LIMIT 5000) s};
sub corrupt_case {
  my ($what, $edit, $expect) = @_;
  my $bytes = $pristine;
  $edit->(\$bytes);
  open my $fh, '>:raw', $path or die "$path: $!";
  print $fh $bytes;
  close $fh or die "$path: $!";
  $primary->start;
  my ($rc, $out, $err) = $primary->psql('postgres', $query);
  my $insert_err = ($primary->psql('postgres', "INSERT INTO c VALUES (0, array_fill(0.5, ARRAY[$dims])::vector)"))[2];
  if ($expect eq 'error') {
    like($err, qr/index "c_v" (contains corrupted|is not a vecann ivfflat index)/, "$what: the scan reports the corruption");
  } else {
    ok($rc == 0 || $err =~ /index "c_v"/, "$what: a result or an error naming the index") or diag($err);
  }
  ok($insert_err eq '' || $insert_err =~ /index "c_v"/, "$what: an insert succeeds or names the index") or diag($insert_err);
  is($primary->safe_psql('postgres', 'SELECT 1'), '1', "$what: the server is still up");
  $primary->stop('immediate');
}
sub put { my ($buf, $pos, $format, @v) = @_; my $b = pack($format, @v); substr($$buf, $pos, length $b) = $b }

corrupt_case('metapage field changed (checksum)', sub { put($_[0], 24 + 16, 'V', 7) }, 'error');
corrupt_case('metapage page type', sub { put($_[0], BLCKSZ - 8, 'v', 0xA712) }, 'error');
corrupt_case('a list page links past the end', sub { put($_[0], 2 * BLCKSZ + BLCKSZ - 4, 'V', 0x7FFFFF00) }, 'error');
corrupt_case('a list page links to itself', sub { put($_[0], 2 * BLCKSZ + BLCKSZ - 4, 'V', 2) }, 'error');
corrupt_case('a list page links to the metapage', sub { put($_[0], 2 * BLCKSZ + BLCKSZ - 4, 'V', 0) }, 'error');
corrupt_case('a centroid names block 0 as its first page', sub {
  my ($buf) = @_;
  my $lp = unpack('V', substr($$buf, BLCKSZ + 24, 4));
  put($buf, BLCKSZ + ($lp & 0x7FFF), 'V', 0);
}, 'error');
corrupt_case('a list item longer than a row', sub {
  my ($buf) = @_;
  my $lp = unpack('V', substr($$buf, 2 * BLCKSZ + 24, 4));
  put($buf, 2 * BLCKSZ + 24, 'V', ($lp & 0x1FFFF) | ((((($lp >> 17) + 8)) & 0x7FFF) << 17));
}, 'error');
corrupt_case('a list page with its type wiped', sub { put($_[0], 3 * BLCKSZ + BLCKSZ - 8, 'v', 0) }, 'error');
for my $seed (1 .. 4) {
  corrupt_case("random bytes over list pages (seed $seed)", sub {
    my ($buf) = @_;
    srand($seed);
    for (1 .. 200) {
      my $pos = 2 * BLCKSZ + int(rand(($blocks - 2) * BLCKSZ));
      substr($$buf, $pos, 1) = chr(int(rand(256)));
    }
  }, 'any');
}
corrupt_case('random bytes over the centroid page', sub {
  my ($buf) = @_;
  srand(9);
  substr($$buf, BLCKSZ + 24 + int(rand(100)), 1) = chr(int(rand(256))) for 1 .. 100;
}, 'any');

done_testing();
