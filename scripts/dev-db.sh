#!/usr/bin/env bash
# dev-db.sh makes sure `make run` has a database. When DATABASE_URL (from the
# environment or .env) points at a reachable server it is used as is;
# otherwise the project-managed cluster (.data/postgres, port 25432) is
# started, given the dovvydive role and database with pgvector, and its URL is
# printed for the caller to use.
set -euo pipefail
cd "$(dirname "$0")/.."

DATA=${DEV_PG_DATA:-.data/postgres}
PORT=${DEV_PG_PORT:-25432}
MANAGED_URL="postgres://dovvydive:dovvydive@127.0.0.1:$PORT/dovvydive?sslmode=disable"

configured=${DATABASE_URL:-}
if [ -z "$configured" ] && [ -f .env ]; then
  configured=$(sed -n 's/^[[:space:]]*DATABASE_URL[[:space:]]*=[[:space:]]*//p' .env | tail -n1 | tr -d '"'"'")
fi
provider=${DATABASE_PROVIDER:-local}
if [ "$provider" = neon ]; then
  echo "dev-db: DATABASE_PROVIDER=neon: no local database needed" >&2
  exit 0
fi
if [ -n "$configured" ] && [ "$configured" != "$MANAGED_URL" ]; then
  if /usr/lib/postgresql/15/bin/pg_isready -q -d "$configured" -t 3; then
    echo "dev-db: using the configured DATABASE_URL" >&2
    echo "$configured"
    exit 0
  fi
  echo "dev-db: the configured DATABASE_URL is not reachable; using the project-managed PostgreSQL instead" >&2
fi

scripts/install-deps.sh
scripts/pg.sh start "$DATA" "$PORT"
# Idempotent role, database and extension. The extension is created by the
# superuser because pgvector is not a trusted extension on self-hosted servers.
scripts/pg.sh psql "$DATA" "$PORT" -d postgres <<'SQL'
SELECT 'CREATE ROLE dovvydive LOGIN PASSWORD ''dovvydive'''
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dovvydive') \gexec
SELECT 'CREATE DATABASE dovvydive OWNER dovvydive'
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'dovvydive') \gexec
SQL
scripts/pg.sh psql "$DATA" "$PORT" -d dovvydive -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION IF NOT EXISTS vector'
echo "$MANAGED_URL"
