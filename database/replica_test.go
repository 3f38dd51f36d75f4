package database_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/database"
	"github.com/dovvydive/backend/database/dbtest"
	"github.com/dovvydive/backend/knowledge/embedding"
	"github.com/dovvydive/backend/models"
	"github.com/dovvydive/backend/seeds"
)

// withReplica opens a seeded database whose stale-tolerant reads go to the
// test cluster's streaming replica. Each pool carries its own
// application_name, so pg_stat_activity shows which server a pool used.
func withReplica(t *testing.T, tune func(*database.Config)) (db *database.DB, primaryURL, replicaURL, app string, logs *dbtest.LogBuffer) {
	t.Helper()
	primaryURL = dbtest.Migrated(t)
	replicaURL = dbtest.ReplicaOf(t, primaryURL)
	app = "dd-test-" + uuid.NewString()[:8]
	cfg := dbtest.Config(dbtest.WithAppName(primaryURL, app+"-primary"))
	cfg.ReadURL = dbtest.WithAppName(replicaURL, app+"-replica")
	cfg.NeonReadURL = cfg.ReadURL // used instead in the Neon-replica pass
	cfg.Replica.CheckInterval = 200 * time.Millisecond
	cfg.Replica.RetryAfter = 300 * time.Millisecond
	if tune != nil {
		tune(&cfg)
	}
	log, logs := dbtest.Logger()
	db, err := database.Open(context.Background(), cfg, log)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	_, err = seeds.Load(context.Background(), db, embedding.Hash{})
	require.NoError(t, err)
	return db, primaryURL, replicaURL, app, logs
}

// backends counts connections with application_name on the server at dsn.
func backends(t *testing.T, dsn, app string) int {
	t.Helper()
	var n int
	require.NoError(t, openSQL(t, superuserOn(t, dsn)).QueryRow(
		`SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&n))
	return n
}

// superuserOn is dsn (any server) as the test clusters' superuser.
func superuserOn(t *testing.T, dsn string) string {
	t.Helper()
	admin, err := url.Parse(dbtest.AdminURL(t))
	require.NoError(t, err)
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	u.User = admin.User
	return u.String()
}

func countLines(logs, substr string) int {
	n := 0
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, substr) {
			n++
		}
	}
	return n
}

// waitFor polls cond every 50 ms for at most limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestReplica_StaleTolerantReadsLandOnTheReplicaAndWritesOnThePrimary(t *testing.T) {
	t.Parallel()
	db, primaryURL, replicaURL, app, _ := withReplica(t, nil)
	ctx := context.Background()

	corpus, err := seeds.Sites()
	require.NoError(t, err)
	waitFor(t, 15*time.Second, "sites replayed on the replica and read there", func() bool {
		page, err := db.ListDiveSites(ctx, models.SiteFilter{Limit: 100})
		require.NoError(t, err)
		return page.Total == int64(len(corpus)) && db.ReplicaStatus().Reads > 0
	})
	_, err = db.ListDiveOperators(ctx, models.OperatorFilter{Limit: 100})
	require.NoError(t, err)
	st := db.ReplicaStatus()
	assert.Equal(t, models.ReplicaHealthy, st.State)
	assert.Positive(t, st.Reads, "the replica answered the lists")

	// A write would fail on the hot standby (read-only): success means primary.
	s, err := db.CreateGuestSession(ctx, "en", time.Hour)
	require.NoError(t, err)
	_, err = db.GetGuestSession(ctx, s.ID)
	require.NoError(t, err, "a session is read back from the primary at once")

	assert.Positive(t, backends(t, replicaURL, app+"-replica"), "the read pool's connections are on the replica")
	assert.Zero(t, backends(t, primaryURL, app+"-replica"), "and none on the primary")
	assert.Positive(t, backends(t, primaryURL, app+"-primary"), "writes use the primary")
	assert.Zero(t, backends(t, replicaURL, app+"-primary"))
}

func TestReplica_WithoutReadURLEverythingUsesThePrimary(t *testing.T) {
	t.Parallel()
	db := seeded(t)
	_, err := db.ListDiveSites(context.Background(), models.SiteFilter{Limit: 10})
	require.NoError(t, err)
	st := db.ReplicaStatus()
	assert.False(t, st.Configured)
	assert.Zero(t, st.Reads)
}

// The TestReplicaFault_ tests stop the shared standby or pause its replay:
// they run in their own pass of scripts/run-tests.sh, one at a time, so no
// other test sees the standby down.

func TestReplicaFault_StoppedUnderLoad_ReadsFallBackWithoutFailingAndReturnWhenItIsBack(t *testing.T) {
	db, _, _, _, logs := withReplica(t, nil)
	ctx := context.Background()
	waitFor(t, 5*time.Second, "replica in use", func() bool {
		_, err := db.ListDiveSites(ctx, models.SiteFilter{Limit: 5})
		require.NoError(t, err)
		return db.ReplicaStatus().State == models.ReplicaHealthy
	})

	// Bounded load: 8 readers, each read under a 2 s deadline like a request's.
	var reads, failures atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				var err error
				if i%2 == 0 {
					_, err = db.ListDiveSites(rctx, models.SiteFilter{Limit: 20})
				} else {
					_, err = db.ListDiveOperators(rctx, models.OperatorFilter{Limit: 20})
				}
				cancel()
				reads.Add(1)
				if err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
				time.Sleep(5 * time.Millisecond)
			}
		}(i)
	}

	time.Sleep(500 * time.Millisecond)
	before := db.ReplicaStatus()
	dbtest.StopReplica(t)
	stopped := true
	t.Cleanup(func() {
		if stopped {
			dbtest.StartReplica(t)
		}
	})
	waitFor(t, 5*time.Second, "replica marked down", func() bool { return db.ReplicaStatus().State == models.ReplicaDown })
	waitFor(t, 10*time.Second, "reads falling back to the primary", func() bool {
		return db.ReplicaStatus().Fallbacks > before.Fallbacks+10
	})
	down := db.ReplicaStatus()

	dbtest.StartReplica(t)
	stopped = false
	waitFor(t, 10*time.Second, "reads return to the replica", func() bool {
		st := db.ReplicaStatus()
		return st.State == models.ReplicaHealthy && st.Reads > down.Reads
	})
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()

	after := db.ReplicaStatus()
	t.Logf("%d reads, %d failed; replica answered %d, primary %d as fallback", reads.Load(), failures.Load(), after.Reads, after.Fallbacks)
	assert.Zero(t, failures.Load(), "no read failed: %v", firstErr.Load())
	assert.Equal(t, 1, countLines(logs.String(), "replica unavailable"), "one log line for the outage")
	assert.Equal(t, 1, countLines(logs.String(), "replica healthy;")-1, "one line when it came back (after the first check's)")
}

func TestReplicaFault_LaggingBeyondTheBoundIsSkippedAndSessionsAreNeverStale(t *testing.T) {
	db, _, replicaURL, _, logs := withReplica(t, func(c *database.Config) { c.Replica.MaxLag = time.Second })
	ctx := context.Background()
	admin := openSQL(t, superuserOn(t, replicaURL))
	waitFor(t, 5*time.Second, "replica caught up", func() bool {
		page, err := db.ListDiveOperators(ctx, models.OperatorFilter{Limit: 100})
		require.NoError(t, err)
		return page.Total > 0 && db.ReplicaStatus().State == models.ReplicaHealthy
	})
	ops, err := db.ListDiveOperators(ctx, models.OperatorFilter{Limit: 100})
	require.NoError(t, err)

	_, err = admin.Exec(`SELECT pg_wal_replay_pause()`)
	require.NoError(t, err)
	t.Cleanup(func() { admin.Exec(`SELECT pg_wal_replay_resume()`) })

	// A write while the replica is frozen.
	op := ops.Operators[0]
	op.ID = uuid.New()
	op.Slug = "replica-lag-" + op.ID.String()[:8]
	op.Name = fmt.Sprintf("Lag Test %s", op.ID.String()[:8])
	_, err = db.UpsertDiveData(ctx, []models.DiveOperator{op}, nil)
	require.NoError(t, err)

	// Sessions read their own writes from the primary, even now.
	for range 20 {
		s, err := db.CreateGuestSession(ctx, "en", time.Hour)
		require.NoError(t, err)
		_, err = db.GetGuestSession(ctx, s.ID)
		require.NoError(t, err, "a session just written is found")
	}

	// Within the bound the list is served, stale, by the replica...
	page, err := db.ListDiveOperators(ctx, models.OperatorFilter{Limit: 100})
	require.NoError(t, err)
	assert.Equal(t, ops.Total, page.Total, "the replica does not have the new operator yet")

	// ...beyond it, by the primary.
	waitFor(t, 5*time.Second, "replica marked lagging", func() bool {
		_, err := db.ListDiveOperators(ctx, models.OperatorFilter{Limit: 100})
		require.NoError(t, err)
		return db.ReplicaStatus().State == models.ReplicaLagging
	})
	page, err = db.ListDiveOperators(ctx, models.OperatorFilter{Limit: 100})
	require.NoError(t, err)
	assert.Equal(t, ops.Total+1, page.Total, "the primary answers while the replica lags")
	assert.Contains(t, logs.String(), "replica lagging; reads go to the primary")

	_, err = admin.Exec(`SELECT pg_wal_replay_resume()`)
	require.NoError(t, err)
	waitFor(t, 15*time.Second, "replica healthy again", func() bool {
		_, err := db.ListDiveOperators(ctx, models.OperatorFilter{Limit: 100})
		require.NoError(t, err)
		return db.ReplicaStatus().State == models.ReplicaHealthy
	})
	reads := db.ReplicaStatus().Reads
	page, err = db.ListDiveOperators(ctx, models.OperatorFilter{Limit: 100})
	require.NoError(t, err)
	assert.Equal(t, ops.Total+1, page.Total, "the replica has caught up")
	assert.Greater(t, db.ReplicaStatus().Reads, reads, "and answers again")
}

func TestReplica_HungReplicaIsSkippedWithinTheRequestDeadline(t *testing.T) {
	t.Parallel()
	var proxy *dbtest.Proxy
	db, _, _, _, logs := withReplica(t, func(c *database.Config) {
		u, err := url.Parse(c.ReadURL)
		require.NoError(t, err)
		proxy = dbtest.StartProxy(t, "127.0.0.1:0", u.Host)
		u.Host = proxy.Addr
		c.ReadURL = u.String()
		c.NeonReadURL = c.ReadURL
	})
	ctx := context.Background()
	waitFor(t, 5*time.Second, "replica in use", func() bool {
		_, err := db.ListDiveSites(ctx, models.SiteFilter{Limit: 5})
		require.NoError(t, err)
		return db.ReplicaStatus().State == models.ReplicaHealthy && db.ReplicaStatus().Reads > 0
	})

	// Like a stopped (SIGSTOP) host: open connections break, new ones hang.
	proxy.Hold(time.Minute)
	proxy.DropAll()
	var slowest time.Duration
	for range 30 {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		began := time.Now()
		_, err := db.ListDiveOperators(rctx, models.OperatorFilter{Limit: 10})
		cancel()
		require.NoError(t, err, "the primary answered within the deadline")
		slowest = max(slowest, time.Since(began))
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("slowest read while the replica hung: %s", slowest.Round(time.Millisecond))
	assert.Less(t, slowest, 2*time.Second)
	assert.NotEqual(t, models.ReplicaHealthy, db.ReplicaStatus().State)
	assert.Positive(t, db.ReplicaStatus().Fallbacks)
	assert.Contains(t, logs.String(), "replica unavailable; reads go to the primary")
}
