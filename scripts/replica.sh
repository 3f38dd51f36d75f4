#!/usr/bin/env bash
# replica.sh manages a streaming hot-standby replica of a cluster started by
# scripts/pg.sh, in its own data directory and on its own port: the local
# stand-in for a read replica (Neon's read replicas are separate computes
# over the same storage; this one replays the primary's WAL instead).
#
#   scripts/replica.sh start PRIMARY_DATADIR PRIMARY_PORT DATADIR PORT
#                                  base backup (first time, pg_basebackup -R) and start
#   scripts/replica.sh stop DATADIR          stop (fast shutdown)
#   scripts/replica.sh status DATADIR        exit 0 when running
#
# As root, PostgreSQL runs as the postgres user (runuser), as in pg.sh.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cmd=${1:-}; shift || true
case "$cmd" in
start)
  primary=$(realpath -m "$1") pport=$2 data=$(realpath -m "$3") port=$4
  if [ ! -f "$data/PG_VERSION" ]; then
    mkdir -p "$data"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$data"
    chmod 700 "$data"
    # Over the primary's private socket, where its superuser is trusted;
    # -R writes standby.signal, primary_conninfo and primary_slot_name.
    # The physical slot (-C -S) makes the primary keep the WAL the standby
    # has not replayed: without it, a burst of template clones (CREATE
    # DATABASE writes the whole database to WAL) while the standby lagged
    # recycled segments it still needed ("requested WAL segment ... has
    # already been removed") and it never caught up again.
    slot="replica_$port"
    as_owner "$PG_BIN/psql" -h "$primary" -p "$pport" -U postgres -d postgres -qAtc \
      "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '$slot' AND NOT active" >/dev/null
    as_owner "$PG_BIN/pg_basebackup" -h "$primary" -p "$pport" -U postgres -D "$data" -R -X stream -c fast -C -S "$slot"
    cat >>"$data/postgresql.conf" <<CONF
# replica.sh: the standby's own socket, and fewer recovery conflicts.
unix_socket_directories = '$data'
hot_standby = on
hot_standby_feedback = on
max_standby_streaming_delay = 5s
CONF
  fi
  if as_owner "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    echo "replica.sh: already running ($data)" >&2
    exit 0
  fi
  as_owner "$PG_BIN/pg_ctl" -D "$data" -o "-p $port" -l "$data/server.log" -w -t 30 start >/dev/null ||
    { tail -20 "$data/server.log" >&2; exit 1; }
  echo "replica.sh: hot standby of :$pport started on 127.0.0.1:$port ($data)" >&2
  ;;
stop)
  data=$(realpath -m "$1")
  if [ -f "$data/postmaster.pid" ]; then
    as_owner "$PG_BIN/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null && echo "replica.sh: stopped ($data)" >&2
  fi
  ;;
status)
  data=$(realpath -m "$1")
  as_owner "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1
  ;;
*)
  echo "usage: replica.sh start PRIMARY_DATADIR PRIMARY_PORT DATADIR PORT | stop DATADIR | status DATADIR" >&2
  exit 2
  ;;
esac
