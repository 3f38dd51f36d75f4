#!/usr/bin/env bash
# with-test-db.sh runs a command against throwaway databases, removed when the
# command ends however it ends:
#   - a plain PostgreSQL 15 with pgvector on a free port; TEST_DATABASE_URL is
#     its superuser URL, used to build per-test databases from a template;
#   - a streaming hot standby of it (scripts/replica.sh) on its own port:
#     TEST_REPLICA_URL is its superuser URL, TEST_REPLICA_DATA its data
#     directory (tests stop and start it with replica.sh);
#   - a read replica of the Neon replica (a TLS hot standby behind PgBouncer
#     1.24): NEON_SIM_READ_POOLED_ADDR;
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
rport= nrport=
for p in $(seq 25640 2 25679); do if free "$p" && free $((p + 1)); then rport=$p nrport=$((p + 1)); break; fi; done
[ -n "$rport" ] || { echo "with-test-db: no two free ports in 25640-25679" >&2; exit 1; }
nrpooled=
for p in $(seq 25680 25699); do if free "$p"; then nrpooled=$p; break; fi; done
[ -n "$nrpooled" ] || { echo "with-test-db: no free port in 25680-25699" >&2; exit 1; }

data=$(mktemp -d /tmp/dovvydive-testpg.XXXXXX)
[ "$(id -u)" -eq 0 ] && chmod 755 "$data"
cleanup() {
  scripts/neon-sim.sh stop "$data/neon" >/dev/null 2>&1 || true
  scripts/replica.sh stop "$data/replica" || true
  scripts/pg.sh stop "$data/pg" || true
  rm -rf "$data"
}
trap cleanup EXIT INT TERM

for attempt in 1 2 3; do
  if PG_FAST_UNSAFE=1 PG_MAX_CONNECTIONS=400 scripts/pg.sh start "$data/pg" "$port"; then break; fi
  [ "$attempt" -lt 3 ] || { echo "with-test-db: PostgreSQL did not start" >&2; exit 1; }
  for p in $(seq $((port + 1)) 25499); do if free "$p"; then port=$p; break; fi; done
  echo "with-test-db: retrying PostgreSQL on $port" >&2
done
# Durable settings: the fault tests check that acknowledged writes survive kill -9.
# Another run on this machine may take the same free ports between the check
# and the start: try the next three ports then.
for attempt in 1 2 3; do
  if PG_MAX_CONNECTIONS=400 scripts/neon-sim.sh start "$data/neon" "$base"; then break; fi
  scripts/neon-sim.sh stop "$data/neon" >/dev/null 2>&1 || true
  rm -rf "$data/neon"
  [ "$attempt" -lt 3 ] || { echo "with-test-db: the Neon replica did not start" >&2; exit 1; }
  for p in $(seq $((base + 3)) 3 25590); do
    if free "$p" && free $((p + 1)) && free $((p + 2)); then base=$p; break; fi
  done
  echo "with-test-db: retrying the Neon replica on $base" >&2
done
# shellcheck disable=SC1091
. "$data/neon/env"
scripts/replica.sh start "$data/pg" "$port" "$data/replica" "$rport" 2> >(grep -v 'skipping special file' >&2)
scripts/neon-sim.sh read-replica "$data/neon" "$nrport" "$nrpooled"
# shellcheck disable=SC1091
. "$data/neon/env"
export TEST_DATABASE_URL="postgres://postgres:postgres@127.0.0.1:$port/postgres?sslmode=disable"
export TEST_PG_DATA="$data/pg"
export TEST_REPLICA_URL="postgres://postgres:postgres@127.0.0.1:$rport/postgres?sslmode=disable"
export TEST_REPLICA_DATA="$data/replica"
"$@"
