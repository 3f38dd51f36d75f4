#!/usr/bin/env bash
# need-npm.sh installs the npm tools of the contract checks (e2e/typescript:
# openapi-typescript, openapi-fetch, typescript, @redocly/cli, pinned by its
# package-lock.json) with `npm ci`, when node_modules is missing or older
# than the lockfile. Without node it says so and does nothing: the checks
# then skip (and fail under CI=true, see e2e/typescript_test.go).
set -euo pipefail
dir=$(cd "$(dirname "$0")/../e2e/typescript" && pwd)
if ! command -v npm >/dev/null 2>&1; then
  echo "need-npm.sh: npm is not installed; the contract checks in e2e/typescript will skip" >&2
  exit 0
fi
stamp=$dir/node_modules/.package-lock.json # written by npm ci
if [ -f "$stamp" ] && [ "$stamp" -nt "$dir/package-lock.json" ]; then
  exit 0
fi
echo "need-npm.sh: npm ci in e2e/typescript" >&2
(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
