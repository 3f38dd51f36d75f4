#!/usr/bin/env bash
# with-test-db.sh runs a command against throwaway databases, removed when the
# command ends however it ends:
#   - a plain PostgreSQL 15 with pgvector on a free port; TEST_DATABASE_URL is
#     its superuser URL, used to build per-test databases from a template;
#   - a streaming hot standby of it (scripts/replica.sh) on its own port:
#     TEST_REPLICA_URL is its superuser URL, TEST_REPLICA_DATA its data
#     directory (tests stop and start it with replica.sh);
#   - the local Neon replica (scripts/neon-sim.sh): TLS-only direct endpoint
#     and PgBouncer 1.24 / 1.18 poolers; NEON_SIM_* name its endpoints.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

port=${TEST_PG_PORT:-}
if [ -z "$port" ]; then
  for p in $(seq 25440 25499); do if free "$p"; then port=$p; break; fi; done
fi
[ -n "$port" ] || { echo "with-test-db: no free port in 25440-25499" >&2; exit 1; }
base=
for p in $(seq 25500 3 25590); do
  if free "$p" && free $((p + 1)) && free $((p + 2)); then base=$p; break; fi
done
[ -n "$base" ] || { echo "with-test-db: no three free ports in 25500-25592" >&2; exit 1; }
rport=
for p in $(seq 25640 25679); do if free "$p"; then rport=$p; break; fi; done
[ -n "$rport" ] || { echo "with-test-db: no free port in 25640-25679" >&2; exit 1; }

data=$(mktemp -d /tmp/dovvydive-testpg.XXXXXX)
[ "$(id -u)" -eq 0 ] && chmod 755 "$data"
cleanup() {
  scripts/neon-sim.sh stop "$data/neon" >/dev/null 2>&1 || true
  scripts/replica.sh stop "$data/replica" || true
  scripts/pg.sh stop "$data/pg" || true
  rm -rf "$data"
}
trap cleanup EXIT INT TERM

PG_FAST_UNSAFE=1 PG_MAX_CONNECTIONS=400 scripts/pg.sh start "$data/pg" "$port"
scripts/replica.sh start "$data/pg" "$port" "$data/replica" "$rport"
# Durable settings: the fault tests check that acknowledged writes survive kill -9.
PG_MAX_CONNECTIONS=400 scripts/neon-sim.sh start "$data/neon" "$base"
# shellcheck disable=SC1091
. "$data/neon/env"
export TEST_DATABASE_URL="postgres://postgres:postgres@127.0.0.1:$port/postgres?sslmode=disable"
export TEST_PG_DATA="$data/pg"
export TEST_REPLICA_URL="postgres://postgres:postgres@127.0.0.1:$rport/postgres?sslmode=disable"
export TEST_REPLICA_DATA="$data/replica"
"$@"
