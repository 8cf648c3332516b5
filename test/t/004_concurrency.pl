# Concurrent inserts, scans and vacuum on one HNSW index, under pgbench.
#
# Phases, and the failure each check would catch:
#   A. first inserts into an empty index (m = 16), 4 clients at once, 5 rounds
#      (TRUNCATE between rounds). Checks: nodes = rows, no problem, every node
#      reachable (with 20 rows no neighbour list is full, so nothing is ever
#      pruned and every node must be linked).
#      Catches: two "first" inserts both installing an entry point (one node
#      orphaned), an entry point lost to a race on the metapage.
#   B. 4 clients insert (single rows and 5-row statements) while 2 clients run
#      `ORDER BY v <-> q LIMIT 10` with enable_seqscan = off, 15 s, m = 16.
#      Checks:
#      - pgbench exits 0, nothing on stderr, no failed transactions: catches
#        errors raised by a scan or insert that meets a half-written node or
#        neighbour list ("could not find node", malformed tuples, deadlocks
#        detected by Postgres);
#      - pgbench finishes within its time plus a margin: catches undetected
#        buffer-lock (LWLock) deadlocks, i.e. an inverted lock order;
#      - every scan (checked inside the pgbench script) returns 10 rows in
#        non-decreasing distance computed from the heap row: catches scans
#        that stop early while lists are rewired, and index entries pointing
#        at the wrong row;
#      - hnsw_check: missing_rows = 0, no problem, nodes = table rows, live
#        unreachable nodes <= 1 %: catches lost inserts, a node written twice,
#        links to nodes that do not exist, and lost neighbour-list updates
#        (a back-link overwritten by a racing insert leaves nodes orphaned);
#      - each of the newest 50 rows is found by an index scan on its own
#        vector: catches rows that are in the index but not linked in;
#      - hnsw_check run during the inserts reports no missing row: catches a
#        check that reads the table with a snapshot taken after the index
#        (rows committed in between look lost).
#   C. m = 2 and 2-dimensional vectors, starting empty: levels grow fast (one
#      node in 2^k reaches level k), so many inserts make a new top level
#      while others search from the old entry point; about 190 nodes share a
#      page, so all inserting clients append to the same page and rewrite
#      lists on the same pages. Same pgbench and hnsw_check checks, plus
#      entry_level >= 5 (the newest-rows check allows 3 misses of 50: m = 2
#      leaves ~0.1-2 % of the nodes with no in-link, by design, so the
#      unreachable ceiling is 5 % here). Catches: entry-point promotion races (a node above
#      the entry point's level is a structural problem), lost updates of a
#      page that several backends change at once.
#   D. VACUUM beside inserts and scans: the phase-B table, one client deletes
#      random old rows, one runs VACUUM in a loop, 3 insert, 1 scans, 12 s.
#      Same checks; after a final VACUUM, live nodes = table rows.
#      Catches: vacuum racing inserts (a new node linked to a node vacuum is
#      freeing, freed space reused while a scan still follows a link to it:
#      the scan check sees wrong rows or short results), a dead row's node
#      left live.
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('conc');
$node->init;
$node->append_conf('postgresql.conf', "max_connections = 40\nlog_min_messages = warning\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vecann');

my $script_no = 0;

# Writes a pgbench script file and returns its path.
sub script {
  my ($text) = @_;
  my $path = $node->basedir . '/script' . (++$script_no) . '.sql';
  PostgreSQL::Test::Utils::append_to_file($path, $text);
  return $path;
}

# pgbench script: one row of random floats.
sub insert_script {
  my ($table, $dims) = @_;
  return script("INSERT INTO $table (v) SELECT array_agg(random())::vector FROM generate_series(1, $dims);\n");
}

# pgbench script: five rows in one statement (one index insert after another
# in the same transaction).
sub insert5_script {
  my ($table, $dims) = @_;
  return script("INSERT INTO $table (v) SELECT (SELECT array_agg(random()) FROM generate_series(1, $dims) WHERE g > 0)::vector FROM generate_series(1, 5) g;\n");
}

# pgbench script: a nearest-neighbour query through the index (the client
# runs with enable_seqscan = off); it fails the transaction unless it returns
# 10 rows in non-decreasing distance, the distances computed from the rows
# the scan returned.
sub scan_script {
  my ($table, $dims) = @_;
  my $text = <<'EOS';
SELECT quote_literal(array_agg(random())::vector::text) AS q FROM generate_series(1, DIMS) \gset
SELECT count(*) AS n, count(*) FILTER (WHERE d < prev) AS unordered FROM (SELECT d, lag(d) OVER () AS prev FROM (SELECT v <-> :q AS d FROM TABLE ORDER BY v <-> :q LIMIT 10) s) s2 \gset
\if :n <> 10 OR :unordered > 0
DO $$BEGIN RAISE EXCEPTION 'index scan returned % rows instead of 10, % out of distance order', :n, :unordered; END$$;
\endif
EOS
  $text =~ s/DIMS/$dims/g;
  $text =~ s/TABLE/$table/g;
  return script($text);
}

# Starts pgbench in the background: returns a handle to pass to finish_pgbench.
sub start_pgbench {
  my (%o) = @_;
  my $h = { name => $o{name}, out => '', err => '', seconds => $o{seconds} };
  my @limit = $o{transactions} ? ('--transactions', $o{transactions}) : ('--time', $o{seconds});
  my @files = map { ('--file', $_) } @{ $o{files} };
  local $ENV{PGOPTIONS} = $o{pgoptions} // '';
  $h->{timer} = IPC::Run::timeout(($o{seconds} // 10) + 120);
  $h->{run} = IPC::Run::start(
    [ 'pgbench', '--no-vacuum', '--client', $o{clients}, '--jobs', ($o{clients} > 1 ? 2 : 1), @limit, @files,
      '--host', $node->host, '--port', $node->port, 'postgres' ],
    '>', \$h->{out}, '2>', \$h->{err}, $h->{timer});
  return $h;
}

# Waits for a pgbench run and checks that it went through without an error.
sub finish_pgbench {
  my ($h) = @_;
  my $ok = eval { $h->{run}->finish; 1 };
  if (!$ok) {
    # Still running long after its time: something waits forever.
    diag("$h->{name}: pgbench did not finish ($@); sessions:\n"
        . $node->safe_psql('postgres', q{SELECT pid, state, wait_event_type, wait_event, left(query, 80) FROM pg_stat_activity WHERE backend_type = 'client backend'}));
    $h->{run}->kill_kill;
    fail("$h->{name}: pgbench finished (no hang)");
    return 0;
  }
  pass("$h->{name}: pgbench finished (no hang)");
  my $rc = $h->{run}->result(0);
  is($rc, 0, "$h->{name}: pgbench exit code 0") or diag($h->{out} . $h->{err});
  is($h->{err}, '', "$h->{name}: nothing on stderr");
  my ($done) = $h->{out} =~ /number of transactions actually processed: (\d+)/;
  my ($failed) = $h->{out} =~ /number of failed transactions: (\d+)/;
  ok(defined $done && $done > 0, "$h->{name}: transactions ran") or diag($h->{out});
  is($failed // 0, 0, "$h->{name}: no failed transaction");
  note("$h->{name}: " . ($done // 0) . ' transactions');
  return $done // 0;
}

# Creates `table` (id bigserial, v vector(dims)) with `rows` random rows and an
# HNSW index `table_v`.
sub make_table {
  my ($table, $dims, $m, $efc, $rows) = @_;
  $node->safe_psql('postgres', qq{
    DROP TABLE IF EXISTS $table;
    CREATE TABLE $table (id bigserial PRIMARY KEY, v vector($dims));
    INSERT INTO $table (v)
      SELECT (SELECT array_agg(random()) FROM generate_series(1, $dims) WHERE g > 0)::vector
      FROM generate_series(1, $rows) g;
    CREATE INDEX ${table}_v ON $table USING hnsw (v vector_l2_ops) WITH (m = $m, ef_construction = $efc);
    ANALYZE $table;
  });
}

# hnsw_check of the table's index, as a hash.
sub check_row {
  my ($table) = @_;
  my $row = $node->safe_psql('postgres', qq{
    SELECT nodes, deleted_nodes, reachable_nodes, unreachable_nodes, table_rows, missing_rows, entry_level,
           cardinality(problems), array_to_string(problems, '; '), (SELECT count(*) FROM $table)
    FROM hnsw_check('${table}_v')});
  my %c;
  @c{qw(nodes deleted reachable unreachable table_rows missing entry_level nproblems problems count)} = split /\|/, $row, 10;
  return \%c;
}

# The checks every phase shares: the index agrees with its table.
sub check_index {
  my ($table, $what, %o) = @_;
  my $c = check_row($table);
  note("$what: $c->{count} rows, $c->{nodes} nodes ($c->{deleted} deleted), $c->{unreachable} live nodes "
      . "unreachable, entry level $c->{entry_level}");
  is($c->{nproblems}, '0', "$what: hnsw_check finds no structural problem") or diag($c->{problems});
  is($c->{missing}, '0', "$what: every row is in the index");
  is($c->{table_rows}, $c->{count}, "$what: hnsw_check saw every table row");
  is($c->{nodes} - $c->{deleted}, $c->{count}, "$what: live nodes = table rows");
  if (defined $o{max_unreachable_share}) {
    my $live = $c->{nodes} - $c->{deleted};
    ok($c->{unreachable} <= $o{max_unreachable_share} * $live,
      "$what: at most " . (100 * $o{max_unreachable_share}) . "% of live nodes unreachable ($c->{unreachable} of $live)");
  }
  return $c;
}

# Each of the newest `n` rows (all but `spare` of them) is found by an index
# scan on its own vector.
sub check_newest_found {
  my ($table, $what, $n, $spare) = @_;
  $spare //= 0;
  my $found = $node->safe_psql('postgres', qq{
    SET enable_seqscan = off; SET vecann.ef_search = 400;
    SELECT count(*) FROM (SELECT id, v FROM $table ORDER BY id DESC LIMIT $n) p
    WHERE p.id = (SELECT id FROM $table ORDER BY v <-> p.v LIMIT 1)});
  if ($spare) {
    cmp_ok($found, '>=', $n - $spare, "$what: an index scan finds at least " . ($n - $spare)
        . " of the newest $n rows by their vector ($found)");
  } else {
    is($found, $n, "$what: an index scan finds each of the newest $n rows by its vector");
  }
}

# The scan clients' query shape uses the index.
sub check_plan {
  my ($table, $dims) = @_;
  my $q = '[' . join(',', (0.5) x $dims) . ']';
  my $plan = $node->safe_psql('postgres',
    "SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT v <-> '$q' AS d FROM $table ORDER BY v <-> '$q' LIMIT 10");
  like($plan, qr/Index Scan using ${table}_v/, "$table: the scan clients' query is an index scan");
}

my $scan_opts = '-c enable_seqscan=off';

# --- A: first inserts racing into an empty index -----------------------------------
$node->safe_psql('postgres', q{
  CREATE TABLE firsts (id bigserial PRIMARY KEY, v vector(16));
  CREATE INDEX firsts_v ON firsts USING hnsw (v vector_l2_ops) WITH (m = 16, ef_construction = 64);
});
my $first_insert = insert_script('firsts', 16);
for my $round (1 .. 5) {
  $node->safe_psql('postgres', 'TRUNCATE firsts');
  my $h = start_pgbench(name => "A round $round", clients => 4, transactions => 5, files => [$first_insert]);
  finish_pgbench($h);
  my $c = check_index('firsts', "A round $round");
  is("$c->{nodes}/$c->{unreachable}", '20/0', "A round $round: 20 nodes, all reachable from the entry point");
}

# --- B: inserts and scans, m = 16 --------------------------------------------------
make_table('items', 32, 16, 64, 2000);
check_plan('items', 32);
{
  my $ins = start_pgbench(name => 'B inserts', clients => 4, seconds => 15,
    files => [ insert_script('items', 32) . '@9', insert5_script('items', 32) . '@1' ]);
  my $scan = start_pgbench(name => 'B scans', clients => 2, seconds => 15, pgoptions => $scan_opts,
    files => [ scan_script('items', 32) ]);
  # hnsw_check while rows keep coming: rows committed while it reads the
  # index must not count as rows the index lost.
  my @missing;
  for (1 .. 8) {
    push @missing, $node->safe_psql('postgres', "SELECT missing_rows FROM hnsw_check('items_v')");
    select(undef, undef, undef, 0.5);
  }
  is(join(',', @missing), join(',', ('0') x 8), 'B: hnsw_check during inserts reports no missing rows');
  finish_pgbench($ins);
  finish_pgbench($scan);
}
check_index('items', 'B', max_unreachable_share => 0.01);
check_newest_found('items', 'B', 50);

# --- C: new top levels and many nodes per page: m = 2, 2 dimensions ---------------
$node->safe_psql('postgres', q{
  CREATE TABLE tiny (id bigserial PRIMARY KEY, v vector(2));
  CREATE INDEX tiny_v ON tiny USING hnsw (v vector_l2_ops) WITH (m = 2, ef_construction = 8);
});
finish_pgbench(start_pgbench(name => 'C first 200 rows', clients => 4, transactions => 50,
  files => [ insert_script('tiny', 2) ]));
$node->safe_psql('postgres', 'ANALYZE tiny');
check_plan('tiny', 2);
my $level_before = check_row('tiny')->{entry_level};
{
  my $ins = start_pgbench(name => 'C inserts', clients => 4, seconds => 10,
    files => [ insert_script('tiny', 2) . '@9', insert5_script('tiny', 2) . '@1' ]);
  my $scan = start_pgbench(name => 'C scans', clients => 2, seconds => 10, pgoptions => $scan_opts,
    files => [ scan_script('tiny', 2) ]);
  finish_pgbench($ins);
  finish_pgbench($scan);
}
# With m = 2 a node keeps only 4 links at level 0, so the heuristic strands a
# few nodes by design: 0.13-1.7 % of them over four runs of this case. The
# ceiling is set above that spread; lost back-link updates strand far more.
my $c = check_index('tiny', 'C', max_unreachable_share => 0.05);
note("C: entry level $level_before after 200 rows, $c->{entry_level} at the end");
cmp_ok($c->{entry_level}, '>=', 5, 'C: the index grew new top levels');
my $pages = $node->safe_psql('postgres', "SELECT pg_relation_size('tiny_v') / 8192");
note("C: $c->{nodes} nodes on $pages pages");
# With m = 2 (4 links per node at level 0) about 0.1-0.2 % of the nodes end
# up with no in-link (unreachable_nodes above): allow 3 of the 50 to be missed.
check_newest_found('tiny', 'C', 50, 3);

# --- D: vacuum beside inserts and scans (the phase-B table) -------------------------
{
  my $delete = script("DELETE FROM items WHERE id IN (SELECT 1 + (random() * 2000)::int FROM generate_series(1, 20));\n"
      . "\\sleep 20 ms\n");
  my $vacuum = script("VACUUM items;\n\\sleep 200 ms\n");
  my $ins = start_pgbench(name => 'D inserts', clients => 3, seconds => 12,
    files => [ insert_script('items', 32) . '@9', insert5_script('items', 32) . '@1' ]);
  my $scan = start_pgbench(name => 'D scans', clients => 1, seconds => 12, pgoptions => $scan_opts,
    files => [ scan_script('items', 32) ]);
  my $del = start_pgbench(name => 'D deletes', clients => 1, seconds => 12, files => [$delete]);
  my $vac = start_pgbench(name => 'D vacuum', clients => 1, seconds => 12, files => [$vacuum]);
  finish_pgbench($_) for ($ins, $scan, $del, $vac);
}
$node->safe_psql('postgres', 'VACUUM (INDEX_CLEANUP ON) items');
check_index('items', 'D after VACUUM', max_unreachable_share => 0.01);
check_newest_found('items', 'D', 50);
my $old_left = $node->safe_psql('postgres', 'SELECT count(*) FROM items WHERE id <= 2000');
note("D: $old_left of the 2000 first rows left");

# Nothing alarming in the server log.
my $log = slurp_file($node->logfile);
unlike($log, qr/PANIC|TRAP:|terminated by signal/, 'no crash or assertion failure in the server log');

$node->stop;
done_testing();
