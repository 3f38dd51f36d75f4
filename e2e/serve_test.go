package e2e

// End-to-end tests of the built binary: they start real `dovvydive`
// processes against real PostgreSQL, so startup, retries, concurrent
// migrations, exit codes and graceful shutdown are proven as operators see them.

import (
	"bufio"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/database/dbtest"
	"github.com/dovvydive/backend/handlers/contracttest"
	"github.com/dovvydive/backend/migrations"
	"github.com/dovvydive/backend/models"
	"github.com/dovvydive/backend/seeds"
)

func TestServe_BecomesReadyWhenTheDatabaseComesUpFiveSecondsLater(t *testing.T) {
	t.Parallel()
	dsn := dbtest.Migrated(t)
	target, _ := url.Parse(dsn)
	addr := dbtest.ReserveAddr(t)
	late, _ := url.Parse(dsn)
	late.Host = addr

	p := start(t, map[string]string{"APP_ENV": "test", "DATABASE_URL": late.String()}, "serve")
	p.waitStatus(t, "/livez", http.StatusOK, 5*time.Second)
	assert.Equal(t, http.StatusServiceUnavailable, status(t, p.url("/readyz")), "not ready while the database is away")
	assert.Equal(t, http.StatusServiceUnavailable, status(t, p.url("/api/v1/dive-sites")))

	time.Sleep(5 * time.Second)
	dbtest.StartProxy(t, addr, target.Host)
	took := p.waitStatus(t, "/readyz", http.StatusOK, 30*time.Second)
	t.Logf("ready %s after the database appeared", took.Round(time.Millisecond))
	logs := p.stderr.String()
	assert.Contains(t, logs, "connection attempt failed")
	assert.Contains(t, logs, "attempt=1 of=5")
	assert.Contains(t, logs, "database: ready")
	assert.Equal(t, http.StatusOK, status(t, p.url("/api/v1/dive-sites")))
}

// status GETs u through the contract checker and returns the status, or -1
// after reporting a transport error. It uses t.Errorf, not require, so it is
// safe in goroutines.

func TestServe_WrongPasswordExitsWithinTwoSecondsWithoutRetrying(t *testing.T) {
	t.Parallel()
	u, _ := url.Parse(dbtest.Migrated(t))
	u.User = url.UserPassword(u.User.Username(), "not-the-password-42")
	began := time.Now()
	p := start(t, map[string]string{"APP_ENV": "test", "DATABASE_URL": u.String()}, "serve")
	code := p.wait(t, 10*time.Second)
	took := time.Since(began)
	t.Logf("exited %d after %s", code, took.Round(time.Millisecond))
	assert.NotZero(t, code)
	assert.Less(t, took, 2*time.Second)
	logs := p.stderr.String()
	assert.NotContains(t, logs, "connection attempt failed", "no retries")
	assert.NotContains(t, logs, "not-the-password-42")
	lines := strings.Split(strings.TrimSpace(logs), "\n")
	last := lines[len(lines)-1]
	assert.True(t, strings.HasPrefix(last, "dovvydive: "), last)
	assert.Contains(t, last, "password authentication failed")
}

func TestServe_TwoInstancesOnAnEmptyDatabaseMigrateOnceAndBothServe(t *testing.T) {
	t.Parallel()
	// The superuser on an empty database: CREATE EXTENSION vector races too.
	dsn := dbtest.AsSuperuser(t, dbtest.Empty(t))
	env := func() map[string]string { return map[string]string{"APP_ENV": "test", "DATABASE_URL": dsn} }
	a := start(t, env(), "serve")
	b := start(t, env(), "serve")
	a.waitStatus(t, "/readyz", http.StatusOK, 30*time.Second)
	b.waitStatus(t, "/readyz", http.StatusOK, 30*time.Second)
	assert.Contains(t, a.stderr.String(), "database: ready", "ready only after startup finished")
	assert.Equal(t, http.StatusOK, status(t, a.url("/api/v1/dive-sites")))
	assert.Equal(t, http.StatusOK, status(t, b.url("/api/v1/dive-sites")))

	code, out, _ := runCmd(t, map[string]string{"APP_ENV": "test", "DATABASE_URL": dsn}, "migrate", "status")
	require.Zero(t, code)
	assert.NotContains(t, out, "pending")
	applied := strings.Count(a.stderr.String()+b.stderr.String(), fmt.Sprintf("applied_now=%d", migrations.Latest()))
	noop := strings.Count(a.stderr.String()+b.stderr.String(), "applied_now=0")
	assert.Equal(t, 1, applied, "one instance applied both migrations")
	assert.Equal(t, 1, noop, "the other found nothing to do")
}

func TestServe_ShutsDownGracefullyFinishingInFlightRequests(t *testing.T) {
	t.Parallel()
	dsn := dbtest.Migrated(t)
	target, _ := url.Parse(dsn)
	proxy := dbtest.StartProxy(t, "127.0.0.1:0", target.Host)
	via, _ := url.Parse(dsn)
	via.Host = proxy.Addr
	p := start(t, map[string]string{"APP_ENV": "test", "DATABASE_URL": via.String(),
		// No drain: Shutdown itself must wait for the request in flight.
		"SERVER_DRAIN_PERIOD": "0s"}, "serve")
	p.waitStatus(t, "/readyz", http.StatusOK, 15*time.Second)

	// Make the next query slow: drop pooled connections and hold new ones.
	// pgx's database/sql driver re-checks connections idle for over a second
	// before reuse, so after that the request waits on a fresh, held one.
	proxy.Hold(1500 * time.Millisecond)
	proxy.DropAll()
	time.Sleep(1100 * time.Millisecond)
	type answer struct {
		status int
		at     time.Time
	}
	result := make(chan answer, 1)
	go func() {
		res, err := contracttest.Client(t, 10*time.Second).Get(p.url("/api/v1/dive-sites/" + models.SiteID("sipadan-drop-off").String()))
		if err != nil {
			result <- answer{status: -1, at: time.Now()}
			return
		}
		res.Body.Close()
		result <- answer{status: res.StatusCode, at: time.Now()}
	}()
	// In flight: the request waits on a connection the proxy holds.
	for deadline := time.Now().Add(5 * time.Second); proxy.Held() == 0; time.Sleep(10 * time.Millisecond) {
		require.True(t, time.Now().Before(deadline), "the request did not reach a held database connection within 5s")
	}
	signalled := time.Now()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))

	assert.Equal(t, 0, p.wait(t, 15*time.Second), "exit 0 after a signal")
	exited := time.Now()
	got := <-result
	assert.Equal(t, http.StatusNotFound, got.status, "the in-flight request was answered (site not seeded here)")
	assert.True(t, got.at.After(signalled) && got.at.Before(exited), "after the SIGTERM and before the exit")
	logs := p.stderr.String()
	assert.Contains(t, logs, "shutdown: signal received")
	assert.Contains(t, logs, "database: pool closed")
}

func TestServe_InterruptDuringRetriesExitsPromptly(t *testing.T) {
	t.Parallel()
	p := start(t, map[string]string{"APP_ENV": "test",
		"DATABASE_URL":                 "postgres://u:p@" + dbtest.ReserveAddr(t) + "/d?sslmode=disable",
		"DATABASE_RETRY_INITIAL_DELAY": "10s", "DATABASE_RETRY_MAX_DELAY": "30s"}, "serve")
	p.waitStatus(t, "/livez", http.StatusOK, 5*time.Second)
	p.waitLog(t, "connection attempt failed", 10*time.Second) // now in the 10 s wait before attempt 2
	began := time.Now()
	require.NoError(t, p.cmd.Process.Signal(os.Interrupt))
	assert.Equal(t, 0, p.wait(t, 5*time.Second))
	assert.Less(t, time.Since(began), 2*time.Second)
}

func TestCLI_InvalidConfigurationFailsBeforeTouchingTheNetwork(t *testing.T) {
	t.Parallel()
	began := time.Now()
	code, _, stderr := runCmd(t, map[string]string{"DATABASE_PROVIDER": "neon", "APP_ENV": "production"}, "serve")
	assert.Equal(t, 1, code)
	assert.Less(t, time.Since(began), 2*time.Second)
	assert.Equal(t, 1, strings.Count(strings.TrimSpace(stderr), "\n")+1, "one line: %s", stderr)
	assert.Contains(t, stderr, "NEON_DATABASE_URL: required")
	assert.Contains(t, stderr, "SESSION_SECRET: required in production")
}

func TestCLI_ConfigPrintsTheEffectiveConfigurationMasked(t *testing.T) {
	t.Parallel()
	code, out, _ := runCmd(t, map[string]string{
		"DATABASE_URL":   "postgres://app:s3cr3t-pw@db.internal:5432/dive",
		"SESSION_SECRET": "0123456789abcdef0123456789abcdef-session",
		"BACKEND_PORT":   "4555",
	}, "config")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "port: 4555")
	assert.Contains(t, out, "postgres://app:xxxxx@db.internal:5432/dive")
	assert.NotContains(t, out, "s3cr3t-pw")
	assert.NotContains(t, out, "0123456789abcdef")
	assert.Contains(t, out, "max_open_conns: 20")
}

func TestCLI_ConfigFlagNamesTheFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "custom.yaml")
	require.NoError(t, os.WriteFile(path, []byte("server:\n  port: 4777\n"), 0o600))
	code, out, _ := runCmd(t, map[string]string{}, "config", "--config", path)
	require.Equal(t, 0, code)
	assert.Contains(t, out, "port: 4777")

	code, _, stderr := runCmd(t, map[string]string{}, "config", "--config", filepath.Join(dir, "missing.yaml"))
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "read config")
}

func TestCLI_MigrateUpStatusVersionDown(t *testing.T) {
	t.Parallel()
	env := func() map[string]string {
		return map[string]string{"APP_ENV": "test", "DATABASE_URL": dbtestURL(t)}
	}
	e := env()
	code, out, _ := runCmd(t, e, "migrate", "up")
	require.Zero(t, code)
	assert.Contains(t, out, fmt.Sprintf("applied %d migration(s); version %d", migrations.Latest(), migrations.Latest()))
	code, out, _ = runCmd(t, e, "migrate", "version")
	require.Zero(t, code)
	assert.Equal(t, fmt.Sprintf("%d\n", migrations.Latest()), out)
	code, out, _ = runCmd(t, e, "migrate", "status")
	require.Zero(t, code)
	assert.Contains(t, out, "00002_dive_sites_and_operators.sql")
	code, out, _ = runCmd(t, e, "migrate", "down")
	require.Zero(t, code)
	assert.Contains(t, out, fmt.Sprintf("version %d", migrations.Latest()-1))
	code, out, _ = runCmd(t, e, "migrate", "status")
	require.Zero(t, code)
	assert.Contains(t, out, "pending")
}

func TestCLI_SeedTwiceChangesNothingTheSecondTime(t *testing.T) {
	t.Parallel()
	env := map[string]string{"APP_ENV": "test", "DATABASE_URL": dbtest.Migrated(t)}
	operators, err := seeds.Operators()
	require.NoError(t, err)
	docs, err := seeds.Sites()
	require.NoError(t, err)
	code, out, _ := runCmd(t, env, "seed")
	require.Zero(t, code)
	assert.Contains(t, out, fmt.Sprintf("%d operator(s) inserted or changed; sites: %d loaded, 0 unchanged", len(operators), len(docs)))
	code, out, _ = runCmd(t, env, "seed")
	require.Zero(t, code)
	assert.Contains(t, out, fmt.Sprintf("0 operator(s) inserted or changed; sites: 0 loaded, %d unchanged, 0 chunk(s) written", len(docs)))
}

func TestCLI_SeedBeforeMigrateSaysWhatToDo(t *testing.T) {
	t.Parallel()
	code, _, stderr := runCmd(t, map[string]string{"APP_ENV": "test", "DATABASE_URL": dbtest.WithVector(t)}, "seed")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "run `migrate up` first")
}

func TestCLI_MigrateCreateWritesTheNextSequentialFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	entries, _ := os.ReadDir("migrations")
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sql") {
			b, _ := os.ReadFile(filepath.Join("migrations", e.Name()))
			require.NoError(t, os.WriteFile(filepath.Join(dir, e.Name()), b, 0o600))
		}
	}
	code, out, _ := runCmd(t, map[string]string{}, "migrate", "create", "add_dive_logs", "--dir", dir)
	require.Zero(t, code)
	created := strings.TrimSpace(out)
	assert.Equal(t, filepath.Join(dir, fmt.Sprintf("%05d_add_dive_logs.sql", migrations.Latest()+1)), created)
	body, err := os.ReadFile(created)
	require.NoError(t, err)
	assert.Contains(t, string(body), "-- +goose Up")
}

func TestCLI_UnknownCommandFailsWithOneLine(t *testing.T) {
	t.Parallel()
	code, _, stderr := runCmd(t, map[string]string{}, "dive")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "unknown command")
}

func TestCLI_IngestLoadsAFolderAndReportsMalformedFilesByNameAndLine(t *testing.T) {
	t.Parallel()
	env := map[string]string{"APP_ENV": "test", "DATABASE_URL": dbtest.Migrated(t)}
	code, _, _ := runCmd(t, env, "seed") // operators first: sites link to them
	require.Zero(t, code)

	dir := t.TempDir()
	good, err := os.ReadFile(filepath.Join("data", "sites", "tioman-chebeh.md"))
	require.NoError(t, err)
	// Changed text: the stored document no longer matches it.
	changed := strings.Replace(string(good), "\n<!-- zh -->", "A sentence added by the test.\n\n<!-- zh -->", 1)
	require.NotEqual(t, string(good), changed)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tioman-chebeh.md"), []byte(changed), 0o600))
	difficulty := regexp.MustCompile(`(?m)^difficulty: .*$`)
	line := 1 + strings.Count(string(good)[:difficulty.FindStringIndex(string(good))[0]], "\n")
	bad := difficulty.ReplaceAllString(string(good), "difficulty: heroic")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "zz-broken.md"), []byte(bad), 0o600))

	code, out, stderr := runCmd(t, env, "ingest", dir)
	assert.Equal(t, 1, code, "a failed file makes the run fail")
	assert.Contains(t, out, "ingested 2 file(s): 1 loaded, 0 unchanged, 1 failed")
	assert.Contains(t, stderr, fmt.Sprintf("skipped zz-broken.md:%d: difficulty: must be one of", line))
	assert.Contains(t, stderr, "ingest: 2/2 files", "progress lines when not on a terminal")

	require.NoError(t, os.Remove(filepath.Join(dir, "zz-broken.md")))
	code, out, _ = runCmd(t, env, "ingest", dir)
	require.Zero(t, code)
	assert.Contains(t, out, "1 unchanged")
	code, out, _ = runCmd(t, env, "ingest", "--reembed", dir)
	require.Zero(t, code)
	assert.Contains(t, out, "1 loaded")
}

func TestServe_RefusesAnEmbedderThatDiffersFromTheStoredVectors(t *testing.T) {
	t.Parallel()
	dsn := dbtest.Migrated(t)
	code, _, _ := runCmd(t, map[string]string{"APP_ENV": "test", "DATABASE_URL": dsn}, "seed")
	require.Zero(t, code)
	p := start(t, map[string]string{"APP_ENV": "test", "DATABASE_URL": dsn,
		"EMBEDDING_PROVIDER": "gemini", "GEMINI_API_KEY": "test-key-not-used"}, "serve")
	assert.Equal(t, 1, p.wait(t, 15*time.Second))
	assert.Contains(t, p.stderr.String(), "ingest --reembed")
	assert.NotContains(t, p.stderr.String(), "test-key-not-used")
}

func TestServe_PprofAndMetricsOnTheirOwnPortNeverOnThePublicOne(t *testing.T) {
	t.Parallel()
	_, metricsPort, _ := strings.Cut(dbtest.ReserveAddr(t), ":")
	p := start(t, map[string]string{"APP_ENV": "test", "DATABASE_URL": dbtestURL(t), "LOG_FORMAT": "json",
		"METRICS_PORT": metricsPort, "PPROF_ENABLED": "true"}, "serve")
	p.waitStatus(t, "/readyz", http.StatusOK, 30*time.Second)
	// The operator port is not the API: no contract to check its answers against.
	private := "http://127.0.0.1:" + metricsPort
	plainStatus := func(u string) int {
		res, err := http.Get(u)
		require.NoError(t, err)
		res.Body.Close()
		return res.StatusCode
	}
	assert.Equal(t, http.StatusOK, plainStatus(private+"/metrics"))
	assert.Equal(t, http.StatusOK, plainStatus(private+"/debug/pprof/"))
	assert.Equal(t, http.StatusNotFound, status(t, p.url("/debug/pprof/")), "never on the public port")
	assert.Equal(t, http.StatusNotFound, status(t, p.url("/metrics")), "metrics moved to their own port")

	res, err := http.Get(private + "/metrics")
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, name := range []string{"dovvydive_http_requests_total", "dovvydive_db_pool_open_connections",
		"dovvydive_db_pool_wait_count_total", "dovvydive_search_queued", "go_goroutines", "process_resident_memory_bytes"} {
		assert.Contains(t, string(body), name)
	}
	// LOG_FORMAT=json in APP_ENV=test: every line is a JSON object.
	for _, line := range strings.Split(strings.TrimSpace(p.stderr.String()), "\n") {
		assert.True(t, json.Valid([]byte(line)), "a JSON log line: %s", line)
	}
}

func TestServe_DrainsAfterSIGTERM_ReadyzFailsAtOnceWhileTheListenerKeepsServing(t *testing.T) {
	t.Parallel()
	p := start(t, map[string]string{"APP_ENV": "test", "DATABASE_URL": dbtest.Migrated(t),
		"SERVER_DRAIN_PERIOD": "2s"}, "serve")
	p.waitStatus(t, "/readyz", http.StatusOK, 15*time.Second)

	// A keep-alive connection left idle, as a balancer keeps them: the
	// drain must not close it under a request written into it.
	idle, err := net.DialTimeout("tcp", "127.0.0.1:"+p.port, 5*time.Second)
	require.NoError(t, err)
	defer idle.Close()
	idleReader := bufio.NewReader(idle)
	askOnIdle := func() *http.Response {
		t.Helper()
		require.NoError(t, idle.SetDeadline(time.Now().Add(5*time.Second)))
		_, err := io.WriteString(idle, "GET /api/v1/dive-sites HTTP/1.1\r\nHost: x\r\n\r\n")
		require.NoError(t, err)
		res, err := http.ReadResponse(idleReader, nil)
		require.NoError(t, err, "an answer on the idle keep-alive connection")
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	require.False(t, askOnIdle().Close, "keep-alive is on before the drain")

	signalled := time.Now()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	p.waitStatus(t, "/readyz", http.StatusServiceUnavailable, 500*time.Millisecond)
	last := askOnIdle()
	assert.Equal(t, http.StatusOK, last.StatusCode, "a request on a connection idle when the drain began is served")
	assert.True(t, last.Close, "and its connection closes after the answer")
	res, err := http.Get(p.url("/readyz"))
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Contains(t, string(body), `"reason":"draining"`)

	// Every API request sent during the drain is answered, each with
	// "Connection: close" so keep-alive clients reconnect elsewhere.
	client := &http.Client{Timeout: 5 * time.Second}
	served := 0
	for time.Since(signalled) < 1500*time.Millisecond {
		res, err := client.Get(p.url("/api/v1/dive-sites"))
		require.NoError(t, err, "a request during the drain failed")
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.True(t, res.Close, "keep-alive is off during the drain")
		served++
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("%d requests served during the drain", served)
	assert.GreaterOrEqual(t, served, 3, "requests kept being served through the drain")

	assert.Equal(t, 0, p.wait(t, 10*time.Second), "exit 0 after the drain")
	took := time.Since(signalled)
	assert.GreaterOrEqual(t, took, 2*time.Second, "the listener stayed open for the drain period")
	assert.Less(t, took, 5*time.Second)
	assert.Contains(t, p.stderr.String(), "shutdown: draining")
}

func TestServe_DrainPeriodZeroStopsAtOnce(t *testing.T) {
	t.Parallel()
	p := start(t, map[string]string{"APP_ENV": "test", "DATABASE_URL": dbtest.Migrated(t),
		"SERVER_DRAIN_PERIOD": "0s"}, "serve")
	p.waitStatus(t, "/readyz", http.StatusOK, 15*time.Second)
	signalled := time.Now()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, 0, p.wait(t, 10*time.Second))
	assert.Less(t, time.Since(signalled), time.Second)
	assert.NotContains(t, p.stderr.String(), "shutdown: draining")
}

func TestCLI_PurgeDeletesExpiredSessionsAndPrintsCounts(t *testing.T) {
	t.Parallel()
	dsn := dbtest.Migrated(t)
	dbtest.Exec(t, dsn,
		`INSERT INTO guest_sessions (id, created_at, last_seen_at, expires_at, absolute_expires_at) VALUES
			('00000000-0000-4000-8000-000000000001', now() - interval '2 days', now() - interval '2 days', now() - interval '1 day', now() + interval '5 days'),
			('00000000-0000-4000-8000-000000000002', now(), now(), now() + interval '1 day', now() + interval '7 days')`,
		`INSERT INTO conversations (id, session_id) VALUES ('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-000000000001')`)
	env := map[string]string{"APP_ENV": "test", "DATABASE_URL": dsn}
	code, out, _ := runCmd(t, env, "purge", "--batch", "10")
	require.Zero(t, code)
	assert.Contains(t, out, "purged: 1 session(s), 1 conversation(s), 0 message(s)")
	code, out, _ = runCmd(t, env, "purge")
	require.Zero(t, code)
	assert.Contains(t, out, "purged: 0 session(s)")
	code, _, stderr := runCmd(t, env, "purge", "--batch", "5000")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "--batch is 5000")
}

func TestCLI_TwoPurgesAtOnceDeleteEveryExpiredSessionOnceAndNoLiveOne(t *testing.T) {
	t.Parallel()
	dsn := dbtest.Migrated(t)
	// 400 expired sessions with a conversation each, and 50 live ones.
	dbtest.Exec(t, dsn,
		`INSERT INTO guest_sessions (id, created_at, last_seen_at, expires_at, absolute_expires_at)
			SELECT gen_random_uuid(), now() - interval '2 days', now() - interval '2 days', now() - interval '1 day', now() + interval '5 days'
			FROM generate_series(1, 400)`,
		`INSERT INTO conversations (id, session_id) SELECT gen_random_uuid(), id FROM guest_sessions`,
		`INSERT INTO guest_sessions (id, created_at, last_seen_at, expires_at, absolute_expires_at)
			SELECT gen_random_uuid(), now(), now(), now() + interval '1 day', now() + interval '7 days'
			FROM generate_series(1, 50)`)
	env := map[string]string{"APP_ENV": "test", "DATABASE_URL": dsn}
	a := start(t, env, "purge", "--batch", "25")
	b := start(t, env, "purge", "--batch", "25")
	require.Zero(t, a.wait(t, 60*time.Second), a.stderr.String())
	require.Zero(t, b.wait(t, 60*time.Second), b.stderr.String())

	// Children go before their session, so one purge may delete the
	// conversations of a session the other then deletes: count the totals.
	sessions, conversations := 0, 0
	for _, out := range []string{a.stdout.String(), b.stdout.String()} {
		var s, c int
		_, err := fmt.Sscanf(out, "purged: %d session(s), %d conversation(s)", &s, &c)
		require.NoError(t, err, out)
		sessions, conversations = sessions+s, conversations+c
	}
	assert.Equal(t, 400, sessions, "every expired session deleted exactly once between the two")
	assert.Equal(t, 400, conversations, "and every conversation they owned")

	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	defer db.Close()
	var live, expired int
	require.NoError(t, db.QueryRow(`SELECT count(*) FILTER (WHERE expires_at > now()), count(*) FILTER (WHERE expires_at <= now())
		FROM guest_sessions`).Scan(&live, &expired))
	assert.Equal(t, 50, live, "nothing live deleted")
	assert.Zero(t, expired)
}
