# Corrupt HNSW indexes: damage an index file with the server stopped, then use
# the index; vecann must report the damage, never crash, hang or write
# outside a page.
#
# One cluster (data checksums off, autovacuum off), one table of 3,000 rows
# (vector(8) and bit(64), seeded) and three HNSW indexes with m = 4 (about 90
# nodes per page): float32 L2, quantization = 'i8' cosine, and bit(64)
# Hamming. The cluster as built is kept in a copy. Each case restores that
# copy, damages one index's file in Perl (the server is stopped), starts the
# server and runs, each in its own psql session with statement_timeout:
#   check    SELECT * FROM hnsw_check(index) on the index as damaged
#   scan10   an index scan, ORDER BY ... LIMIT 10
#   scan200  LIMIT 200 (the search goes on past ef_search)
#   filter   WHERE id % 50 = 0 ... LIMIT 60 (the search walks the whole graph)
#   insert   INSERT of 30 rows (searches, adds nodes, rewrites neighbour lists)
#   vacuum   DELETE of one row in 40, then VACUUM (marks, repairs, removes)
#   check2   hnsw_check again
# The damage (see @cases): random bytes over node tuples and over whole node
# pages (with and without the page header), item lengths and offsets, line
# pointer flags, node levels and flags, neighbour links (block numbers past
# the end of the index, at and above 2^31, InvalidBlockNumber, the metapage;
# offsets 0xFFFF; self links), heap TIDs past the end of the table, of block
# 0xFFFFFFFF and with offsets 0 and 0xFFFF, every metapage field set to 0, to
# all ones and to plausible wrong values, page types, pd_special, all-zero
# pages, and files truncated. The float32, i8 and bit indexes each get a
# spread of these.
#
# Accepted outcome of each statement: success (the damage may go unnoticed),
# SQLSTATE XX002 (index_corrupted: what vecann raises when it validates what
# it read), or XX001 (data_corrupted: raised by PostgreSQL itself, e.g. when
# its page header check rejects a page read from disk, or a block past the
# end of a file is read). Anything else fails the case: 57014 (the statement
# ran into statement_timeout: a hang in a loop that checks for interrupts),
# no answer long after statement_timeout (a hang in a loop that does not:
# the server is then stopped in immediate mode and restarted), a lost
# connection (a crash), XX000 (an internal error, elog), any other SQLSTATE.
# And per case: the server did not restart, and the table has as many blocks
# after the scans (check, scan10, scan200, filter) as before: a heap TID of
# block 0xFFFFFFFF (InvalidBlockNumber, P_NEW to ReadBuffer) handed to the
# executor makes each row fetch extend the table by a page.
#
# How a restart is detected: a crash-restart does not change
# pg_postmaster_start_time(), and the statement that crashed reports only a
# lost connection, while others may not notice. The postmaster, however,
# always logs (at LOG, which log_min_messages passes by default) when a
# backend dies abnormally: "server process (PID n) was terminated by signal
# ..." or "... exited with exit code ...", then "terminating any other active
# server processes" and "all server processes terminated; reinitializing"
# (PANIC is logged by the backend itself). Each case scans the part of the
# server log written during the case for these. A shutdown the test asks for
# (immediate, after a hang) logs none of them (postgres's HandleChildCrash
# takes no action during an immediate shutdown).
#
# Backends run with an address-space limit (prlimit on the postmaster, when
# prlimit exists) so that a corrupt value that makes a backend allocate
# gigabytes fails that backend's statement (53200, a failure here) instead
# of calling the OOM killer onto the test machine.
#
# Would catch: metapage fields used without validation (dims, m, key_type,
# key_dims, storage, metric, entry point, levels); item pointers and lengths
# trusted (reads and writes outside the item or page); node levels above the
# tuple's size or the maximum; link block numbers not checked against the
# relation size (reads past the end, InvalidBlockNumber taken as P_NEW,
# arithmetic overflow in per-block tables); heap TIDs handed to the executor
# unchecked (a scan that extends the table); page types not checked; loops
# over on-disk data that are unbounded or do not check for interrupts; errors
# raised with the wrong SQLSTATE (elog, feature_not_supported, data
# exception) where the index is corrupt.
#
# VECANN_CORRUPTION_TIMEOUT sets statement_timeout in seconds (default 30).
use strict;
use warnings;
use File::Path qw(rmtree);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use constant BLCKSZ => 8192;

my $timeout_s = $ENV{VECANN_CORRUPTION_TIMEOUT} // 30;
# A statement that has not returned this long after it began ignores
# interrupts (statement_timeout cancels it within milliseconds otherwise).
my $outer_timeout = int(1.5 * $timeout_s) + 5;
my $dims = 8;
my $rows = 3000;

my $node = PostgreSQL::Test::Cluster->new('corruption');
# 18's initdb turns data checksums on unless told not to.
$node->init($node->pg_version >= 18 ? (extra => ['--no-data-checksums']) : ());
$node->append_conf('postgresql.conf', qq{
autovacuum = off
restart_after_crash = on
log_error_verbosity = verbose
jit = off
wal_recycle = off
min_wal_size = 32MB
max_wal_size = 256MB
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vecann');
is($node->safe_psql('postgres', 'SHOW data_checksums'), 'off', 'data checksums are off');

# Random values, seeded: each correlated subquery (WHERE g > 0) is evaluated per row.
my $vec_sql = "(SELECT array_agg(random()) FROM generate_series(1, $dims) WHERE g > 0)::vector";
my $bit_sql = "(SELECT string_agg((random() < 0.5)::int::text, '') FROM generate_series(1, 64) WHERE g > 0)::bit(64)";
$node->safe_psql('postgres', qq{
  SELECT setseed(0.5);
  CREATE TABLE t (id int, v vector($dims), b bit(64));
  INSERT INTO t SELECT g, $vec_sql, $bit_sql FROM generate_series(1, $rows) g;
  SET vecann.build_threads = 1;
  CREATE INDEX t_f32 ON t USING hnsw (v vector_l2_ops) WITH (m = 4, ef_construction = 16);
  CREATE INDEX t_i8 ON t USING hnsw (v vector_cosine_ops) WITH (m = 4, ef_construction = 16, quantization = 'i8');
  CREATE INDEX t_bit ON t USING hnsw (b bit_hamming_ops) WITH (m = 4, ef_construction = 16);
  VACUUM (FREEZE, ANALYZE) t;
  CHECKPOINT;
});

# The queries of each index: column, operator, two query values.
my $q1 = '[' . join(',', map { sprintf('%.3f', 0.1 + 0.1 * $_) } 0 .. $dims - 1) . ']';
my $q2 = '[' . join(',', map { sprintf('%.3f', 0.9 - 0.07 * $_) } 0 .. $dims - 1) . ']';
my %query = (
  t_f32 => [ 'v', '<->', "'$q1'", "'$q2'" ],
  t_i8  => [ 'v', '<=>', "'$q1'", "'$q2'" ],
  t_bit => [ 'b', '<~>', "B'" . ('0110' x 16) . "'", "B'" . ('1110001' x 9) . "0'" ],
);

# The statements of each case for an index: [name, SQL].
sub statements {
  my ($index) = @_;
  my ($col, $op, $qa, $qb) = @{ $query{$index} };
  my $scan = 'SET enable_seqscan = off; SET enable_bitmapscan = off;';
  return (
    [ check   => "SELECT * FROM hnsw_check('$index')" ],
    [ scan10  => "$scan SELECT id FROM t ORDER BY $col $op $qa LIMIT 10" ],
    [ scan200 => "$scan SELECT id FROM t ORDER BY $col $op $qb LIMIT 200" ],
    [ filter  => "$scan SELECT count(*) FROM (SELECT id FROM t WHERE id % 50 = 0 ORDER BY $col $op $qa LIMIT 60) s" ],
    [ insert  => "SELECT setseed(0.25); INSERT INTO t SELECT 100000 + g, $vec_sql, $bit_sql FROM generate_series(1, 30) g" ],
    [ vacuum  => 'DELETE FROM t WHERE id % 40 = 3; VACUUM t' ],
    [ check2  => "SELECT * FROM hnsw_check('$index')" ],
  );
}

# The plans use the indexes, and the pristine indexes are sound.
for my $index (sort keys %query) {
  my ($col, $op, $qa) = @{ $query{$index} };
  like($node->safe_psql('postgres',
      "SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM t ORDER BY $col $op $qa LIMIT 10"),
    qr/Index Scan using $index /, "the $index queries use $index");
  is($node->safe_psql('postgres', "SELECT nodes, missing_rows, cardinality(problems) FROM hnsw_check('$index')"),
    "$rows|0|0", "$index as built: every row, no problem");
}

my %relpath = map { $_ => $node->safe_psql('postgres', "SELECT pg_relation_filepath('$_')") } keys %query;
my $heap_blocks = $node->safe_psql('postgres', "SELECT pg_relation_size('t') / 8192");
$node->stop('fast');

# The whole cluster as built; each case starts from it (table, indexes, WAL),
# so no case sees another's changes or replays another's WAL.
my $pristine = $node->basedir . '/pristine';
system('cp', '-a', $node->data_dir, $pristine) == 0 or die "cp -a: $?";

sub restore_pristine {
  rmtree($node->data_dir);
  system('cp', '-a', $pristine, $node->data_dir) == 0 or die "cp -a: $?";
}

sub read_file_raw {
  my ($path) = @_;
  open my $fh, '<:raw', $path or die "$path: $!";
  local $/;
  my $bytes = <$fh>;
  close $fh;
  return $bytes;
}

sub write_file_raw {
  my ($path, $bytes) = @_;
  open my $fh, '>:raw', $path or die "$path: $!";
  print $fh $bytes;
  close $fh or die "$path: $!";
}

# ---- the on-disk layout (src/hnsw/layout.h) ------------------------------------
# Page header (24 bytes): pd_lower @12, pd_upper @14, pd_special @16; line
# pointers from 24, 4 bytes each (lp_off bits 0-14, lp_flags 15-16, lp_len
# 17-31); special space in the last 8 bytes, page type (u16) first.
# Metapage (block 0) from byte 24: HnswMetaData. A node tuple: heap TID (6),
# level (u8) @6, flags (u8) @7, 4*dims bytes of code, then 6-byte neighbour
# slots: 2m for level 0, then m for each level 1..L.
my %meta_field = (    # name => [byte offset in the page, pack format]
  magic           => [ 24, 'V' ],
  version         => [ 28, 'V' ],
  dims            => [ 32, 'v' ],
  metric          => [ 34, 'C' ],
  storage         => [ 35, 'C' ],
  m               => [ 36, 'v' ],
  ef_construction => [ 38, 'v' ],
  entry           => [ 40, 'v3' ],
  entry_level     => [ 46, 's<' ],
  max_level       => [ 48, 'v' ],
  key_type        => [ 50, 'C' ],
  key_dims        => [ 52, 'V' ],
  checksum        => [ 56, 'V' ],
);
use constant { PAGE_META => 0xA701, PAGE_NODES => 0xA702, SPECIAL_OFFSET => BLCKSZ - 8 };

sub put {
  my ($buf, $pos, $format, @values) = @_;
  my $bytes = pack($format, @values);
  substr($$buf, $pos, length $bytes) = $bytes;
}

sub random_bytes {
  my ($buf, $pos, $len, $seed) = @_;
  srand($seed);
  substr($$buf, $pos, $len) = pack('C*', map { int(rand(256)) } 1 .. $len);
}

sub tid_pack { my ($block, $offset) = @_; return ($block >> 16, $block & 0xFFFF, $offset) }

# What the pristine index file holds: metapage fields and every node.
sub parse_index {
  my ($bytes) = @_;
  my %x = (nblocks => length($bytes) / BLCKSZ);
  my @f = unpack('V V v C C v v v v v s< v C C V', substr($bytes, 24, 32));
  @x{qw(magic version dims metric storage m ef_construction)} = @f[ 0 .. 6 ];
  $x{entry_block} = ($f[7] << 16) | $f[8];
  $x{entry_offset} = $f[9];
  @x{qw(entry_level max_level key_type)} = @f[ 10 .. 12 ];
  $x{key_dims} = $f[14];
  die 'not a vecann index' unless $x{magic} == 0x56414E4E;
  for my $blk (1 .. $x{nblocks} - 1) {
    my $page = $blk * BLCKSZ;
    my $lower = unpack('v', substr($bytes, $page + 12, 2));
    for my $off (1 .. ($lower - 24) / 4) {
      my $lp_pos = $page + 24 + 4 * ($off - 1);
      my $lp = unpack('V', substr($bytes, $lp_pos, 4));
      next unless (($lp >> 15) & 3) == 1;    # LP_NORMAL
      my $pos = $page + ($lp & 0x7FFF);
      push @{ $x{nodes} }, {
        blk => $blk, off => $off, lp_pos => $lp_pos, pos => $pos, len => $lp >> 17,
        level => unpack('C', substr($bytes, $pos + 6, 1)) };
    }
  }
  ($x{entry}) = grep { $_->{blk} == $x{entry_block} && $_->{off} == $x{entry_offset} } @{ $x{nodes} };
  die 'entry point not found' unless $x{entry};
  return \%x;
}

sub level_start { my ($m, $l) = @_; return $l == 0 ? 0 : 2 * $m + ($l - 1) * $m }
sub level_count { my ($m, $l) = @_; return $l == 0 ? 2 * $m : $m }

# Byte position of slot k of `level`'s neighbour list of a node.
sub slot_pos {
  my ($x, $n, $level, $k) = @_;
  return $n->{pos} + 8 + 4 * $x->{dims} + 6 * (level_start($x->{m}, $level) + $k);
}

# Every slot of a node, all levels: [level, position].
sub all_slots {
  my ($x, $n) = @_;
  return map { my $l = $_; map { [ $l, slot_pos($x, $n, $l, $_) ] } 0 .. level_count($x->{m}, $l) - 1 } 0 .. $n->{level};
}

sub nodes_on { my ($x, $blk) = @_; return grep { $_->{blk} == $blk } @{ $x->{nodes} } }

# `count` nodes picked with a seed.
sub some_nodes {
  my ($x, $count, $seed) = @_;
  srand($seed);
  my @all = @{ $x->{nodes} };
  my %picked;
  $picked{ int(rand(@all)) } = 1 while keys %picked < $count;
  return @all[ sort { $a <=> $b } keys %picked ];
}

# Rewrites a line pointer's fields (undef keeps a field).
sub set_lp {
  my ($buf, $lp_pos, %set) = @_;
  my $lp = unpack('V', substr($$buf, $lp_pos, 4));
  my ($off, $flags, $len) = ($lp & 0x7FFF, ($lp >> 15) & 3, $lp >> 17);
  $off = $set{off} if defined $set{off};
  $flags = $set{flags} if defined $set{flags};
  $len = $set{len}->($len) if defined $set{len};
  put($buf, $lp_pos, 'V', ($off & 0x7FFF) | (($flags & 3) << 15) | (($len & 0x7FFF) << 17));
}

sub set_meta {
  my ($buf, $field, @values) = @_;
  my ($pos, $format) = @{ $meta_field{$field} };
  put($buf, $pos, $format, @values);
}

# ---- the damage cases -----------------------------------------------------------
# [name, index, sub(\$bytes, $info)]; each sub edits a copy of the pristine file.
my @cases;
sub add_case { push @cases, [@_] }

# Random bytes over whole node tuples (line pointers intact).
for my $c ([ 't_f32', 5, 1 ], [ 't_f32', 40, 2 ], [ 't_f32', 200, 3 ], [ 't_i8', 40, 4 ], [ 't_bit', 40, 5 ]) {
  my ($index, $count, $seed) = @$c;
  add_case("random bytes over $count node tuples (seed $seed)", $index, sub {
    my ($buf, $x) = @_;
    my $s = $seed * 1000;
    random_bytes($buf, $_->{pos}, $_->{len}, $s++) for some_nodes($x, $count, $seed);
  });
}
for my $index (qw(t_f32 t_i8 t_bit)) {
  add_case('random bytes over the entry point node', $index, sub {
    my ($buf, $x) = @_;
    random_bytes($buf, $x->{entry}{pos}, $x->{entry}{len}, 7);
  });
}
# Random bytes over pages: whole pages (the header too: postgres's header check
# rejects most), everything after the header (line pointers, tuples, special
# space), the tuple area only.
add_case('random bytes over node page 1 (whole page)', 't_f32', sub { random_bytes($_[0], 1 * BLCKSZ, BLCKSZ, 11) });
add_case('random bytes over the last page (whole page)', 't_i8', sub {
  random_bytes($_[0], ($_[1]{nblocks} - 1) * BLCKSZ, BLCKSZ, 12) });
for my $c ([ 't_f32', 2, 13 ], [ 't_f32', 5, 14 ], [ 't_i8', 1, 15 ], [ 't_bit', 1, 16 ]) {
  my ($index, $blk, $seed) = @$c;
  add_case("random bytes over page $blk after its header", $index, sub {
    random_bytes($_[0], $blk * BLCKSZ + 24, BLCKSZ - 24, $seed) });
}
add_case('random bytes over the tuple area of page 3', 't_f32', sub {
  my ($buf, $x) = @_;
  my $upper = unpack('v', substr($$buf, 3 * BLCKSZ + 14, 2));
  random_bytes($buf, 3 * BLCKSZ + $upper, SPECIAL_OFFSET - $upper, 17);
});

# Item lengths.
for my $c ([ '+8', sub { $_[0] + 8 } ], [ '0x7FFF', sub { 0x7FFF } ], [ '-6', sub { $_[0] - 6 } ],
           [ '8 (header only)', sub { 8 } ], [ '0', sub { 0 } ]) {
  my ($what, $f) = @$c;
  add_case("entry point lp_len $what", 't_f32', sub { set_lp($_[0], $_[1]{entry}{lp_pos}, len => $f) });
}
add_case('lp_len 0 for every item of page 1', 't_f32', sub {
  my ($buf, $x) = @_;
  set_lp($buf, $_->{lp_pos}, len => sub { 0 }) for nodes_on($x, 1);
});
add_case('lp_len +100 for every item of page 1', 't_i8', sub {
  my ($buf, $x) = @_;
  set_lp($buf, $_->{lp_pos}, len => sub { $_[0] + 100 }) for nodes_on($x, 1);
});
add_case('lp_len 1 for every item of page 1', 't_bit', sub {
  my ($buf, $x) = @_;
  set_lp($buf, $_->{lp_pos}, len => sub { 1 }) for nodes_on($x, 1);
});
add_case('lp_len -8 for every item of every page', 't_f32', sub {
  my ($buf, $x) = @_;
  set_lp($buf, $_->{lp_pos}, len => sub { $_[0] - 8 }) for @{ $x->{nodes} };
});
# Item offsets: outside the page, across its end, into the header and the
# line pointer array, into the special space, unaligned.
for my $c ([ 0x7FF8, 'outside the page' ], [ 8190, 'across the end of the page' ], [ 0, 'at the page header' ],
           [ 24, 'into the line pointers' ], [ SPECIAL_OFFSET, 'into the special space' ]) {
  my ($off, $what) = @$c;
  add_case("entry point lp_off $off ($what)", 't_f32', sub { set_lp($_[0], $_[1]{entry}{lp_pos}, off => $off) });
}
add_case('lp_off 0x7FFF for every item of page 2', 't_f32', sub {
  my ($buf, $x) = @_;
  set_lp($buf, $_->{lp_pos}, off => 0x7FFF) for nodes_on($x, 2);
});
add_case('lp_off 8000 for every item of page 1', 't_i8', sub {
  my ($buf, $x) = @_;
  set_lp($buf, $_->{lp_pos}, off => 8000) for nodes_on($x, 1);
});
add_case('entry point lp_off +1 (unaligned)', 't_bit', sub {
  set_lp($_[0], $_[1]{entry}{lp_pos}, off => ($_[1]{entry}{pos} % BLCKSZ) + 1) });
add_case('entry point lp_off 0x7FF8', 't_bit', sub { set_lp($_[0], $_[1]{entry}{lp_pos}, off => 0x7FF8) });
# Line pointer flags.
add_case('entry point line pointer LP_UNUSED', 't_f32', sub { set_lp($_[0], $_[1]{entry}{lp_pos}, flags => 0) });
add_case('every line pointer of page 1 LP_REDIRECT', 't_f32', sub {
  my ($buf, $x) = @_;
  set_lp($buf, $_->{lp_pos}, flags => 2) for nodes_on($x, 1);
});
add_case('every line pointer of page 1 LP_DEAD', 't_i8', sub {
  my ($buf, $x) = @_;
  set_lp($buf, $_->{lp_pos}, flags => 3) for nodes_on($x, 1);
});

# Node levels and flags.
my %level_case = (
  'entry point level 255'                         => [ sub { ($_[0]{entry}) },         sub { 255 } ],
  'entry point level max_level + 1'               => [ sub { ($_[0]{entry}) },         sub { $_[0]{max_level} + 1 } ],
  'entry point level 0'                           => [ sub { ($_[0]{entry}) },         sub { 0 } ],
  'level 255 for every node of page 1'            => [ sub { nodes_on($_[0], 1) },     sub { 255 } ],
  'level 0 nodes of page 1 at the entry level'    => [ sub { grep { $_->{level} == 0 } nodes_on($_[0], 1) },
                                                       sub { $_[0]{entry_level} } ],
  'level 0 for every node of level > 0'           => [ sub { grep { $_->{level} > 0 } @{ $_[0]{nodes} } },
                                                       sub { 0 } ],
  'level 1 for every node of level 0 (page 2..4)' => [ sub { grep { $_->{level} == 0 && $_->{blk} >= 2 && $_->{blk} <= 4 }
                                                       @{ $_[0]{nodes} } }, sub { 1 } ],
);
my @level_cases = (
  [ 'entry point level 255', 't_f32' ], [ 'entry point level max_level + 1', 't_f32' ],
  [ 'entry point level 0', 't_f32' ], [ 'level 255 for every node of page 1', 't_f32' ],
  [ 'level 0 nodes of page 1 at the entry level', 't_f32' ], [ 'level 0 for every node of level > 0', 't_f32' ],
  [ 'level 1 for every node of level 0 (page 2..4)', 't_f32' ],
  [ 'entry point level 255', 't_i8' ], [ 'level 0 nodes of page 1 at the entry level', 't_i8' ],
  [ 'entry point level 0', 't_bit' ], [ 'level 255 for every node of page 1', 't_bit' ],
  [ 'level 1 for every node of level 0 (page 2..4)', 't_bit' ],
);
for my $c (@level_cases) {
  my ($name, $index) = @$c;
  my ($which, $value) = @{ $level_case{$name} };
  add_case($name, $index, sub {
    my ($buf, $x) = @_;
    put($buf, $_->{pos} + 6, 'C', $value->($x)) for $which->($x);
  });
}
add_case('entry point flags 0xFF', 't_f32', sub { put($_[0], $_[1]{entry}{pos} + 7, 'C', 0xFF) });
add_case('flags 0xFE for every node of page 1', 't_i8', sub {
  my ($buf, $x) = @_;
  put($buf, $_->{pos} + 7, 'C', 0xFE) for nodes_on($x, 1);
});

# Neighbour links: block numbers past the end and the metapage, as every slot
# of the entry point (every search starts there) or as the first level-0 slot
# of every node (every search meets them).
my %link_block = (
  'nblocks'        => sub { $_[0]{nblocks} },
  'nblocks + 1000' => sub { $_[0]{nblocks} + 1000 },
  '0x7FFFFFFF'     => sub { 0x7FFFFFFF },
  '0x80000000'     => sub { 0x80000000 },
  '0xFFFFFFFE'     => sub { 0xFFFFFFFE },
  '0xFFFFFFFF'     => sub { 0xFFFFFFFF },
  '0 (metapage)'   => sub { 0 },
);
my @link_blocks = ('nblocks', 'nblocks + 1000', '0x7FFFFFFF', '0x80000000', '0xFFFFFFFE', '0xFFFFFFFF', '0 (metapage)');
for my $c ((map { [ 't_f32', 'entry', $_ ] } @link_blocks),
           (map { [ 't_f32', 'all', $_ ] } 'nblocks', '0x80000000', '0xFFFFFFFF', '0 (metapage)'),
           (map { [ 't_i8', 'entry', $_ ] } 'nblocks + 1000', '0x80000000', '0 (metapage)'),
           [ 't_i8', 'all', '0xFFFFFFFE' ],
           (map { [ 't_bit', 'entry', $_ ] } 'nblocks', '0x7FFFFFFF', '0xFFFFFFFF'),
           [ 't_bit', 'all', '0 (metapage)' ]) {
  my ($index, $where, $what) = @$c;
  my $name = $where eq 'entry' ? "every link of the entry point to block $what"
                               : "first link of every node to block $what";
  add_case($name, $index, sub {
    my ($buf, $x) = @_;
    my $block = $link_block{$what}->($x);
    if ($where eq 'entry') {
      put($buf, $_->[1], 'v3', tid_pack($block, 1)) for all_slots($x, $x->{entry});
    } else {
      put($buf, slot_pos($x, $_, 0, 0), 'v3', tid_pack($block, 1)) for @{ $x->{nodes} };
    }
  });
}
for my $index (qw(t_f32 t_bit)) {
  add_case('every link of the entry point to offset 0xFFFF', $index, sub {
    my ($buf, $x) = @_;
    put($buf, $_->[1], 'v3', tid_pack($x->{entry_block}, 0xFFFF)) for all_slots($x, $x->{entry});
  });
}
add_case('first link of every node to offset 0xFFFF of page 1', 't_i8', sub {
  my ($buf, $x) = @_;
  put($buf, slot_pos($x, $_, 0, 0), 'v3', tid_pack(1, 0xFFFF)) for @{ $x->{nodes} };
});
add_case('every link of the entry point to itself', 't_f32', sub {
  my ($buf, $x) = @_;
  put($buf, $_->[1], 'v3', tid_pack($x->{entry_block}, $x->{entry_offset})) for all_slots($x, $x->{entry});
});
add_case('random bytes over every link of 100 nodes', 't_f32', sub {
  my ($buf, $x) = @_;
  my $seed = 5000;
  for my $n (some_nodes($x, 100, 21)) {
    random_bytes($buf, $_->[1], 6, $seed++) for all_slots($x, $n);
  }
});

# Heap TIDs: past the end of the table (same segment; InvalidBlockNumber),
# offset 0, offset 0xFFFF.
for my $c ([ 't_f32', 'block past the end of the table', sub { ($heap_blocks + 5, 1) } ],
           [ 't_f32', 'block 0xFFFFFFFF', sub { (0xFFFFFFFF, 1) } ],
           [ 't_f32', 'offset 0', sub { (1, 0) } ],
           [ 't_i8', 'offset 0xFFFF', sub { (2, 0xFFFF) } ],
           [ 't_bit', 'block past the end of the table', sub { ($heap_blocks + 5, 1) } ],
           [ 't_bit', 'offset 0', sub { (3, 0) } ]) {
  my ($index, $what, $tid) = @$c;
  add_case("heap TID $what, every node", $index, sub {
    my ($buf, $x) = @_;
    put($buf, $_->{pos}, 'v3', tid_pack($tid->())) for @{ $x->{nodes} };
  });
}

# Metapage fields: each set to 0 and to all ones (float32 index), then
# plausible wrong values.
for my $field (sort keys %meta_field) {
  my ($pos, $format) = @{ $meta_field{$field} };
  my $width = length(pack($format, (0) x 3));
  # key_type 0 is the float32 index's own (vector); 'key_type = 0 (vector)' is a bit index case below.
  add_case("metapage $field = 0", 't_f32', sub { substr(${ $_[0] }, $pos, $width) = "\0" x $width })
    unless $field eq 'key_type';
  add_case("metapage $field = all ones", 't_f32', sub { substr(${ $_[0] }, $pos, $width) = "\xFF" x $width });
}
my @meta_cases = (
  [ 't_f32', 'dims + 1',            sub { set_meta($_[0], dims => $_[1]{dims} + 1) } ],
  [ 't_f32', 'dims - 1',            sub { set_meta($_[0], dims => $_[1]{dims} - 1) } ],
  [ 't_f32', 'dims 2000',           sub { set_meta($_[0], dims => 2000) } ],
  [ 't_i8',  'dims + 1',            sub { set_meta($_[0], dims => $_[1]{dims} + 1) } ],
  [ 't_bit', 'dims + 1',            sub { set_meta($_[0], dims => $_[1]{dims} + 1) } ],
  [ 't_f32', 'm = 2',               sub { set_meta($_[0], m => 2) } ],
  [ 't_f32', 'm = 200',             sub { set_meta($_[0], m => 200) } ],
  [ 't_i8',  'm = 200',             sub { set_meta($_[0], m => 200) } ],
  [ 't_bit', 'm = 2',               sub { set_meta($_[0], m => 2) } ],
  [ 't_f32', 'ef_construction = 1', sub { set_meta($_[0], ef_construction => 1) } ],
  [ 't_f32', 'key_type = 3 (bit)',  sub { set_meta($_[0], key_type => 3) } ],
  [ 't_f32', 'key_type = 2 (sparsevec)', sub { set_meta($_[0], key_type => 2) } ],
  [ 't_f32', 'key_type = 1 (halfvec)', sub { set_meta($_[0], key_type => 1) } ],
  [ 't_bit', 'key_type = 0 (vector)', sub { set_meta($_[0], key_type => 0) } ],
  [ 't_f32', 'key_dims + 1',        sub { set_meta($_[0], key_dims => $_[1]{key_dims} + 1) } ],
  [ 't_f32', 'key_dims 100000',     sub { set_meta($_[0], key_dims => 100000) } ],
  [ 't_i8',  'key_dims 0 (taken as dims, the code words)', sub { set_meta($_[0], key_dims => 0) } ],
  [ 't_i8',  'key_dims 4000',       sub { set_meta($_[0], key_dims => 4000) } ],
  [ 't_bit', 'key_dims 65',         sub { set_meta($_[0], key_dims => 65) } ],
  [ 't_bit', 'key_dims 4096',       sub { set_meta($_[0], key_dims => 4096) } ],
  [ 't_f32', 'metric 99',           sub { set_meta($_[0], metric => 99) } ],
  [ 't_f32', 'metric 5 (hamming)',  sub { set_meta($_[0], metric => 5) } ],
  [ 't_bit', 'metric 3 (cosine)',   sub { set_meta($_[0], metric => 3) } ],
  [ 't_f32', 'storage 99',          sub { set_meta($_[0], storage => 99) } ],
  [ 't_f32', 'storage 4 (i8)',      sub { set_meta($_[0], storage => 4) } ],
  [ 't_f32', 'storage 5 (bit)',     sub { set_meta($_[0], storage => 5) } ],
  [ 't_i8',  'storage 1 (f32)',     sub { set_meta($_[0], storage => 1) } ],
  [ 't_i8',  'storage 2 (f16)',     sub { set_meta($_[0], storage => 2) } ],
  [ 't_bit', 'storage 4 (i8)',      sub { set_meta($_[0], storage => 4) } ],
  [ 't_f32', 'entry past the end',  sub { set_meta($_[0], entry => tid_pack($_[1]{nblocks}, 1)) } ],
  [ 't_f32', 'entry block 0xFFFFFFFF', sub { set_meta($_[0], entry => tid_pack(0xFFFFFFFF, 1)) } ],
  [ 't_f32', 'entry (1,999), no such offset', sub { set_meta($_[0], entry => tid_pack(1, 999)) } ],
  [ 't_f32', 'entry (0,1), the metapage', sub { set_meta($_[0], entry => tid_pack(0, 1)) } ],
  [ 't_i8',  'entry past the end',  sub { set_meta($_[0], entry => tid_pack($_[1]{nblocks} + 7, 3)) } ],
  [ 't_bit', 'entry (1,999), no such offset', sub { set_meta($_[0], entry => tid_pack(1, 999)) } ],
  [ 't_f32', 'entry_level 100',     sub { set_meta($_[0], entry_level => 100) } ],
  [ 't_f32', 'entry_level -5',      sub { set_meta($_[0], entry_level => -5) } ],
  [ 't_f32', 'entry_level max_level + 1', sub { set_meta($_[0], entry_level => $_[1]{max_level} + 1) } ],
  [ 't_i8',  'entry_level 100',     sub { set_meta($_[0], entry_level => 100) } ],
  [ 't_bit', 'entry_level -5',      sub { set_meta($_[0], entry_level => -5) } ],
  [ 't_f32', 'max_level 200',       sub { set_meta($_[0], max_level => 200) } ],
  [ 't_bit', 'max_level 200',       sub { set_meta($_[0], max_level => 200) } ],
  [ 't_f32', 'magic wrong',         sub { set_meta($_[0], magic => 0x56414E4F) } ],
  [ 't_f32', 'version 3',           sub { set_meta($_[0], version => 3) } ],
  [ 't_f32', 'version 1 (no checksum: read as an older index)', sub { set_meta($_[0], version => 1) } ],
  [ 't_i8',  'checksum flipped',    sub { set_meta($_[0], checksum => 0x5A5A5A5A) } ],
  [ 't_i8',  'version 0',           sub { set_meta($_[0], version => 0) } ],
);
for my $c (@meta_cases) {
  my ($index, $what, $f) = @$c;
  add_case("metapage $what", $index, $f);
}
add_case('random bytes over the metapage fields', 't_f32', sub { random_bytes($_[0], 24, 32, 31) });
add_case('random bytes over the metapage fields', 't_i8', sub { random_bytes($_[0], 24, 32, 32) });

# Page types, pd_special, all-zero pages, truncation.
add_case('page 1 typed as a metapage', 't_f32', sub { put($_[0], 1 * BLCKSZ + SPECIAL_OFFSET, 'v', PAGE_META) });
add_case('page 2 of type 0x1234', 't_f32', sub { put($_[0], 2 * BLCKSZ + SPECIAL_OFFSET, 'v', 0x1234) });
add_case('every node page typed as a metapage', 't_bit', sub {
  put($_[0], $_ * BLCKSZ + SPECIAL_OFFSET, 'v', PAGE_META) for 1 .. $_[1]{nblocks} - 1 });
add_case('metapage typed as a node page', 't_f32', sub { put($_[0], SPECIAL_OFFSET, 'v', PAGE_NODES) });
add_case('metapage of type 0', 't_i8', sub { put($_[0], SPECIAL_OFFSET, 'v', 0) });
add_case('page 1 pd_special 8176', 't_f32', sub { put($_[0], 1 * BLCKSZ + 16, 'v', 8176) });
add_case('page 1 pd_special 8192 (no special space)', 't_f32', sub { put($_[0], 1 * BLCKSZ + 16, 'v', 8192) });
add_case('every node page pd_special 8192', 't_i8', sub { put($_[0], $_ * BLCKSZ + 16, 'v', 8192) for 1 .. $_[1]{nblocks} - 1 });
add_case('page 1 pd_special 8185 (unaligned)', 't_bit', sub { put($_[0], 1 * BLCKSZ + 16, 'v', 8185) });
add_case('metapage pd_special 8192', 't_f32', sub { put($_[0], 16, 'v', 8192) });
add_case('page 1 pd_lower = pd_upper', 't_f32', sub {
  put($_[0], 1 * BLCKSZ + 12, 'v', unpack('v', substr(${ $_[0] }, 1 * BLCKSZ + 14, 2))) });
for my $c ([ 't_f32', 1 ], [ 't_f32', 'entry' ], [ 't_i8', 'last' ], [ 't_bit', 2 ]) {
  my ($index, $which) = @$c;
  add_case("page $which all zeros", $index, sub {
    my ($buf, $x) = @_;
    my $blk = $which eq 'entry' ? $x->{entry_block} : $which eq 'last' ? $x->{nblocks} - 1 : $which;
    substr($$buf, $blk * BLCKSZ, BLCKSZ) = "\0" x BLCKSZ;
  });
}
add_case('metapage all zeros', 't_bit', sub { substr(${ $_[0] }, 0, BLCKSZ) = "\0" x BLCKSZ });
for my $c ([ 't_f32', 'to the metapage', sub { 1 } ], [ 't_f32', 'to half its pages', sub { int($_[0]{nblocks} / 2) } ],
           [ 't_i8', 'to half its pages', sub { int($_[0]{nblocks} / 2) } ],
           [ 't_bit', 'to the metapage', sub { 1 } ], [ 't_bit', 'to 0 bytes', sub { 0 } ]) {
  my ($index, $what, $blocks) = @$c;
  add_case("file truncated $what", $index, sub { ${ $_[0] } = substr(${ $_[0] }, 0, $blocks->($_[1]) * BLCKSZ) });
}

# ---- running the cases -----------------------------------------------------------
my $has_prlimit = system('sh', '-c', 'command -v prlimit >/dev/null') == 0;
note('prlimit not found: backends run without an address-space limit') unless $has_prlimit;

sub start_server {
  $node->start;
  return unless $has_prlimit;
  # 4 GB of address space per backend (shared memory included) is far more
  # than any statement here needs.
  my ($pid) = split /\n/, read_file_raw($node->data_dir . '/postmaster.pid');
  system('prlimit', "--pid=$pid", '--as=4294967296') == 0 or die "prlimit failed";
}

# Waits until the server accepts connections again (after a crash-restart).
sub wait_ready {
  $node->poll_query_until('postgres', 'SELECT true') or die 'the server did not come back';
}

# Runs one statement; returns [outcome, detail]. Outcome: ok, a SQLSTATE, or
# 'lost connection', 'no answer'.
sub run_statement {
  my ($sql) = @_;
  my ($out, $err, $timed_out) = ('', '', 0);
  my $ret = $node->psql('postgres', "SET statement_timeout = '${timeout_s}s';\n$sql",
    stdout => \$out, stderr => \$err, extra_params => [ '-v', 'VERBOSITY=verbose' ],
    timeout => $outer_timeout, timed_out => \$timed_out);
  if ($timed_out) {
    # The backend ignores the cancel: only SIGQUIT stops it.
    $node->stop('immediate');
    start_server();
    return [ 'no answer', "no answer ${outer_timeout}s after the statement began (statement_timeout ${timeout_s}s)" ];
  }
  return [ 'ok', '' ] if $ret == 0;
  if ($err =~ /\b(?:ERROR|FATAL|PANIC):\s+([0-9A-Z]{5}):\s*(.*)/) {
    my ($code, $message) = ($1, $2);
    my ($detail) = $err =~ /DETAIL:\s*(.*)/;
    my ($location) = $err =~ /LOCATION:\s*(.*)/;
    wait_ready() if $ret == 2;
    return [ $code, $message . ($detail ? " ($detail)" : '') . ($location ? " [$location]" : '') ];
  }
  if ($ret == 2 || $err =~ /server closed the connection|connection to server was lost/) {
    wait_ready();
    return [ 'lost connection', join(' ', grep { /\S/ } split /\n/, $err) ];
  }
  return [ "psql $ret", $err ];
}

sub log_since {
  my ($offset) = @_;
  open my $fh, '<', $node->logfile or die $node->logfile . ": $!";
  seek($fh, $offset, 0);
  local $/;
  my $text = <$fh> // '';
  close $fh;
  return $text;
}

my $crash_pattern = qr/server process \(PID \d+\) (?:was terminated by|exited with exit code)|terminating any other active server processes|all server processes terminated; reinitializing|\bPANIC:/;
my %acceptable = (ok => 1, XX002 => 1, XX001 => 1);

my %info;
my %pristine_bytes;
for my $index (keys %query) {
  $pristine_bytes{$index} = read_file_raw("$pristine/$relpath{$index}");
  $info{$index} = parse_index($pristine_bytes{$index});
  my $x = $info{$index};
  note(sprintf('%s: %d blocks, %d nodes, dims %d, m %d, entry (%d,%d) level %d, max_level %d', $index, $x->{nblocks},
    scalar @{ $x->{nodes} }, $x->{dims}, $x->{m}, $x->{entry_block}, $x->{entry_offset}, $x->{entry_level},
    $x->{max_level}));
}

my (%summary, @failed_cases);
sub run_case {
  my ($name, $index, $damage) = @_;
  restore_pristine();
  if ($damage) {
    my $bytes = $pristine_bytes{$index};
    $damage->(\$bytes, $info{$index});
    die "$name: the damage changed nothing" if $bytes eq $pristine_bytes{$index};
    write_file_raw($node->data_dir . "/$relpath{$index}", $bytes);
  }
  my $log_offset = -s $node->logfile;
  start_server();
  my (@outcomes, @errors, @bad, $heap_after_scans);
  for my $st (statements($index)) {
    my ($what, $sql) = @$st;
    my ($outcome, $detail) = @{ run_statement($sql) };
    push @outcomes, "$what=$outcome";
    push @errors, "  $what: $outcome: " . substr($detail, 0, 300) unless $outcome eq 'ok';
    push @bad, "$what: $outcome: $detail" unless $acceptable{$outcome};
    $summary{$outcome}++;
    if ($what eq 'filter') {
      # Only statements that write rows may change the table's size.
      my $timed_out = 0;
      my ($ret, $out) = $node->psql('postgres', "SELECT pg_relation_size('t') / 8192",
        timeout => $outer_timeout, timed_out => \$timed_out);
      $heap_after_scans = $timed_out ? 'unknown (no answer)' : $ret ? "unknown (psql $ret)" : $out;
    }
  }
  $node->stop('fast', fail_ok => 1) or $node->stop('immediate');
  my @crash_lines = grep { /$crash_pattern|Failed process was running/ } split /\n/, log_since($log_offset);
  note(join("\n", "$index, $name: @outcomes", @errors));
  ok(!@bad, "$index, $name: every statement succeeds or fails with XX002 or XX001")
    or diag(join("\n", @bad));
  ok(!@crash_lines, "$index, $name: the server did not restart") or diag(join("\n", @crash_lines));
  my $heap_same = defined $heap_after_scans && $heap_after_scans eq $heap_blocks;
  ok($heap_same, "$index, $name: the scans left the table's size alone")
    or diag("the table has " . ($heap_after_scans // 'unknown') . " blocks after the scans, $heap_blocks before");
  push @failed_cases, "$index, $name" if @bad || @crash_lines || !$heap_same;
}

# The harness itself: on the undamaged cluster every statement succeeds.
for my $index (sort keys %query) {
  run_case('no damage (baseline)', $index, undef);
}
for my $c (@cases) {
  run_case(@$c);
}
note('outcomes of all statements: ' . join(', ', map { "$_ $summary{$_}" } sort keys %summary));
note(scalar(@failed_cases) . ' of ' . (scalar(@cases) + 3) . ' cases failed');

done_testing();
