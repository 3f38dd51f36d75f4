#!/usr/bin/env bash
# run-tests.sh is `make test` inside scripts/with-test-db.sh. The passes:
#   1. every package against plain PostgreSQL (and its streaming standby);
#      then the standby's fault tests alone;
#   2. the database, HTTP, ingestion and seed suites again on the Neon replica:
#      the application pool through PgBouncer 1.24 over TLS, migrations on the
#      direct TLS endpoint, stale-tolerant reads on a TLS standby through its
#      own PgBouncer (the Neon read replica);
#   3. a brief fuzz run (FUZZTIME per target, default 10s) of the JSON body
#      and query decoders, the strict JSON scanner and the search handler;
#      their seeds also run as ordinary tests in pass 1;
#   4. the fault tests (build tag "faults"): they kill, stop and restart the
#      replica's PostgreSQL, so they run alone, after everything else;
#   5. in CI (or with TEST_WITH_IMAGE=1): make image, then the rolling-restart
#      test with one of its two instances running in the image.
set -euo pipefail
GO=${GO:-go}
flags=(-race -count=1)

# The cluster test runs two instances behind HAProxy.
scripts/need.sh haproxy

# Pass 5 runs the cluster test again with the image as one instance, which
# covers the plain run: when it runs, pass 1 leaves the cluster test to it.
with_image=false
if [ "${CI:-}" = true ] || [ "${TEST_WITH_IMAGE:-}" = 1 ]; then with_image=true; fi
skip='^TestReplicaFault_'
if $with_image; then skip='^TestReplicaFault_|^TestCluster_'; fi

echo "== pass 1: plain PostgreSQL"
$GO test "${flags[@]}" -skip "$skip" ./...

echo "== pass 1b: read-replica faults (they stop the shared standby, so alone)"
$GO test "${flags[@]}" -p 1 -run '^TestReplicaFault_' ./database/

echo "== pass 2: Neon replica (pooled application pool, direct migrations)"
TEST_DATABASE_URL=$NEON_SIM_ADMIN_URL DBTEST_POOLED_ADDR=$NEON_SIM_POOLED_ADDR \
  $GO test "${flags[@]}" -skip '^TestReplicaFault_' ./database/ ./handlers/ ./knowledge/ ./seeds/

echo "== pass 2b: read-replica faults through PgBouncer and TLS (alone)"
TEST_DATABASE_URL=$NEON_SIM_ADMIN_URL DBTEST_POOLED_ADDR=$NEON_SIM_POOLED_ADDR \
  $GO test "${flags[@]}" -p 1 -run '^TestReplicaFault_' ./database/

echo "== pass 3: fuzzing the decoders and the search handler"
# -fuzzminimizetime: minimizing each new interesting input may otherwise take a
# minute of the budget, during which nothing else runs.
for target in FuzzJSONBody FuzzQuery FuzzSearch FuzzSearchBody FuzzCheckStrict_AgreesWithTheTokenWalk; do
  $GO test -run '^$' -fuzz "^${target}\$" -fuzztime "${FUZZTIME:-10s}" -fuzzminimizetime 1s ./handlers/
done

echo "== pass 4: fault tests on the Neon replica"
$GO test "${flags[@]}" -tags faults -p 1 -run '^TestFault' -v .

if $with_image; then
  echo "== pass 5: the OCI image as one of the two instances behind HAProxy"
  GO=$GO scripts/image.sh build
  TEST_IMAGE=dovvydive:latest $GO test -count=1 -run '^TestCluster_' -v .
fi
