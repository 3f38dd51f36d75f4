package database_test

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"net/url"
	"runtime"
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
	"github.com/dovvydive/backend/migrations"
	"github.com/dovvydive/backend/models"
	"github.com/dovvydive/backend/seeds"
)

// syncBuffer is a log sink safe for the goroutines that write to it.
func openSQL(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

func openDB(t *testing.T, dsn string) *database.DB {
	t.Helper()
	log, _ := dbtest.Logger()
	db, err := database.Open(context.Background(), dbtest.Config(dsn), log)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

func withHost(t *testing.T, dsn, host string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	u.Host = host
	return u.String()
}

func tableExists(t *testing.T, db *sql.DB, name string) bool {
	t.Helper()
	var ok bool
	require.NoError(t, db.QueryRow(`SELECT to_regclass($1) IS NOT NULL`, name).Scan(&ok))
	return ok
}

func TestMigrations_UpDownToZeroAndUpAgain(t *testing.T) {
	t.Parallel()
	dsn := dbtest.WithVector(t)
	sqlDB := openSQL(t, dsn)
	m, err := database.NewMigratorForDB(sqlDB)
	require.NoError(t, err)
	ctx := context.Background()

	n, err := m.Up(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, migrations.Latest(), n)
	v, err := m.Version(ctx)
	require.NoError(t, err)
	assert.Equal(t, migrations.Latest(), v)
	assert.True(t, tableExists(t, sqlDB, "dive_sites"))

	require.NoError(t, m.DownTo(ctx, 0))
	v, err = m.Version(ctx)
	require.NoError(t, err)
	assert.Zero(t, v)
	assert.False(t, tableExists(t, sqlDB, "dive_sites"))
	assert.False(t, tableExists(t, sqlDB, "dive_operators"))

	n, err = m.Up(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, migrations.Latest(), n)
	assert.True(t, tableExists(t, sqlDB, "dive_site_operators"))

	var vector string
	require.NoError(t, sqlDB.QueryRow(`SELECT extversion FROM pg_extension WHERE extname = 'vector'`).Scan(&vector))
	assert.NotEmpty(t, vector)

	states, err := m.Status(ctx)
	require.NoError(t, err)
	require.Len(t, states, int(migrations.Latest()))
	for _, s := range states {
		assert.True(t, s.Applied, s.Name)
	}
}

func TestMigrations_SuperuserCreatesPgvector(t *testing.T) {
	t.Parallel()
	dsn := dbtest.AsSuperuser(t, dbtest.Empty(t))
	sqlDB := openSQL(t, dsn)
	m, err := database.NewMigratorForDB(sqlDB)
	require.NoError(t, err)
	_, err = m.Up(context.Background())
	require.NoError(t, err)
	var n int
	require.NoError(t, sqlDB.QueryRow(`SELECT count(*) FROM pg_extension WHERE extname = 'vector'`).Scan(&n))
	assert.Equal(t, 1, n)
}

func TestMigrations_ExplainThatPgvectorNeedsASuperuser(t *testing.T) {
	t.Parallel()
	sqlDB := openSQL(t, dbtest.Empty(t)) // non-superuser owner, no extension
	m, err := database.NewMigratorForDB(sqlDB)
	require.NoError(t, err)
	_, err = m.Up(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "creating the vector extension needs a superuser")
	assert.Contains(t, err.Error(), "CREATE EXTENSION vector")
	assert.False(t, tableExists(t, sqlDB, "dive_sites"), "nothing after the failed migration ran")
}

func TestMigrations_ConcurrentRunnersApplyEachMigrationOnce(t *testing.T) {
	t.Parallel()
	// As superuser on an empty database, so CREATE EXTENSION itself races too.
	dsn := dbtest.AsSuperuser(t, dbtest.Empty(t))
	log, _ := dbtest.Logger()
	const runners = 4
	applied := make([]int, runners)
	errs := make([]error, runners)
	var wg sync.WaitGroup
	for i := range runners {
		wg.Go(func() {
			m, err := database.NewMigrator(context.Background(), dbtest.Config(dsn), log)
			if err != nil {
				errs[i] = err
				return
			}
			defer m.Close()
			applied[i], errs[i] = m.Up(context.Background())
		})
	}
	wg.Wait()
	total := 0
	for i := range runners {
		require.NoError(t, errs[i], "runner %d", i)
		total += applied[i]
	}
	assert.EqualValues(t, migrations.Latest(), total, "each migration applied by exactly one runner")

	var rows, distinct int
	require.NoError(t, openSQL(t, dsn).QueryRow(
		`SELECT count(*), count(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0`).Scan(&rows, &distinct))
	assert.EqualValues(t, migrations.Latest(), rows)
	assert.EqualValues(t, migrations.Latest(), distinct)
}

func TestExplainMigrationError_NamesMissingPgvector(t *testing.T) {
	// The server-side check raises this when pg_available_extensions has no
	// vector; removing pgvector from the test server is not possible here, so
	// the SQL is exercised by running its check directly.
	sqlDB := openSQL(t, dbtest.AsSuperuser(t, dbtest.Empty(t)))
	var available bool
	require.NoError(t, sqlDB.QueryRow(`SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector')`).Scan(&available))
	assert.True(t, available, "the test server has pgvector; the migration's check reads this view")
	_, err := sqlDB.Exec(`DO $$ BEGIN RAISE EXCEPTION 'pgvector is not installed on this server' USING HINT = 'install pgvector'; END $$`)
	require.Error(t, err)
	assert.ErrorIs(t, database.ExplainMigrationError(err), database.ErrPgvectorMissing)
	assert.Contains(t, database.ExplainMigrationError(err).Error(), "install pgvector")
}

func TestConnect_RetriesUntilTheDatabaseAppears(t *testing.T) {
	t.Parallel()
	dsn := dbtest.Migrated(t)
	target, err := url.Parse(dsn)
	require.NoError(t, err)
	addr := dbtest.ReserveAddr(t)
	cfg := dbtest.Config(withHost(t, dsn, addr))
	cfg.Retry.Attempts = 10
	log, logs := dbtest.Logger()
	db, err := database.New(cfg, log)
	require.NoError(t, err)
	defer db.Close()

	done := make(chan error, 1)
	go func() { done <- db.Connect(context.Background()) }()
	time.Sleep(400 * time.Millisecond)
	assert.False(t, db.Connected())
	dbtest.StartProxy(t, addr, target.Host)

	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Connect did not return after the database appeared")
	}
	assert.True(t, db.Connected())
	assert.Contains(t, logs.String(), "attempt=1 of=10")
	assert.Contains(t, logs.String(), "next_delay=")
	status, err := db.StatusCheck(context.Background())
	require.NoError(t, err)
	assert.Equal(t, migrations.Latest(), status.SchemaVersion)
}

func TestConnect_WrongPasswordFailsAtOnceWithoutRetrying(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(dbtest.Migrated(t))
	require.NoError(t, err)
	u.User = url.UserPassword(u.User.Username(), "wrong-password-123")
	cfg := dbtest.Config(u.String())
	cfg.Retry.InitialDelay = time.Second
	log, logs := dbtest.Logger()
	start := time.Now()
	_, err = database.Open(context.Background(), cfg, log)
	require.Error(t, err)
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.True(t, database.IsPermanent(err))
	assert.Contains(t, err.Error(), "1 attempt(s)")
	assert.Contains(t, err.Error(), "authentication failed") // PgBouncer says "SASL authentication failed"
	assert.NotContains(t, err.Error(), "wrong-password-123")
	assert.NotContains(t, logs.String(), "connection attempt failed")
	assert.NotContains(t, logs.String(), "wrong-password-123")
}

func TestConnect_UnknownDatabaseIsPermanent(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(dbtest.Migrated(t))
	require.NoError(t, err)
	u.Path = "/no_such_database"
	_, err = database.Open(context.Background(), dbtest.Config(u.String()), slog.New(slog.DiscardHandler))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "1 attempt(s)")
	assert.Contains(t, err.Error(), "does not exist")
}

func TestConnect_GivesUpAfterTheConfiguredAttempts(t *testing.T) {
	t.Parallel()
	cfg := dbtest.Config("postgres://u:p@" + dbtest.ReserveAddr(t) + "/d?sslmode=disable")
	cfg.Retry.Attempts = 3
	log, logs := dbtest.Logger()
	_, err := database.Open(context.Background(), cfg, log)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "3 attempt(s)")
	assert.Equal(t, 2, strings.Count(logs.String(), "connection attempt failed"), "a warning before each retry")
}

func TestConnect_CancellingStopsTheRetriesPromptly(t *testing.T) {
	t.Parallel()
	cfg := dbtest.Config("postgres://u:p@" + dbtest.ReserveAddr(t) + "/d?sslmode=disable")
	cfg.Retry.InitialDelay, cfg.Retry.MaxDelay = 10*time.Second, 30*time.Second
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	_, err := database.Open(ctx, cfg, slog.New(slog.DiscardHandler))
	require.ErrorIs(t, err, context.Canceled)
	assert.Less(t, time.Since(start), 2*time.Second)
}

func TestHealth_ReportsLatencyAndPgvectorVersion(t *testing.T) {
	t.Parallel()
	db := openDB(t, dbtest.Migrated(t))
	r := db.Health(context.Background())
	require.NoError(t, r.Err)
	assert.True(t, r.Connected)
	assert.Positive(t, r.Latency)
	assert.Regexp(t, `^\d+\.\d+\.\d+$`, r.VectorVersion)
}

func TestHealth_ConcurrentCallersShareOneRoundTripAndLaterCallersGetANewOne(t *testing.T) {
	t.Parallel()
	db, err := database.New(dbtest.Config("postgres://u:p@127.0.0.1:1/d"), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	var checks atomic.Int32
	running, release := make(chan struct{}), make(chan struct{})
	check := func(context.Context) models.HealthReport {
		if checks.Add(1) == 1 {
			close(running)
			<-release
		}
		return models.HealthReport{Connected: true, VectorVersion: "0.8.0"}
	}
	ctx := context.Background()
	reports := make(chan models.HealthReport, 20)
	go func() { reports <- db.ShareHealth(ctx, check) }()
	<-running
	var entered sync.WaitGroup
	for range 19 {
		entered.Add(1)
		go func() {
			entered.Done()
			reports <- db.ShareHealth(ctx, check)
		}()
	}
	entered.Wait()
	// Release only when all twenty wait inside the shared call.
	waitFor(t, 10*time.Second, "twenty callers waiting in shareHealth", func() bool {
		return goroutinesIn("(*DB).shareHealth(") == 20
	})
	close(release)
	for range 20 {
		assert.Equal(t, "0.8.0", (<-reports).VectorVersion)
	}
	assert.Equal(t, int32(1), checks.Load(), "twenty callers, one round trip")

	assert.True(t, db.ShareHealth(ctx, check).Connected)
	assert.Equal(t, int32(2), checks.Load(), "a caller after the shared check gets a check of its own")
}

func TestHealth_APanickingCheckIsAnErrorNotACrash(t *testing.T) {
	t.Parallel()
	db, err := database.New(dbtest.Config("postgres://u:p@127.0.0.1:1/d"), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	r := db.ShareHealth(context.Background(), func(context.Context) models.HealthReport { panic("driver bug") })
	assert.False(t, r.Connected)
	assert.ErrorContains(t, r.Err, "driver bug")
}

func TestHealth_ACallerThatGivesUpStopsWaitingForTheSharedCheck(t *testing.T) {
	t.Parallel()
	db, err := database.New(dbtest.Config("postgres://u:p@127.0.0.1:1/d"), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	release := make(chan struct{})
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	r := db.ShareHealth(ctx, func(context.Context) models.HealthReport {
		<-release
		return models.HealthReport{Connected: true}
	})
	assert.False(t, r.Connected)
	assert.ErrorIs(t, r.Err, context.DeadlineExceeded)
}

func TestHealth_BeforeConnectIsUnavailable(t *testing.T) {
	t.Parallel()
	db, err := database.New(dbtest.Config("postgres://u:p@127.0.0.1:1/d"), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	r := db.Health(context.Background())
	assert.False(t, r.Connected)
	assert.ErrorIs(t, r.Err, models.ErrUnavailable)
	_, err = db.ListDiveSites(context.Background(), models.SiteFilter{Limit: 1})
	assert.ErrorIs(t, err, models.ErrUnavailable)
}

func TestReady_FailsUntilMigrationsAreCurrent(t *testing.T) {
	t.Parallel()
	dsn := dbtest.WithVector(t)
	db := openDB(t, dsn)
	err := db.Ready(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "migrations pending")

	m, err := database.NewMigratorForDB(openSQL(t, dsn))
	require.NoError(t, err)
	_, err = m.Up(context.Background())
	require.NoError(t, err)
	assert.NoError(t, db.Ready(context.Background()))
}

func TestPool_NeverOpensMoreThanItsMaximum(t *testing.T) {
	t.Parallel()
	db := openDB(t, dbtest.Migrated(t)) // max_open_conns 20
	// 40 queries that each hold a connection for 200 ms: an unbounded pool
	// would open 40; a bounded one opens 20 and makes the rest wait.
	var peak atomic.Int64
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			if n := int64(db.Stats().OpenConnections); n > peak.Load() {
				peak.Store(n)
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	var wg sync.WaitGroup
	var failures atomic.Int64
	for range 40 {
		wg.Go(func() {
			if _, err := db.SQL().Exec(`SELECT pg_sleep(0.2)`); err != nil {
				failures.Add(1)
			}
		})
	}
	wg.Wait()
	close(stop)
	<-watched
	assert.Zero(t, failures.Load())
	assert.LessOrEqual(t, peak.Load(), int64(20), "open connections")
	assert.Positive(t, db.Stats().WaitCount, "queries waited for the bound")
}

func seeded(t *testing.T) *database.DB {
	t.Helper()
	db := openDB(t, dbtest.Migrated(t))
	_, err := seeds.Load(context.Background(), db, embedding.Hash{})
	require.NoError(t, err)
	return db
}

func TestListDiveSites_Filters(t *testing.T) {
	t.Parallel()
	db := seeded(t)
	ctx := context.Background()
	list := func(f models.SiteFilter) models.SitePage {
		t.Helper()
		if f.Limit == 0 {
			f.Limit = 100
		}
		page, err := db.ListDiveSites(ctx, f)
		require.NoError(t, err)
		return page
	}

	docs, err := seeds.Sites()
	require.NoError(t, err)
	inSemporna := 0
	for _, d := range docs {
		if d.Site.Region == "Semporna" {
			inSemporna++
		}
	}

	all := list(models.SiteFilter{})
	assert.EqualValues(t, len(docs), all.Total)
	for i := 1; i < len(all.Sites); i++ {
		assert.LessOrEqual(t, all.Sites[i-1].NameEn, all.Sites[i].NameEn, "ordered by name")
	}

	semporna := list(models.SiteFilter{Region: "SEMPORNA"})
	assert.EqualValues(t, inSemporna, semporna.Total, "region match ignores case")
	for _, s := range semporna.Sites {
		assert.Equal(t, "Semporna", s.Region)
	}

	beginner := list(models.SiteFilter{Difficulty: "beginner"})
	assert.NotZero(t, beginner.Total)
	for _, s := range beginner.Sites {
		assert.EqualValues(t, "beginner", s.Difficulty)
	}

	ow := list(models.SiteFilter{Certifications: []string{"open_water"}})
	assert.NotZero(t, ow.Total)
	assert.Less(t, ow.Total, all.Total)
	for _, s := range ow.Sites {
		assert.EqualValues(t, "open_water", s.MinCertification)
	}

	shallow := list(models.SiteFilter{MaxDepthM: 20})
	assert.NotZero(t, shallow.Total)
	for _, s := range shallow.Sites {
		assert.LessOrEqual(t, s.MaxDepthM, 20)
	}

	byName := list(models.SiteFilter{Name: "barracuda"})
	require.EqualValues(t, 1, byName.Total)
	assert.Equal(t, "sipadan-barracuda-point", byName.Sites[0].Slug)
	assert.EqualValues(t, 1, list(models.SiteFilter{Name: "梭鱼"}).Total, "Chinese names match too")
	assert.EqualValues(t, 0, list(models.SiteFilter{Name: "%"}).Total, "LIKE wildcards match literally")

	p1 := list(models.SiteFilter{Limit: 5})
	p2 := list(models.SiteFilter{Limit: 5, Offset: 5})
	require.Len(t, p1.Sites, 5)
	require.Len(t, p2.Sites, 5)
	assert.Equal(t, all.Sites[5].ID, p2.Sites[0].ID)
}

func TestGetDiveSite_IncludesItsOperators(t *testing.T) {
	t.Parallel()
	db := seeded(t)
	site, err := db.GetDiveSite(context.Background(), models.SiteID("sipadan-barracuda-point"))
	require.NoError(t, err)
	assert.Equal(t, "Barracuda Point, Sipadan", site.NameEn)
	assert.Len(t, site.Operators, 3)
	assert.NotEmpty(t, site.MarineLife)

	_, err = db.GetDiveSite(context.Background(), uuid.New())
	assert.ErrorIs(t, err, models.ErrNotFound)
}

func TestUpsertDiveData_AReseedWithChangedFactsReplacesThemAndTheSameFactsChangeNothing(t *testing.T) {
	t.Parallel()
	db := seeded(t)
	ctx := context.Background()
	id := models.SiteID("sipadan-barracuda-point")
	site, err := db.GetDiveSite(ctx, id)
	require.NoError(t, err)
	links := site.Operators

	site.Facts.Closures = append(site.Facts.Closures, models.Closure{From: "2030-11-01", To: "2030-11-30",
		En: "Closed for a reef survey.", Zh: "因珊瑚礁调查关闭。", Source: "https://example.org/notice"})
	site.Facts.Sightings = []models.Sighting{{Animal: "chevron barracuda", AnimalZh: "人字斑梭鱼",
		Months: []int{1, 2, 3}, Likelihood: models.LikelihoodCommon}}
	site.Facts.Requirements.Specialties = []models.Specialty{models.SpecialtyDeep}
	res, err := db.UpsertDiveData(ctx, nil, []models.DiveSite{site})
	require.NoError(t, err)
	assert.EqualValues(t, 1, res.Sites, "changed facts are written")

	got, err := db.GetDiveSite(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, site.Facts, got.Facts, "the by-id read returns the facts as written")
	assert.Len(t, got.Operators, len(links))

	res, err = db.UpsertDiveData(ctx, nil, []models.DiveSite{got})
	require.NoError(t, err)
	assert.Zero(t, res.Sites, "the same facts again change nothing")
}

func TestListDiveOperators_FiltersBySite(t *testing.T) {
	t.Parallel()
	db := seeded(t)
	page, err := db.ListDiveOperators(context.Background(), models.OperatorFilter{
		SiteID: models.SiteID("layang-layang-hammerhead-point"), Limit: 10})
	require.NoError(t, err)
	require.EqualValues(t, 1, page.Total)
	assert.Equal(t, "avillion-layang-layang", page.Operators[0].Slug)

	all, err := db.ListDiveOperators(context.Background(), models.OperatorFilter{Limit: 100})
	require.NoError(t, err)
	operators, err := seeds.Operators()
	require.NoError(t, err)
	assert.EqualValues(t, len(operators), all.Total)
}

func TestQueries_HonourTheCallersDeadline(t *testing.T) {
	t.Parallel()
	db := seeded(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	time.Sleep(time.Millisecond)
	_, err := db.ListDiveSites(ctx, models.SiteFilter{Limit: 1})
	require.Error(t, err)
	assert.True(t, errors.Is(err, models.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded))
}

// goroutinesIn counts the goroutines whose stack has a frame starting with
// fn, so a test can wait until callers block where it expects them.
func goroutinesIn(fn string) int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, fn) {
			n++
		}
	}
	return n
}
