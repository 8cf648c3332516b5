# Write-path property test: a seeded pseudo-random interleaving of inserts,
# deletes, updates, VACUUM and cancelled VACUUM on one HNSW index, in one
# backend and with concurrent writers, checked after every step.
#
# Table t (id bigint primary key, v vector(16)), random vectors in [-1,1)^16.
# Each sequence starts with a fixed prefix, the reported reproduction:
#   3,000 rows (index built), delete all but 100, a throttled VACUUM
#   cancelled as soon as its pass 1 has marked the 2,900 nodes deleted,
#   insert 200 rows, VACUUM.
# It runs alone first on an index with the default options (m = 16,
# ef_construction = 64, as reported); then prefix and random steps run, the
# same sequence (same seed) on each of two indexes, each on a fresh table:
#   - vector_l2_ops, m = 6, ef_construction = 64 (float32): 5-6 levels and
#     ~60 node pages for 3,000 rows;
#   - vector_cosine_ops, m = 8, ef_construction = 64, quantization = 'i8'.
# (Not m = 4: inserts alone leave ~0.7 % of its nodes with no in-link, above
# the tolerance below; at m = 6 and 8 inserts alone leave none here, and
# self-queries on the built index find all but ~0.05 % of the rows.)
# The random part: VECANN_WRITE_STEPS (default 40) random steps, seeded by
# VECANN_WRITE_SEED (default 7; printed), then a final VACUUM:
#   - insert 1-300 rows, sometimes partly exact copies of existing vectors;
#   - delete a random fraction (5-60 %, or 60-97 %), or all but 0-100 rows, or
#     the rows of every node on the top two levels (found by reading the index
#     pages with pageinspect: that includes the entry point) plus 20 % more;
#   - update 1-200 rows to new random vectors, or a few rows to one existing
#     row's vector (duplicates);
#   - VACUUM (INDEX_CLEANUP ON), run to completion;
#   - a cancelled VACUUM: throttled (vacuum_cost_delay 2-5 ms,
#     vacuum_cost_limit 1-10) and stopped by statement_timeout, by
#     pg_cancel_backend after a random time, or by pg_cancel_backend right
#     after (0-300 ms after) pass 1 of ambulkdelete has flagged every dead
#     row's node, so that it stops between or inside passes 2 (repair) and 3
#     (remove) of src/hnsw/vacuum.cpp; the phase it was in is printed;
#   - concurrent: 2-3 pgbench clients insert, delete and update (each client
#     deletes and updates only its own ids) for 2 s while a VACUUM runs beside
#     them (half the time cancelled), sometimes after deleting all but 0-50
#     rows first so that VACUUM removes nearly every node while inserts run.
#   After a mass delete (> 60 %, all but N, top levels) the next step is a
#   cancelled VACUUM half the time, and after a cancelled VACUUM the next is
#   an insert half the time: the pattern of the reported defect.
# VECANN_WRITE_PREFIX=0 skips the fixed prefix (the random steps then start
# from 1,000 built rows), to see whether the random steps alone find a bug.
#
# After every step (with no other session running):
#   - hnsw_check('idx') reports no structural problem and missing_rows = 0
#     (every live table row has a live node), and it saw every row;
#   - after a VACUUM that completed (not cancelled, no concurrent writers; a
#     "cancelled" VACUUM that finished before its cancel counts, and so does
#     the VACUUM ANALYZE after the build): unreachable_nodes = 0 (every live node can be reached from the entry
#     point) and live nodes = table rows. After every other step the test
#     asserts only unreachable_nodes <= max(2, 0.5 % of live nodes) plus one
#     per 2m rows that are exact copies of another row: between VACUUMs an
#     insert's neighbours may prune a node's only incoming link (the
#     neighbour heuristic; exact copies of one vector link only to one
#     another and prune each other most), which the next VACUUM must then
#     repair; the strict 0 is asserted after completed VACUUMs only;
#   - self-queries: for up to 300 live rows (a seeded sample),
#     `SELECT id FROM t ORDER BY v <op> row.v LIMIT k` through the index
#     (enable_seqscan = off, vecann.ef_search = 100; EXPLAIN checked once per
#     index), k = the number of rows with exactly that vector: at least 99 % of
#     the sampled rows are among the returned rows (on small tables, misses
#     up to the unreachable nodes hnsw_check counts, at least one).
# Would catch: an insert that, while many nodes are flagged deleted (VACUUM
# between its passes, or cancelled after pass 1, as autovacuum routinely is),
# keeps only live candidates and ends with few or no links; a vacuum that
# moves the entry point to such an unlinked node, or leaves the entry point
# invalid while live nodes remain (the next insert then starts a new graph and
# orphans the old one); repair that strands survivors of mass deletes or of
# the deletion of the top levels; a cancelled VACUUM whose half-done passes
# the next one does not finish (flagged nodes left, links to removed nodes);
# space reuse after pass 3 that corrupts lists; rows lost by inserts or
# updates racing VACUUM.
use strict;
use warnings;
use IPC::Run;
use Time::HiRes qw(time usleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $seed = $ENV{VECANN_WRITE_SEED} // 7;
my $nsteps = $ENV{VECANN_WRITE_STEPS} // 40;
my $with_prefix = $ENV{VECANN_WRITE_PREFIX} // 1;
my $sample = 300;        # self-queries per check, at most
my $max_rows = 6000;     # above this, the next step deletes

diag("write paths: VECANN_WRITE_SEED=$seed VECANN_WRITE_STEPS=$nsteps VECANN_WRITE_PREFIX=$with_prefix");

my $node = PostgreSQL::Test::Cluster->new('write_paths');
$node->init;
$node->append_conf('postgresql.conf', "autovacuum = off\nmax_connections = 30\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vecann');
my $have_pageinspect = $node->psql('postgres', 'CREATE EXTENSION pageinspect') == 0;
note('pageinspect is not available: the "top levels" deletes become large random deletes') unless $have_pageinspect;

# --- psql sessions that stay open (no per-query notes, unlike BackgroundPsql) ----

sub session {
  my $s = { in => '', out => '', err => '', n => 0, timer => IPC::Run::timeout(300) };
  $s->{run} = IPC::Run::start(
    [ 'psql', '-XAtq', '-v', 'ON_ERROR_STOP=0', '-d', $node->connstr('postgres'), '-f', '-' ],
    '<', \$s->{in}, '>', \$s->{out}, '2>', \$s->{err}, $s->{timer});
  $s->{pid} = query($s, 'SELECT pg_backend_pid();');
  return $s;
}

# Sends SQL (statements ending in ';') without waiting for it.
sub send_sql {
  my ($s, $sql) = @_;
  $s->{tag} = 'vecann_done_' . ++$s->{n};
  $s->{in} .= "$sql\n\\echo $s->{tag}\n";
  $s->{timer}->start(300);
  $s->{run}->pump_nb;
}

sub sql_done {
  my ($s) = @_;
  $s->{run}->pump_nb;
  return $s->{out} =~ /\Q$s->{tag}\E\n/;
}

# Waits for what send_sql sent: (stdout, stderr).
sub wait_sql {
  my ($s) = @_;
  $s->{run}->pump until $s->{out} =~ /\Q$s->{tag}\E\n/;
  my $out = $s->{out};
  $out =~ s/\Q$s->{tag}\E\n//;
  chomp $out;
  my $err = $s->{err};
  $s->{out} = $s->{err} = '';
  return ($out, $err);
}

sub query {
  my ($s, $sql) = @_;
  send_sql($s, $sql);
  my ($out, $err) = wait_sql($s);
  die "query failed: $sql\n$err" if $err ne '';
  return $out;
}

sub quit_session {
  my ($s) = @_;
  $s->{in} .= "\\q\n";
  $s->{run}->finish;
}

# The checking session (also polls and cancels VACUUM) and the VACUUM session.
my $mon = session();
query($mon, 'SET enable_seqscan = off; SET vecann.ef_search = 100;');
my $vac = session();

# SQL prefixed with a seed for random() drawn from the test's generator, so
# that a step's rows and vectors follow from VECANN_WRITE_SEED.
sub seeded {
  my ($sql) = @_;
  return sprintf('SELECT setseed(%.6f);', 2 * rand() - 1) . "\n$sql";
}

sub run_sql {
  my ($sql) = @_;
  return $node->safe_psql('postgres', seeded($sql));
}

# A random vector, re-evaluated per row through the reference `corr`.
sub rvec {
  my ($corr) = @_;
  return "(SELECT array_agg(random() * 2 - 1) FROM generate_series(1, 16) WHERE $corr)::vector";
}

# --- hnsw_check and self-queries ------------------------------------------------------

sub hnsw_row {
  my $row = query($mon, q{SELECT nodes, deleted_nodes, reachable_nodes, unreachable_nodes, table_rows,
      missing_rows, entry_level, cardinality(problems), array_to_string(problems, '; '), (SELECT count(*) FROM t),
      (SELECT coalesce(sum(c), 0) FROM (SELECT count(*) AS c FROM t GROUP BY v::text HAVING count(*) > 1) g)
    FROM hnsw_check('idx');});
  my %c;
  @c{qw(nodes deleted reachable unreachable table_rows missing entry_level nproblems problems count copies)} =
    split /\|/, $row, 11;
  $c{live} = $c{nodes} - $c{deleted};
  return \%c;
}

# Up to $sample live rows, each looked up by its own vector through the index;
# k = the number of rows with exactly that vector (duplicates tie at 0).
sub self_query_sql {
  my ($op) = @_;
  return qq{SELECT count(*), count(*) FILTER (WHERE hit),
        coalesce(string_agg(id::text, ',' ORDER BY id) FILTER (WHERE NOT hit), '')
      FROM (SELECT s.id, s.id = ANY (ARRAY(SELECT t.id FROM t ORDER BY t.v $op s.v LIMIT d.c)) AS hit
            FROM (SELECT id, v FROM t ORDER BY random() LIMIT $sample) s
            JOIN (SELECT v::text AS key, count(*) AS c FROM t GROUP BY 1) d ON d.key = s.v::text) q};
}

sub self_queries {
  my ($cfg) = @_;
  query($mon, sprintf('SELECT setseed(%.6f);', 2 * rand() - 1));
  my ($n, $found, $missed) = split /\|/, query($mon, self_query_sql($cfg->{op}) . ';'), 3;
  return ($n, $found, $missed);
}

my @summary;
my $current = '';    # the step running, for the names of its tests
my $last_kind = '';  # 'mass delete', 'cancelled' (VACUUM) or ''

# The checks after a step. `completed`: the step was a VACUUM that ran to the
# end with no other writer, so the strict reachability applies (2: while
# hnsw_check watched it, so it may have left dead rows, see
# step_cancelled_vacuum; 1: alone, so live nodes = table rows too).
sub check_step {
  my ($cfg, $what, $completed) = @_;
  my $c = hnsw_row();
  my ($n, $found, $missed) = self_queries($cfg);
  my $line = sprintf('%-60s rows %4d, nodes %4d (%4d deleted), reachable %4d, unreachable %4d, missing %d, '
      . 'entry level %d, problems %d, self-queries %d of %d',
    $what, $c->{count}, $c->{nodes}, $c->{deleted}, $c->{reachable}, $c->{unreachable}, $c->{missing},
    $c->{entry_level}, $c->{nproblems}, $found, $n);
  note($line);
  push @summary, $line;
  is($c->{nproblems}, '0', "$what: hnsw_check finds no structural problem") or diag($c->{problems});
  ok($c->{missing} == 0 && $c->{table_rows} == $c->{count},
    "$what: every row has a node (missing_rows $c->{missing}, table_rows $c->{table_rows} of $c->{count})");
  if ($completed) {
    is($c->{unreachable}, '0',
      "$what: after a completed VACUUM every live node is reachable ($c->{unreachable} of $c->{live} not)");
    is($c->{live}, $c->{count}, "$what: after a completed VACUUM live nodes = table rows") if $completed == 1;
  } else {
    # Exact copies of one vector link only to one another (each shadows the
    # rest for the heuristic, and the free slots fill with copies at
    # distance 0), so a group larger than a level-0 list (2m) can leave
    # members without an incoming link until VACUUM: one per 2m such rows.
    my ($m) = $cfg->{with} =~ /\bm = (\d+)/;
    my $per_list = 2 * ($m // 16);
    my $base = 0.005 * $c->{live} > 2 ? 0.005 * $c->{live} : 2;
    my $allowed = $base + int($c->{copies} / $per_list);
    ok($c->{unreachable} <= $allowed,
      "$what: at most max(2, 0.5% of live nodes) + copies/2m unreachable ($c->{unreachable} of $c->{live}; "
      . "$c->{copies} rows have copies)");
  }
  # Two independent sources of misses, so their bounds add: the nodes
  # hnsw_check counts unreachable (many exact copies of one vector, inserted
  # on purpose, can leave some unlinked until the next VACUUM re-links them,
  # README "Not yet"; bounded by the reachability check above), and the
  # search's approximation among the reachable ones: at most 1% of the
  # sample (at least one). Seen once on 17: 2 unreachable and 1 reachable
  # miss among 263 rows, 203 of them copies.
  my $approx = int(0.01 * $n) > 1 ? int(0.01 * $n) : 1;
  my $misses_allowed = $c->{unreachable} + $approx;
  ok($n - $found <= $misses_allowed,
    "$what: self-queries find >= 99% of rows ($found of $n; $misses_allowed misses allowed)")
    or diag('missed ids: ' . (length($missed) > 300 ? substr($missed, 0, 300) . '...' : $missed));
  return $c;
}

# --- VACUUM, completed or cancelled ------------------------------------------------

# Runs VACUUM (INDEX_CLEANUP ON) t in $vac. Options: throttle => [delay ms,
# limit]; timeout_ms (statement_timeout); cancel_ms (pg_cancel_backend that
# long after it starts); cancel_marks => n (pg_cancel_backend once hnsw_check
# sees n nodes flagged deleted, i.e. pass 1 has marked them) with extra_ms more.
# Returns { cancelled, phase, how, seconds }.
sub run_vacuum {
  my (%o) = @_;
  my $set = 'SET vacuum_cost_delay = ' . ($o{throttle} ? "'$o{throttle}[0]ms'" : 0) . ';'
    . ' SET vacuum_cost_limit = ' . ($o{throttle} ? $o{throttle}[1] : 200) . ';'
    . ' SET statement_timeout = ' . ($o{timeout_ms} ? "'$o{timeout_ms}ms'" : 0) . ';';
  query($vac, $set);
  my $t0 = time;
  send_sql($vac, 'VACUUM (INDEX_CLEANUP ON) t;');
  my $r = { phase => '-', how => 'none' };
  if (defined $o{cancel_ms} || defined $o{cancel_marks}) {
    my $deadline = time + 120;
    # Until it runs.
    until (sql_done($vac) || time > $deadline
           || query($mon, "SELECT count(*) FROM pg_stat_activity WHERE pid = $vac->{pid} AND state = 'active';") == 1) {
      usleep(1000);
    }
    my $start = time;
    if (defined $o{cancel_marks}) {
      $r->{watched} = 1;
      until (sql_done($vac) || time > $deadline
             || query($mon, "SELECT deleted_nodes FROM hnsw_check('idx');") >= $o{cancel_marks}) {
        usleep(2000);
      }
      usleep(1000 * ($o{extra_ms} // 0));
      $r->{how} = sprintf('after pass 1 + %d ms', $o{extra_ms} // 0);
    } else {
      my $left = $o{cancel_ms} / 1000 - (time - $start);
      while ($left > 0 && !sql_done($vac)) {
        usleep(1000 * 5);
        $left = $o{cancel_ms} / 1000 - (time - $start);
      }
      $r->{how} = "pg_cancel_backend after $o{cancel_ms} ms";
    }
    if (!sql_done($vac)) {
      my ($phase) = split /\|/, query($mon, "SELECT coalesce((SELECT phase FROM pg_stat_progress_vacuum "
          . "WHERE pid = $vac->{pid}), '-'), pg_cancel_backend($vac->{pid});");
      $r->{phase} = $phase;
    }
  }
  $r->{how} = "statement_timeout $o{timeout_ms} ms" if $o{timeout_ms};
  my (undef, $err) = wait_sql($vac);
  $r->{seconds} = time - $t0;
  $r->{cancelled} = $err =~ /canceling statement due to (user request|statement timeout)/ ? 1 : 0;
  $err =~ s/^.*canceling statement due to (user request|statement timeout)\n//m;
  $err =~ s/^CONTEXT:.*\n//mg;
  is($err, '', "$current: VACUUM raised no error other than its cancellation");
  query($vac, 'RESET statement_timeout; RESET vacuum_cost_delay; RESET vacuum_cost_limit;');
  return $r;
}

sub vacuum_text {
  my ($r) = @_;
  return $r->{cancelled}
    ? sprintf('cancelled VACUUM (%s, phase %s, %.1f s)', $r->{how}, $r->{phase}, $r->{seconds})
    : sprintf('VACUUM ran to completion%s (%.1f s)', $r->{how} eq 'none' ? '' : " before its cancel ($r->{how})",
              $r->{seconds});
}

# --- pgbench for the concurrent steps --------------------------------------------------

my $script_no = 0;
sub script {
  my ($text) = @_;
  my $path = $node->basedir . '/write' . (++$script_no) . '.sql';
  PostgreSQL::Test::Utils::append_to_file($path, $text);
  return $path;
}
my @writer_scripts = (
  script("\\set n random(1, 20)\nINSERT INTO t (v) SELECT " . rvec('g > 0') . " FROM generate_series(1, :n) g;\n")
    . '@5',
  script("\\set n random(1, 15)\nDELETE FROM t WHERE id IN (SELECT id FROM t WHERE id % :nclients = :client_id "
      . "ORDER BY random() LIMIT :n);\n") . '@3',
  script("\\set n random(1, 15)\nUPDATE t SET v = " . rvec('t.id > 0') . " WHERE id IN (SELECT id FROM t "
      . "WHERE id % :nclients = :client_id ORDER BY random() LIMIT :n);\n") . '@2',
);

sub start_writers {
  my ($clients, $seconds) = @_;
  my $h = { out => '', err => '' };
  $h->{run} = IPC::Run::start(
    [ 'pgbench', '--no-vacuum', '--client', $clients, '--jobs', 1, '--time', $seconds,
      '--random-seed', int(rand(1e9)), '-D', "nclients=$clients", (map { ('--file', $_) } @writer_scripts),
      '--host', $node->host, '--port', $node->port, 'postgres' ],
    '>', \$h->{out}, '2>', \$h->{err}, IPC::Run::timeout($seconds + 180));
  return $h;
}

sub finish_writers {
  my ($h, $what) = @_;
  my $ok = eval { $h->{run}->finish; 1 };
  ok($ok && $h->{run}->result(0) == 0, "$what: pgbench writers finished, exit code 0") or diag("$@\n$h->{out}$h->{err}");
  my ($done) = $h->{out} =~ /number of transactions actually processed: (\d+)/;
  my ($failed) = $h->{out} =~ /number of failed transactions: (\d+)/;
  ok(($done // 0) > 0 && ($failed // 0) == 0, "$what: writers' transactions ran, none failed")
    or diag($h->{out} . $h->{err});
  return $done // 0;
}

# --- steps -----------------------------------------------------------------------------

sub row_count { return query($mon, 'SELECT count(*) FROM t;'); }

sub step_insert {
  my $n = rand() < 0.5 ? 1 + int(rand(30)) : 1 + int(rand(300));
  my $dup = rand() < 0.25 ? int($n * rand()) : 0;
  run_sql("INSERT INTO t (v) SELECT " . rvec('g > 0') . " FROM generate_series(1, " . ($n - $dup) . ") g;\n"
      . "INSERT INTO t (v) SELECT v FROM t ORDER BY random() LIMIT $dup;");
  return ("insert $n" . ($dup ? " ($dup copies of existing vectors)" : ''), 0);
}

# Heap TIDs of the live nodes on the top two levels (the entry point among
# them), read from the index pages (layout in src/hnsw/layout.h).
sub top_level_ctids {
  my $pages = query($mon, "SELECT encode(get_raw_page('idx', b::int), 'hex') "
      . "FROM generate_series(1, pg_relation_size('idx') / 8192 - 1) b ORDER BY b;");
  my @nodes;
  for my $hex (split /\n/, $pages) {
    my $page = pack('H*', $hex);
    my $lower = unpack('v', substr($page, 12, 2));
    for (my $lp = 24; $lp + 4 <= $lower; $lp += 4) {
      my $word = unpack('V', substr($page, $lp, 4));
      my ($off, $flags, $len) = ($word & 0x7fff, ($word >> 15) & 3, $word >> 17);
      next unless $flags == 1 && $len >= 8;
      my ($hi, $lo, $pos, $level, $nflags) = unpack('v v v C C', substr($page, $off, 8));
      next if $nflags & 1;
      push @nodes, [ $level, ($hi << 16 | $lo) . ",$pos" ];
    }
  }
  return (-1) unless @nodes;
  my $top = (sort { $b <=> $a } map { $_->[0] } @nodes)[0];
  return ($top, map { "($_->[1])" } grep { $_->[0] >= $top - 1 } @nodes);
}

sub step_delete {
  my $r = rand();
  if ($r < 0.4) {
    my $p = 0.05 + 0.55 * rand();
    run_sql("DELETE FROM t WHERE random() < $p;");
    return (sprintf('delete %.0f%%', 100 * $p), 0);
  }
  $last_kind = 'mass delete' if $r >= 0.4;
  if ($r < 0.6) {
    my $p = 0.6 + 0.37 * rand();
    run_sql("DELETE FROM t WHERE random() < $p;");
    return (sprintf('delete %.0f%%', 100 * $p), 0);
  }
  if ($r < 0.8 || !$have_pageinspect) {
    my $keep = int(rand(101));
    run_sql("DELETE FROM t WHERE id NOT IN (SELECT id FROM t ORDER BY random() LIMIT $keep);");
    return ("delete all but $keep rows", 0);
  }
  my $entry_level = hnsw_row()->{entry_level};
  my ($top, @ctids) = top_level_ctids();
  my $list = join(',', map { qq{"$_"} } @ctids);
  run_sql("DELETE FROM t WHERE ctid = ANY ('{$list}'::tid[]) OR random() < 0.2;");
  return ('delete the rows of the ' . scalar(@ctids) . " live nodes of levels >= " . ($top - 1)
      . " (entry level $entry_level) and 20% more", 0);
}

sub step_update {
  if (rand() < 0.2) {
    my $n = 2 + int(rand(9));
    run_sql("UPDATE t SET v = (SELECT v FROM t ORDER BY random() LIMIT 1) "
        . "WHERE id IN (SELECT id FROM t ORDER BY random() LIMIT $n);");
    return ("update $n rows to one existing vector", 0);
  }
  my $n = 1 + int(rand(200));
  run_sql("UPDATE t SET v = " . rvec('t.id > 0') . " WHERE id IN (SELECT id FROM t ORDER BY random() LIMIT $n);");
  return ("update $n rows", 0);
}

sub step_vacuum {
  my $r = run_vacuum();
  return (vacuum_text($r), !$r->{cancelled});
}

sub step_cancelled_vacuum {
  my $throttle = [ 2 + int(rand(4)), 1 + int(rand(10)) ];
  my $mode = rand();
  my %o = (throttle => $throttle);
  if ($mode < 0.3) {
    $o{timeout_ms} = 10 + int(rand(1500));
  } elsif ($mode < 0.6) {
    $o{cancel_ms} = int(rand(1500));
  } else {
    # Dead rows whose nodes pass 1 will flag (none: cancel at a random time).
    my $c = hnsw_row();
    my $extra = rand() < 0.4 ? 0 : int(rand(300));
    if ($c->{live} > $c->{count}) {
      $o{cancel_marks} = $c->{deleted} + ($c->{live} - $c->{count});
      $o{extra_ms} = $extra;
    } else {
      $o{cancel_ms} = 5 * $extra;
    }
  }
  my $r = run_vacuum(%o);
  $last_kind = 'cancelled';
  # A VACUUM watched through hnsw_check (which scans the table, pinning its
  # pages) may leave dead rows behind: PostgreSQL prunes a heap page only
  # under a cleanup lock and, failing to get one, skips that page's dead
  # rows until the next VACUUM (lazy_scan_noprune). Their nodes stay live
  # meanwhile, so such a VACUUM, when it completes, counts as completed for
  # reachability but not for "live nodes = table rows".
  my $completed = $r->{cancelled} ? 0 : $r->{watched} ? 2 : 1;
  return (vacuum_text($r) . " [cost delay $throttle->[0] ms, limit $throttle->[1]]", $completed);
}

sub step_concurrent {
  my $clients = 2 + int(rand(2));
  my $what = "$clients writers";
  if (rand() < 0.35) {
    my $keep = int(rand(51));
    run_sql("DELETE FROM t WHERE id NOT IN (SELECT id FROM t ORDER BY random() LIMIT $keep);");
    $what = "delete all but $keep rows, then $what";
  }
  my $c = hnsw_row();
  my $mode = rand();
  my %o;
  $o{throttle} = [ 1 + int(rand(3)), 5 + int(rand(50)) ] if rand() < 0.7;
  if ($mode < 0.25) {
    $o{cancel_ms} = 50 + int(rand(1500));
  } elsif ($mode < 0.5) {
    my $extra = int(rand(200));
    if ($c->{live} > $c->{count}) {
      $o{cancel_marks} = $c->{deleted} + ($c->{live} - $c->{count});
      $o{extra_ms} = $extra;
    } else {
      $o{cancel_ms} = 5 * $extra;
    }
  }
  my $w = start_writers($clients, 2);
  usleep(int(rand(400_000)));
  my $r = run_vacuum(%o);
  my $done = finish_writers($w, $current);
  return ("$what ($done transactions) beside " . vacuum_text($r), 0);
}

# Runs a step or its checks; an SQL error (a corrupt index, a failed insert)
# fails the test and the sequence goes on.
sub guarded {
  my ($what, $code) = @_;
  my @r = eval { $code->() };
  if ($@) {
    fail("$what: ran without an SQL error");
    diag($@);
    return;
  }
  return @r;
}

# --- the sequences ---------------------------------------------------------------------

my @configs = (
  { name => 'repro', opclass => 'vector_l2_ops', op => '<->', with => 'm = 16, ef_construction = 64', steps => 0 },
  { name => 'l2', opclass => 'vector_l2_ops', op => '<->', with => 'm = 6, ef_construction = 64' },
  { name => 'cos-i8', opclass => 'vector_cosine_ops', op => '<=>',
    with => "m = 8, ef_construction = 64, quantization = 'i8'" },
);

for my $cfg (@configs) {
  srand($seed);
  $last_kind = '';
  my $name = $cfg->{name};
  my $t0 = time;
  note("=== $name: hnsw ($cfg->{opclass}) WITH ($cfg->{with}), seed $seed ===");
  my $steps = $cfg->{steps} // $nsteps;
  next if !$with_prefix && !$steps;
  my $initial = $with_prefix ? 3000 : 1000;
  run_sql(qq{DROP TABLE IF EXISTS t; DROP SEQUENCE IF EXISTS t_id;
    CREATE SEQUENCE t_id;
    CREATE TABLE t (id bigint PRIMARY KEY DEFAULT nextval('t_id'), v vector(16));
    INSERT INTO t (v) SELECT } . rvec('g > 0') . qq{ FROM generate_series(1, $initial) g;
    CREATE INDEX idx ON t USING hnsw (v $cfg->{opclass}) WITH ($cfg->{with});
    VACUUM ANALYZE t;});
  like(query($mon, 'EXPLAIN (COSTS OFF) ' . self_query_sql($cfg->{op}) . ';'), qr/Index Scan using idx on t/,
    "$name: the self-queries use the index");
  guarded("$name: build", sub { check_step($cfg, "$name: $initial rows, index built, VACUUM ANALYZE", 1) });

  if ($with_prefix) {
    # The reported reproduction, step by step.
    $current = "$name prefix";
    guarded($current, sub {
      run_sql('DELETE FROM t WHERE id NOT IN (SELECT id FROM t ORDER BY random() LIMIT 100);');
      check_step($cfg, "$name prefix: delete all but 100 rows", 0);
      my $r = run_vacuum(throttle => [ 5, 1 ], cancel_marks => 2900, extra_ms => 0);
      my $after = check_step($cfg, "$name prefix: " . vacuum_text($r), !$r->{cancelled});
      ok($r->{cancelled} && $after->{deleted} == 2900,
        "$name prefix: the VACUUM was cancelled after pass 1 flagged 2900 nodes ($after->{deleted})");
      run_sql('INSERT INTO t (v) SELECT ' . rvec('g > 0') . ' FROM generate_series(1, 200) g;');
      check_step($cfg, "$name prefix: insert 200 rows", 0);
      $r = run_vacuum();
      check_step($cfg, "$name prefix: " . vacuum_text($r), !$r->{cancelled});
    });
  }

  for my $i (1 .. $steps) {
    my $x = rand();
    $current = "$name step $i";
    # After a mass delete, often a cancelled VACUUM; after that, often inserts
    # (the pattern of the reported defect, which plain chance makes rare).
    my $coin = rand();
    my $follow = $coin < 0.5 && ($last_kind eq 'mass delete' || $last_kind eq 'cancelled') ? $last_kind : '';
    $last_kind = '';
    my ($what, $completed) = guarded($current, sub {
      if (row_count() > $max_rows) {
        run_sql('DELETE FROM t WHERE random() < 0.5;');
        return ('delete 50% (table too large)', 0);
      }
      return step_cancelled_vacuum() if $follow eq 'mass delete';
      return step_insert() if $follow eq 'cancelled';
      return step_insert() if $x < 0.24;
      return step_delete() if $x < 0.42;
      return step_update() if $x < 0.54;
      return step_vacuum() if $x < 0.68;
      return step_cancelled_vacuum() if $x < 0.88;
      return step_concurrent();
    });
    guarded($current, sub { check_step($cfg, "$name step $i: " . ($what // 'failed step'), $completed) });
  }
  $current = "$name final";
  $steps and guarded($current, sub {
    my $r = run_vacuum();
    check_step($cfg, "$name final: " . vacuum_text($r), !$r->{cancelled});
  });
  note(sprintf('%s: %.0f s', $name, time - $t0));
}

diag("write paths, seed $seed, every step:\n" . join("\n", @summary));

quit_session($_) for ($mon, $vac);
my $log = slurp_file($node->logfile);
unlike($log, qr/PANIC|TRAP:|terminated by signal/, 'no crash or assertion failure in the server log');
$node->stop;
done_testing();
