# What vecann does differently on newer PostgreSQL versions, on purpose:
#   - on 17+, hnsw_check evaluates index expressions with search_path
#     restricted to pg_catalog, pg_temp (as the server's maintenance commands
#     and amcheck do there); before 17 with the caller's search_path;
#   - on 18, the library names itself and its version to the server
#     (pg_get_loaded_modules()), and that version is the extension's.
# Would catch: a compatibility shim that is compiled for the wrong versions.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('versions');
$node->init;
$node->start;
my $major = $node->pg_version->major;

$node->safe_psql('postgres', q{
  CREATE EXTENSION vecann;
  CREATE FUNCTION show_path(v vector) RETURNS vector LANGUAGE plpgsql IMMUTABLE AS $$
  BEGIN
    RAISE NOTICE 'search_path is %', current_setting('search_path');
    RETURN v;
  END $$;
  CREATE TABLE t (v vector(3));
  INSERT INTO t VALUES ('[1,2,3]');
  CREATE INDEX t_expr ON t USING hnsw ((show_path(v)::vector(3)) vector_l2_ops);
});
my ($stdout, $stderr);
$node->psql('postgres', q{SET search_path = public, pg_catalog; SELECT problems FROM hnsw_check('t_expr')},
  stdout => \$stdout, stderr => \$stderr, on_error_die => 1);
is($stdout, '{}', 'hnsw_check passes');
my $want = $major >= 17 ? 'pg_catalog, pg_temp' : 'public, pg_catalog';
like($stderr, qr/search_path is \Q$want\E\b/, "on $major, hnsw_check evaluates index expressions with search_path = $want");

SKIP: {
  skip 'pg_get_loaded_modules() is new in 18', 1 if $major < 18;
  is($node->safe_psql('postgres', q{
       SELECT '[1]'::vector IS NOT NULL;  -- loads the library
       SELECT m.version = e.extversion
       FROM pg_get_loaded_modules() m, pg_extension e
       WHERE m.module_name = 'vecann' AND e.extname = 'vecann'}), "t\nt",
    'the loaded library names itself vecann, at the extension version');
}

$node->stop;
done_testing();
