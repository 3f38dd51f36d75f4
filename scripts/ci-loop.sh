#!/usr/bin/env bash
# ci-loop.sh hunts flaky tests the way issue 14 asks: it clones main afresh
# N times and runs `CI=true bash .ci/run` in each clone, with two CPU-bound
# processes beside it when BUSY=1, and appends one line per run (commit,
# exit code, wall time, log path) to RESULTS.
#
#   scripts/ci-loop.sh N BUSY [RESULTS]     e.g. scripts/ci-loop.sh 3 1
#
# Each run is bounded by CI's own 90 minutes; the burners end with their run.
set -u
n=${1:-1} busy=${2:-1} results=${3:-/tmp/ci-runs.txt}
repo=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
for i in $(seq 1 "$n"); do
  dir=$(mktemp -d /tmp/ci-clone.XXXX)
  git clone -q "$repo" "$dir/repo"
  commit=$(git -C "$dir/repo" rev-parse --short HEAD)
  pids=()
  if [ "$busy" = 1 ]; then
    for _ in 1 2; do (while :; do :; done) & pids+=($!); done
  fi
  start=$(date +%s)
  log=/tmp/ci-run-$commit-$i-busy$busy.log
  (cd "$dir/repo" && CI=true timeout 5400 bash .ci/run) >"$log" 2>&1
  rc=$?
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  echo "$(date -u +%FT%TZ) commit=$commit busy=$busy rc=$rc wall=$(($(date +%s) - start))s log=$log" >>"$results"
  rm -rf "$dir"
done
