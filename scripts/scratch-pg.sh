# Scratch PostgreSQL cluster helpers; source this file, then:
#   scratch_pg_start [extra postgresql.conf lines...]  -> exports PGHOST PGPORT PGUSER PGDATA
#   scratch_pg_stop                                    -> stops the server, removes the directory
# The cluster lives in a fresh temp directory, runs as the `postgres` OS user
# (initdb refuses root), listens only on a Unix socket in that directory and on
# 127.0.0.1 at a free port, and trusts local connections (it is thrown away).

PG_BINDIR=${PG_BINDIR:-$(pg_config --bindir)}

_scratch_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

_scratch_as_postgres() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

scratch_pg_start() {
  SCRATCH_PG_DIR=$(mktemp -d /tmp/vecann-pg.XXXXXX)
  chmod 755 "$SCRATCH_PG_DIR"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$SCRATCH_PG_DIR"
  export PGDATA=$SCRATCH_PG_DIR/data
  export PGPORT=$(_scratch_free_port)
  export PGHOST=$SCRATCH_PG_DIR
  export PGUSER=postgres
  export PGDATABASE=postgres
  _scratch_as_postgres "$PG_BINDIR/initdb" -D "$PGDATA" -U postgres --auth=trust \
      --encoding=UTF8 --locale=C >"$SCRATCH_PG_DIR/initdb.log" 2>&1 || {
    cat "$SCRATCH_PG_DIR/initdb.log" >&2; return 1; }
  {
    echo "port = $PGPORT"
    echo "listen_addresses = '127.0.0.1'"
    echo "unix_socket_directories = '$SCRATCH_PG_DIR'"
    echo "fsync = off"
    echo "shared_buffers = 512MB"
    echo "maintenance_work_mem = 512MB"
    echo "max_wal_size = 4GB"
    for line in "$@"; do echo "$line"; done
  } >>"$PGDATA/postgresql.conf"
  _scratch_as_postgres "$PG_BINDIR/pg_ctl" -D "$PGDATA" -l "$SCRATCH_PG_DIR/server.log" -w start >/dev/null || {
    cat "$SCRATCH_PG_DIR/server.log" >&2; return 1; }
}

scratch_pg_stop() {
  [ -n "${SCRATCH_PG_DIR:-}" ] || return 0
  if [ -d "$PGDATA" ]; then
    _scratch_as_postgres "$PG_BINDIR/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$SCRATCH_PG_DIR"
  unset SCRATCH_PG_DIR
}
