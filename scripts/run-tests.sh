#!/usr/bin/env bash
# run-tests.sh is `make test` inside scripts/with-test-db.sh. The passes:
#   1. every package against plain PostgreSQL (and its streaming standby),
#      the contract checks with the npm tools of e2e/typescript included;
#      then the standby's fault tests alone;
#   2. the database, HTTP, ingestion and seed suites again on the Neon replica:
#      the application pool through PgBouncer 1.24 over TLS, migrations on the
#      direct TLS endpoint, stale-tolerant reads on a TLS standby through its
#      own PgBouncer (the Neon read replica);
#   3. a brief fuzz run (a count budget per target, about 10 s each) of the JSON body
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
# The contract checks (e2e/typescript_test.go, pass 1) run openapi-typescript,
# tsc and Redocly CLI from e2e/typescript, installed with npm ci.
scripts/need-npm.sh

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
# Count budgets, not time: Go 1.26's fuzz coordinator can report its own
# -fuzztime deadline as a failure of the target when the machine is busy
# (golang/go#75804, fixed in 1.27), so a busy CI machine only makes a count
# budget slower. Each is about 10 s on an idle 2-core machine (executions per
# second measured there: 2000, 2000, 2600, 300, 3700); FUZZ_SCALE multiplies
# them. Minimizing is count-bounded for the same reason.
scale=${FUZZ_SCALE:-1}
for budget in FuzzJSONBody:20000 FuzzQuery:20000 FuzzSearch:25000 FuzzSearchBody:3000 \
  FuzzCheckStrict_AgreesWithTheTokenWalk:35000; do
  target=${budget%%:*} execs=$(( ${budget##*:} * scale ))
  $GO test -run '^$' -fuzz "^${target}\$" -fuzztime "${execs}x" -fuzzminimizetime 200x ./handlers/
done

echo "== pass 4: fault tests on the Neon replica"
$GO test "${flags[@]}" -tags faults -p 1 -run '^TestFault' -v ./e2e/

if $with_image; then
  echo "== pass 5: the OCI image as one of the two instances behind HAProxy"
  GO=$GO scripts/image.sh build
  TEST_IMAGE=dovvydive:latest $GO test -count=1 -run '^TestCluster_' -v ./e2e/
fi
