#!/usr/bin/env bash
# with-test-db.sh runs a command against a throwaway PostgreSQL with pgvector:
# it starts a fresh cluster on a free port, exports TEST_DATABASE_URL (the
# superuser's URL, used to build per-test databases from a migrated
# template) and removes the cluster when the command ends, however it ends.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

port=${TEST_PG_PORT:-}
if [ -z "$port" ]; then
  for p in $(seq 54330 54399); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
  done
fi
[ -n "$port" ] || { echo "with-test-db: no free port in 54330-54399" >&2; exit 1; }

data=$(mktemp -d /tmp/dovvydive-testpg.XXXXXX)
[ "$(id -u)" -eq 0 ] && chmod 755 "$data"
cleanup() {
  scripts/pg.sh stop "$data/pg" || true
  rm -rf "$data"
}
trap cleanup EXIT INT TERM

PG_FAST_UNSAFE=1 PG_MAX_CONNECTIONS=400 scripts/pg.sh start "$data/pg" "$port"
export TEST_DATABASE_URL="postgres://postgres:postgres@127.0.0.1:$port/postgres?sslmode=disable"
export TEST_PG_DATA="$data/pg"
"$@"
