#!/usr/bin/env bash
# neon-sim.sh runs a local replica of a Neon branch:
#   - direct endpoint: PostgreSQL 15 with pgvector that accepts TLS only
#     (hostssl + scram-sha-256; plaintext is rejected), with a throwaway CA and
#     server certificate, and a non-superuser owner role "neondb_owner" that
#     owns database "neondb" (the extension is created by the admin role, as
#     Neon's owner role may do because Neon marks pgvector trusted);
#   - pooled endpoint: PgBouncer 1.24 (built from Debian trixie's source
#     package) in transaction mode with max_prepared_statements=1000 and TLS to
#     clients and to the server, configured like Neon's pooler;
#   - the same pooler as Debian 12's PgBouncer 1.18, which has no prepared
#     statement support, to prove exec mode works on an older pooler.
#
#   scripts/neon-sim.sh start DIR BASEPORT   ports BASEPORT (direct), +1 (1.24), +2 (1.18)
#   scripts/neon-sim.sh read-replica DIR PORT POOLEDPORT   a TLS hot standby on PORT behind
#                                            PgBouncer 1.24 on POOLEDPORT (NEON_SIM_READ_* in DIR/env)
#   scripts/neon-sim.sh stop DIR
#
# start writes DIR/env, a file of exports naming the endpoints (NEON_SIM_*).
set -euo pipefail
cd "$(dirname "$0")/.."

WORK=${DEPS_WORK:-/var/tmp/dovvydive-deps}
PGB124=$WORK/pgbouncer-1.24/pgbouncer
PGB118=/usr/sbin/pgbouncer
OWNER_PW=neon-owner-pw

as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

certs() {
  local d=$1
  mkdir -p "$d"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=DovvyDive test CA" \
    -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$d/san.ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
    -days 30 -extfile "$d/san.ext" -out "$d/server.crt" 2>/dev/null
  # A CA that signed nothing here: clients trusting it must refuse the server.
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=Some other CA" \
    -keyout "$d/other-ca.key" -out "$d/other-ca.crt" 2>/dev/null
  chmod 600 "$d"/*.key
  chmod 644 "$d"/*.crt
  [ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$d"
  return 0
}

pgbouncer_ini() {
  local dir=$1 name=$2 port=$3 direct=$4 extra=$5
  cat >"$dir/$name.ini" <<INI
[databases]
* = host=127.0.0.1 port=$direct

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $dir/userlist.txt
pool_mode = transaction
max_client_conn = 10000
default_pool_size = 90
query_wait_timeout = 120
server_login_retry = 1
client_tls_sslmode = require
client_tls_cert_file = $dir/certs/server.crt
client_tls_key_file = $dir/certs/server.key
server_tls_sslmode = verify-full
server_tls_ca_file = $dir/certs/ca.crt
logfile = $dir/$name.log
pidfile = $dir/$name.pid
admin_users = postgres
$extra
INI
}

cmd=${1:-}; shift || true
case "$cmd" in
start)
  dir=$(realpath -m "$1") base=$2
  direct=$base pooled=$((base + 1)) pooled118=$((base + 2))
  WITH_PGBOUNCER=1 scripts/install-deps.sh
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
  if [ ! -f "$dir/certs/server.crt" ]; then certs "$dir/certs"; fi
  fresh=0
  [ -f "$dir/pg/PG_VERSION" ] || fresh=1
  scripts/pg.sh start "$dir/pg" "$direct"
  if [ "$fresh" = 1 ]; then
    cat >>"$dir/pg/postgresql.conf" <<CONF
ssl = on
ssl_cert_file = '$dir/certs/server.crt'
ssl_key_file = '$dir/certs/server.key'
password_encryption = 'scram-sha-256'
CONF
    cat >"$dir/pg/pg_hba.conf" <<HBA
local   all all                  trust
hostssl all all 127.0.0.1/32     scram-sha-256
host    all all 0.0.0.0/0        reject
HBA
    as_pg /usr/lib/postgresql/15/bin/pg_ctl -D "$dir/pg" -m fast -w restart >/dev/null
    scripts/pg.sh psql "$dir/pg" "$direct" -d postgres <<SQL
CREATE ROLE neondb_owner LOGIN PASSWORD '$OWNER_PW' NOSUPERUSER CREATEDB;
CREATE DATABASE neondb OWNER neondb_owner;
SQL
    scripts/pg.sh psql "$dir/pg" "$direct" -d neondb -c 'CREATE EXTENSION IF NOT EXISTS vector'
  fi
  printf '"neondb_owner" "%s"\n"pgtdbuser" "pgtdbpass"\n"pgtdbneon" "pgtdbneonpass"\n"postgres" "%s"\n' "$OWNER_PW" "${PG_SUPERUSER_PASSWORD:-postgres}" >"$dir/userlist.txt"
  pgbouncer_ini "$dir" pgbouncer-1.24 "$pooled" "$direct" "max_prepared_statements = 1000"
  pgbouncer_ini "$dir" pgbouncer-1.18 "$pooled118" "$direct" ""
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"/*.ini "$dir/userlist.txt"
  chmod 600 "$dir/userlist.txt"
  for name in pgbouncer-1.24 pgbouncer-1.18; do
    bin=$PGB124; [ "$name" = pgbouncer-1.18 ] && bin=$PGB118
    if [ -f "$dir/$name.pid" ] && kill -0 "$(cat "$dir/$name.pid")" 2>/dev/null; then continue; fi
    as_pg "$bin" -d "$dir/$name.ini"
  done
  for p in "$pooled" "$pooled118"; do
    for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break; sleep 0.1; done
  done
  tls="sslmode=verify-full&sslrootcert=$dir/certs/ca.crt"
  cat >"$dir/env" <<ENV
export NEON_SIM_DIR='$dir'
export NEON_SIM_PG_DATA='$dir/pg'
export NEON_SIM_DIRECT_PORT=$direct
export NEON_SIM_CA='$dir/certs/ca.crt'
export NEON_SIM_OTHER_CA='$dir/certs/other-ca.crt'
export NEON_SIM_ADMIN_URL='postgres://postgres:${PG_SUPERUSER_PASSWORD:-postgres}@127.0.0.1:$direct/postgres?$tls'
export NEON_SIM_DIRECT_URL='postgres://neondb_owner:$OWNER_PW@127.0.0.1:$direct/neondb?$tls'
export NEON_SIM_POOLED_URL='postgres://neondb_owner:$OWNER_PW@127.0.0.1:$pooled/neondb?$tls'
export NEON_SIM_POOLED_ADDR='127.0.0.1:$pooled'
export NEON_SIM_POOLED118_ADDR='127.0.0.1:$pooled118'
ENV
  echo "neon-sim: direct 127.0.0.1:$direct (TLS only), PgBouncer $("$PGB124" --version | awk 'NR==1{print $2}') on :$pooled, PgBouncer $("$PGB118" --version | awk 'NR==1{print $2}') on :$pooled118" >&2
  ;;
read-replica)
  # A Neon read replica: a TLS-only hot standby of the direct endpoint's
  # server, behind its own PgBouncer 1.24 (TLS, transaction mode).
  dir=$(realpath -m "$1") rport=$2 rpooled=$3
  direct=$(sed -n "s/^export NEON_SIM_DIRECT_PORT=//p" "$dir/env")
  if ! grep -q '^local replication' "$dir/pg/pg_hba.conf"; then
    echo 'local replication all trust' >>"$dir/pg/pg_hba.conf"
    as_pg /usr/lib/postgresql/15/bin/pg_ctl -D "$dir/pg" reload >/dev/null
  fi
  scripts/replica.sh start "$dir/pg" "$direct" "$dir/replica" "$rport" 2> >(grep -v 'skipping special file' >&2)
  pgbouncer_ini "$dir" pgbouncer-replica "$rpooled" "$rport" "max_prepared_statements = 1000"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir/pgbouncer-replica.ini"
  if ! { [ -f "$dir/pgbouncer-replica.pid" ] && kill -0 "$(cat "$dir/pgbouncer-replica.pid")" 2>/dev/null; }; then
    as_pg "$PGB124" -d "$dir/pgbouncer-replica.ini"
  fi
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$rpooled") 2>/dev/null && break; sleep 0.1; done
  sed -i '/^export NEON_SIM_READ_/d' "$dir/env"
  cat >>"$dir/env" <<ENV
export NEON_SIM_READ_DATA='$dir/replica'
export NEON_SIM_READ_PORT=$rport
export NEON_SIM_READ_POOLED_ADDR='127.0.0.1:$rpooled'
ENV
  echo "neon-sim: read replica 127.0.0.1:$rport (TLS only), PgBouncer on :$rpooled" >&2
  ;;
stop)
  dir=$(realpath -m "$1")
  if [ -f "$dir/pgbouncer-replica.pid" ]; then kill "$(cat "$dir/pgbouncer-replica.pid")" 2>/dev/null || true; fi
  scripts/replica.sh stop "$dir/replica" || true
  for name in pgbouncer-1.24 pgbouncer-1.18; do
    if [ -f "$dir/$name.pid" ]; then kill "$(cat "$dir/$name.pid")" 2>/dev/null || true; fi
  done
  scripts/pg.sh stop "$dir/pg" || true
  ;;
*)
  echo "usage: neon-sim.sh start DIR BASEPORT | read-replica DIR PORT POOLEDPORT | stop DIR" >&2
  exit 2
  ;;
esac
