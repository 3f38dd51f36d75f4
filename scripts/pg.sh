#!/usr/bin/env bash
# pg.sh manages a project-owned PostgreSQL cluster in its own data directory
# and port, so it never collides with a system PostgreSQL on 5432.
#
#   scripts/pg.sh start DATADIR PORT   initialise (first time) and start
#   scripts/pg.sh stop DATADIR         stop (fast shutdown)
#   scripts/pg.sh status DATADIR       exit 0 when running
#   scripts/pg.sh psql DATADIR PORT [ARGS...]  psql as the superuser over the socket
#
# The superuser is "postgres" with password $PG_SUPERUSER_PASSWORD (default
# "postgres"): local socket access is trusted (the socket lives inside the
# private data directory), TCP access on 127.0.0.1 needs the password.
# PostgreSQL refuses to run as root, so as root it runs as the postgres user.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
SUPERPASS=${PG_SUPERUSER_PASSWORD:-postgres}

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cmd=${1:-}; shift || true
case "$cmd" in
start)
  data=$1 port=$2
  data=$(realpath -m "$data")
  if [ ! -f "$data/PG_VERSION" ]; then
    mkdir -p "$data"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$data"
    chmod 700 "$data"
    pwfile=$(mktemp)
    echo "$SUPERPASS" >"$pwfile"
    chmod 644 "$pwfile"
    as_owner "$PG_BIN/initdb" -D "$data" -U postgres --pwfile="$pwfile" \
      --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
    cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$data'
max_connections = ${PG_MAX_CONNECTIONS:-200}
shared_buffers = 128MB
log_min_messages = warning
log_line_prefix = '%m [%p] %q%u@%d '
# A replica's slot (replica.sh) keeps WAL for it, but never more than this:
# a stopped or abandoned replica must not fill the disk.
max_slot_wal_keep_size = 2GB
CONF
    if [ "${PG_FAST_UNSAFE:-0}" = 1 ]; then
      # Throwaway test clusters: durability is not needed, speed is.
      printf 'fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n' >>"$data/postgresql.conf"
    fi
  fi
  if as_owner "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    echo "pg.sh: already running ($data)" >&2
    exit 0
  fi
  as_owner "$PG_BIN/pg_ctl" -D "$data" -o "-p $port" -l "$data/server.log" -w -t 30 start >/dev/null
  echo "pg.sh: started on 127.0.0.1:$port ($data)" >&2
  ;;
stop)
  data=$(realpath -m "$1")
  if [ -f "$data/postmaster.pid" ]; then
    as_owner "$PG_BIN/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null && echo "pg.sh: stopped ($data)" >&2
  fi
  ;;
status)
  data=$(realpath -m "$1")
  as_owner "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1
  ;;
psql)
  data=$(realpath -m "$1") port=$2; shift 2
  as_owner "$PG_BIN/psql" -h "$data" -p "$port" -U postgres -v ON_ERROR_STOP=1 -qAt "$@"
  ;;
*)
  echo "usage: pg.sh start|stop|status|psql DATADIR [PORT]" >&2
  exit 2
  ;;
esac
