package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/database"
	"github.com/dovvydive/backend/database/dbtest"
	"github.com/dovvydive/backend/handlers"
	"github.com/dovvydive/backend/handlers/contracttest"
	"github.com/dovvydive/backend/knowledge"
	"github.com/dovvydive/backend/knowledge/embedding"
	"github.com/dovvydive/backend/models"
	"github.com/dovvydive/backend/planner"
	"github.com/dovvydive/backend/seeds"
)

func init() { gin.SetMode(gin.TestMode) }

type server struct {
	*httptest.Server
	logs *dbtest.LogBuffer
}

// serverConfig is what a test router is built from: its HTTP settings and
// the settings app gives the services (see testRouter).
type serverConfig struct {
	handlers.RouterConfig
	Embedder          embedding.Embedder
	EfSearch          int
	MinScore          float64          // as search.min_score: negative takes the embedder's floor
	Planner           planner.Answerer // nil: the offline extractive planner over the store
	MessagesPerHour   int
	SessionTTL        time.Duration
	SessionMaxAge     time.Duration
	SessionsPerIPHour int
}

// testStore is what the services a test router gets read and write.
type testStore interface {
	handlers.Store
	knowledge.SearchStore
	planner.ChatStore
	planner.Database
}

// testRouter builds the services the way app does, over store, and the
// router over them.
func testRouter(cfg serverConfig, store testStore) (*gin.Engine, error) {
	emb := cfg.Embedder
	if emb == nil {
		emb = embedding.Hash{}
	}
	searcher, err := knowledge.NewSearcher(store, emb, cfg.EfSearch, cfg.MinScore)
	if err != nil {
		return nil, err
	}
	p := cfg.Planner
	if p == nil {
		ps := planner.Store{DB: store, EfSearch: cfg.EfSearch}
		if p, err = planner.New(planner.Config{Embedder: emb, Retriever: ps, Catalog: ps, Generator: planner.Extractive{}}); err != nil {
			return nil, err
		}
	}
	secret := cfg.SessionSecret
	if len(secret) == 0 { // routers of tests that need no sessions
		secret = []byte("test-share-secret")
	}
	shareKey, err := models.NewShareKey(secret)
	if err != nil {
		return nil, err
	}
	return handlers.NewRouter(cfg.RouterConfig, handlers.Services{Store: store, Searcher: searcher, ShareKey: shareKey,
		Chat:     planner.NewChat(store, p, cfg.MessagesPerHour, nil),
		Sessions: handlers.SessionLimits{TTL: cfg.SessionTTL, MaxAge: cfg.SessionMaxAge, CreatePerIPHour: cfg.SessionsPerIPHour}})
}

func newServer(t *testing.T, store testStore, adjust ...func(*serverConfig)) server {
	t.Helper()
	logs := &dbtest.LogBuffer{}
	cfg := serverConfig{RouterConfig: handlers.RouterConfig{
		Log:            slog.New(slog.NewTextHandler(logs, nil)),
		RequestTimeout: 2 * time.Second,
		MaxBodyBytes:   1 << 20,
		CORSOrigins:    []string{"http://localhost:5173"},
		SessionSecret:  []byte("test-secret-test-secret-test-secret!"),
	},
		SessionTTL: time.Hour,
		Embedder:   embedding.Hash{},
	}
	for _, f := range adjust {
		f(&cfg)
	}
	router, err := testRouter(cfg, store)
	require.NoError(t, err)
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	return server{srv, logs}
}

func seededDB(t *testing.T) *database.DB {
	t.Helper()
	db, err := database.Open(context.Background(), dbtest.Config(dbtest.Migrated(t)), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	_, err = seeds.Load(context.Background(), db, embedding.Hash{})
	require.NoError(t, err)
	return db
}

func unconnectedDB(t *testing.T) *database.DB {
	t.Helper()
	db, err := database.New(dbtest.Config("postgres://u:p@127.0.0.1:1/d?sslmode=disable"), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	return db
}

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func do(t *testing.T, req *http.Request) response {
	t.Helper()
	res, err := contracttest.Client(t, 30*time.Second).Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	r := response{status: res.StatusCode, header: res.Header, raw: string(raw)}
	if len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, &r.body), "body is JSON: %s", raw)
	}
	return r
}

func get(t *testing.T, url string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	return do(t, req)
}

func errorOf(t *testing.T, r response) map[string]any {
	t.Helper()
	e, ok := r.body["error"].(map[string]any)
	require.True(t, ok, "error object in %s", r.raw)
	return e
}

func TestListDiveSites_ReturnsAPageInCamelCase(t *testing.T) {
	t.Parallel()
	srv := newServer(t, seededDB(t))
	r := get(t, srv.URL+"/api/v1/dive-sites?region=semporna&limit=3")
	require.Equal(t, http.StatusOK, r.status, r.raw)
	data := r.body["data"].([]any)
	assert.Len(t, data, 3)
	first := data[0].(map[string]any)
	for _, key := range []string{"id", "slug", "nameEn", "nameZh", "summaryEn", "summaryZh", "region", "state",
		"latitude", "longitude", "minDepthM", "maxDepthM", "difficulty", "minCertification", "bestSeason", "bestMonths", "marineLife"} {
		assert.Contains(t, first, key)
	}
	for _, key := range []string{"facts", "operators", "descriptionEn", "descriptionZh"} {
		assert.NotContains(t, first, key, "a list shows summaries; the site itself has the rest")
	}
	assert.NotContains(t, first["summaryEn"], "\n\n", "one paragraph")
	assert.Regexp(t, `\p{Han}`, first["summaryZh"])
	assert.NotEmpty(t, first["summaryEn"])
	semporna := countSites(t, func(s models.DiveSite) bool { return s.Region == "Semporna" })
	require.Greater(t, semporna, 3, "the corpus has more than one page of Semporna sites")
	page := r.body["page"].(map[string]any)
	assert.EqualValues(t, semporna, page["total"])
	assert.EqualValues(t, 3, page["nextOffset"])

	lastOffset := (semporna - 1) / 3 * 3
	last := get(t, srv.URL+fmt.Sprintf("/api/v1/dive-sites?region=semporna&limit=3&offset=%d", lastOffset))
	assert.Len(t, last.body["data"], semporna-lastOffset)
	assert.Nil(t, last.body["page"].(map[string]any)["nextOffset"], "null on the last page")
}

// countSites counts the corpus sites that match, so tests follow the data.
func countSites(t *testing.T, match func(models.DiveSite) bool) int {
	t.Helper()
	docs, err := seeds.Sites()
	require.NoError(t, err)
	n := 0
	for _, d := range docs {
		if match(d.Site) {
			n++
		}
	}
	return n
}

func TestListDiveSites_CombinesFilters(t *testing.T) {
	t.Parallel()
	srv := newServer(t, seededDB(t))
	r := get(t, srv.URL+"/api/v1/dive-sites?state=Sabah&difficulty=advanced&certification=advanced_open_water&maxDepth=40&q=point")
	require.Equal(t, http.StatusOK, r.status, r.raw)
	slugs := []string{}
	for _, d := range r.body["data"].([]any) {
		slugs = append(slugs, d.(map[string]any)["slug"].(string))
	}
	assert.ElementsMatch(t, []string{"sipadan-barracuda-point", "sipadan-south-point", "layang-layang-hammerhead-point"}, slugs)

	ow := get(t, srv.URL+"/api/v1/dive-sites?certification=open_water&limit=100")
	for _, d := range ow.body["data"].([]any) {
		assert.Equal(t, "open_water", d.(map[string]any)["minCertification"], "an Open Water diver sees only Open Water sites")
	}
}

func TestGetDiveSite_ReturnsItWithItsOperators(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	srv := newServer(t, db)
	r := get(t, srv.URL+"/api/v1/dive-sites/"+models.SiteID("layang-layang-hammerhead-point").String())
	require.Equal(t, http.StatusOK, r.status, r.raw)
	site := r.body["data"].(map[string]any)
	assert.Equal(t, "拉央拉央·双髻鲨点", site["nameZh"])
	ops := site["operators"].([]any)
	require.Len(t, ops, 1)
	assert.Equal(t, "Avillion Layang-Layang Island Resort", ops[0].(map[string]any)["name"])

	// Every corpus site has an operator, so add one that has none.
	docs, err := seeds.Sites()
	require.NoError(t, err)
	lonely := docs[0].Site
	lonely.Slug, lonely.NameEn, lonely.NameZh = "test-no-operators", "No Operators Yet", "暂无潜水中心"
	lonely.ID, lonely.Operators = models.SiteID(lonely.Slug), nil
	_, err = db.UpsertDiveData(context.Background(), nil, []models.DiveSite{lonely})
	require.NoError(t, err)
	noOps := get(t, srv.URL+"/api/v1/dive-sites/"+lonely.ID.String())
	require.Equal(t, http.StatusOK, noOps.status, noOps.raw)
	assert.Equal(t, []any{}, noOps.body["data"].(map[string]any)["operators"], "an empty list, not null")
}

func TestListDiveOperators_FiltersByRegionAndSite(t *testing.T) {
	t.Parallel()
	srv := newServer(t, seededDB(t))
	operators, err := seeds.Operators()
	require.NoError(t, err)
	var semporna []string
	for _, op := range operators {
		if op.Region == "Semporna" {
			semporna = append(semporna, op.Slug)
		}
	}
	r := get(t, srv.URL+"/api/v1/dive-operators?region=semporna")
	require.Equal(t, http.StatusOK, r.status, r.raw)
	var got []string
	for _, d := range r.body["data"].([]any) {
		got = append(got, d.(map[string]any)["slug"].(string))
	}
	assert.ElementsMatch(t, semporna, got)
	r = get(t, srv.URL+"/api/v1/dive-operators?siteId="+models.SiteID("tioman-chebeh").String())
	require.Equal(t, http.StatusOK, r.status, r.raw)
	require.Len(t, r.body["data"], 1)
	assert.Equal(t, "bj-diving-centre-tioman", r.body["data"].([]any)[0].(map[string]any)["slug"])
}

func TestBadInput_Answers4xxNamingTheFieldAndLosesNothing(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	srv := newServer(t, db)
	before, err := db.ListDiveSites(context.Background(), models.SiteFilter{Limit: 1})
	require.NoError(t, err)

	cases := []struct {
		name, method, path string
		body               io.Reader
		status             int
		field              string
	}{
		{"malformed id", "GET", "/api/v1/dive-sites/not-a-uuid", nil, 400, "id"},
		{"sql in id", "GET", "/api/v1/dive-sites/1%27%20OR%201=1--", nil, 400, "id"},
		{"unknown id", "GET", "/api/v1/dive-sites/" + uuid.NewString(), nil, 404, ""},
		{"limit zero", "GET", "/api/v1/dive-sites?limit=0", nil, 400, "limit"},
		{"limit too large", "GET", "/api/v1/dive-sites?limit=101", nil, 400, "limit"},
		{"limit not a number", "GET", "/api/v1/dive-sites?limit=ten", nil, 400, "limit"},
		{"limit overflow", "GET", "/api/v1/dive-sites?limit=99999999999999999999", nil, 400, "limit"},
		{"negative offset", "GET", "/api/v1/dive-sites?offset=-1", nil, 400, "offset"},
		{"offset too large", "GET", "/api/v1/dive-sites?offset=100001", nil, 400, "offset"},
		{"unknown difficulty", "GET", "/api/v1/dive-sites?difficulty=extreme", nil, 400, "difficulty"},
		{"unknown certification", "GET", "/api/v1/dive-sites?certification=padi", nil, 400, "certification"},
		{"depth zero", "GET", "/api/v1/dive-sites?maxDepth=0", nil, 400, "maxDepth"},
		{"depth too deep", "GET", "/api/v1/dive-sites?maxDepth=1000", nil, 400, "maxDepth"},
		{"depth not a number", "GET", "/api/v1/dive-sites?maxDepth=deep", nil, 400, "maxDepth"},
		{"unknown filter", "GET", "/api/v1/dive-sites?color=blue", nil, 400, "color"},
		{"filter given twice", "GET", "/api/v1/dive-sites?limit=1&limit=2", nil, 400, "limit"},
		{"empty filter", "GET", "/api/v1/dive-sites?region=", nil, 400, "region"},
		{"nul byte", "GET", "/api/v1/dive-sites?q=a%00b", nil, 400, "q"},
		{"invalid utf-8", "GET", "/api/v1/dive-sites?q=%ff%fe", nil, 400, "q"},
		{"name match too long", "GET", "/api/v1/dive-sites?q=" + strings.Repeat("a", 101), nil, 400, "q"},
		{"region too long", "GET", "/api/v1/dive-sites?region=" + strings.Repeat("r", 101), nil, 400, "region"},
		{"malformed query string", "GET", "/api/v1/dive-sites?q=%zz", nil, 400, ""},
		{"malformed site id filter", "GET", "/api/v1/dive-operators?siteId=123", nil, 400, "siteId"},
		{"nil site id filter", "GET", "/api/v1/dive-operators?siteId=00000000-0000-0000-0000-000000000000", nil, 400, "siteId"},
		{"trailing slash", "GET", "/api/v1/dive-sites/" + models.SiteID("tioman-chebeh").String() + "/", nil, 404, ""},
		{"trailing slash on a list", "GET", "/api/v1/dive-sites/", nil, 404, ""},
		{"operators limit", "GET", "/api/v1/dive-operators?limit=1000", nil, 400, "limit"},
		{"oversized body", "POST", "/api/v1/dive-sites", bytes.NewReader(make([]byte, 2<<20)), 413, "body"},
		{"wrong method", "DELETE", "/api/v1/dive-sites", nil, 405, ""},
		{"unknown route", "GET", "/api/v1/sharks", nil, 404, ""},
		{"parameter on a probe", "GET", "/livez?verbose=1", nil, 400, "verbose"},
		{"parameter on readiness", "GET", "/readyz?verbose=1", nil, 400, "verbose"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, tc.body)
			require.NoError(t, err)
			r := do(t, req)
			assert.Equal(t, tc.status, r.status, r.raw)
			e := errorOf(t, r)
			assert.NotEmpty(t, e["code"])
			assert.NotEmpty(t, e["message"])
			if tc.field != "" {
				assert.Equal(t, tc.field, e["field"])
				assert.Contains(t, e["message"], tc.field)
			}
			for _, leak := range []string{"SELECT", "FROM dive", "pgx", "SQLSTATE", "goroutine", ".go:"} {
				assert.NotContains(t, r.raw, leak)
			}
		})
	}

	after, err := db.ListDiveSites(context.Background(), models.SiteFilter{Limit: 1})
	require.NoError(t, err)
	assert.Equal(t, before.Total, after.Total, "nothing stored was lost")
}

func TestHealth_HealthyReportsTheTypeScriptShape(t *testing.T) {
	t.Parallel()
	srv := newServer(t, seededDB(t))
	r := get(t, srv.URL+"/health")
	require.Equal(t, http.StatusOK, r.status, r.raw)
	db := r.body["database"].(map[string]any)
	assert.Equal(t, "healthy", db["status"])
	assert.Equal(t, dbtest.Provider(), db["provider"])
	assert.Equal(t, true, db["connected"])
	assert.Equal(t, true, db["vectorExtension"])
	assert.IsType(t, float64(0), db["latency"])
	ts, err := time.Parse(time.RFC3339, r.body["timestamp"].(string))
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), ts, time.Minute)
}

func TestHealth_UnhealthyAnswers503WithoutDriverText(t *testing.T) {
	t.Parallel()
	srv := newServer(t, unconnectedDB(t))
	r := get(t, srv.URL+"/health")
	require.Equal(t, http.StatusServiceUnavailable, r.status, r.raw)
	db := r.body["database"].(map[string]any)
	assert.Equal(t, "unhealthy", db["status"])
	assert.Equal(t, false, db["connected"])
	assert.Equal(t, false, db["vectorExtension"])
	assert.NotContains(t, db, "latency")
	assert.NotContains(t, r.raw, "unavailable")
}

func TestProbes_LivezNeverTouchesTheDatabaseReadyzDoes(t *testing.T) {
	t.Parallel()
	down := newServer(t, unconnectedDB(t))
	assert.Equal(t, http.StatusOK, get(t, down.URL+"/livez").status)
	r := get(t, down.URL+"/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, r.status)
	assert.Equal(t, "database unavailable", r.body["reason"])

	up := newServer(t, seededDB(t))
	assert.Equal(t, http.StatusOK, get(t, up.URL+"/readyz").status)
}

func TestReadyz_IsNotReadyWhileMigrationsArePending(t *testing.T) {
	t.Parallel()
	db, err := database.Open(context.Background(), dbtest.Config(dbtest.WithVector(t)), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer db.Close()
	srv := newServer(t, db)
	r := get(t, srv.URL+"/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, r.status)
	assert.Equal(t, "migrations pending", r.body["reason"])
}

func TestAPI_BeforeTheDatabaseConnectsAnswers503(t *testing.T) {
	t.Parallel()
	srv := newServer(t, unconnectedDB(t))
	for _, path := range []string{"/api/v1/dive-sites", "/api/v1/dive-sites/" + uuid.NewString(), "/api/v1/dive-operators"} {
		r := get(t, srv.URL+path)
		assert.Equal(t, http.StatusServiceUnavailable, r.status, path)
		assert.Equal(t, "database_unavailable", errorOf(t, r)["code"])
		assert.NotEmpty(t, r.header.Get("Retry-After"))
	}
}

func TestPool_NeverOpensMoreThanItsMaximumUnder100ConcurrentRequests(t *testing.T) {
	t.Parallel()
	dsn := dbtest.Migrated(t)
	db, err := database.Open(context.Background(), dbtest.Config(dsn), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer db.Close()
	_, err = seeds.Load(context.Background(), db, embedding.Hash{})
	require.NoError(t, err)
	// A generous deadline: under -race and a parallel suite, waiting for one
	// of the 20 connections can take seconds, and this test is about the bound.
	srv := newServer(t, db, func(c *serverConfig) { c.RequestTimeout = time.Minute })

	// Watch the server's view from a separate connection as the superuser.
	var dbName string
	require.NoError(t, db.SQL().QueryRow(`SELECT current_database()`).Scan(&dbName))
	watcher, err := database.Open(context.Background(), dbtest.Config(dbtest.AsSuperuser(t, dsn)), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer watcher.Close()
	// The server's count can exceed the pool's for a moment: a connection the
	// pool has closed keeps its backend in pg_stat_activity until that process
	// exits, which on a busy machine takes a while. So the bound on the
	// server is the pool's maximum plus the connections the pool has let go
	// of so far; the pool's own count is bounded by the maximum alone. Any
	// excess is logged row by row, so a failure says what the extra was.
	var peak, poolPeak atomic.Int64
	var excess []string
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			st := db.Stats()
			poolPeak.Store(max(poolPeak.Load(), int64(st.OpenConnections)))
			closed := st.MaxIdleClosed + st.MaxIdleTimeClosed + st.MaxLifetimeClosed
			var n int64
			if err := watcher.SQL().QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND usename <> current_user`, dbName).Scan(&n); err != nil {
				continue
			}
			peak.Store(max(peak.Load(), n))
			if n > 20+closed && len(excess) == 0 {
				excess = append(excess, fmt.Sprintf("%d server connections, %d closed by the pool so far, pool %+v", n, closed, st))
				rows, err := watcher.SQL().Query(`SELECT pid, backend_type, coalesce(state, ''), backend_start::text,
					coalesce(left(query, 60), '') FROM pg_stat_activity WHERE datname = $1 AND usename <> current_user ORDER BY backend_start`, dbName)
				if err != nil {
					continue
				}
				for rows.Next() {
					var pid, typ, state, start, query string
					if rows.Scan(&pid, &typ, &state, &start, &query) == nil {
						excess = append(excess, strings.Join([]string{pid, typ, state, start, query}, " | "))
					}
				}
				rows.Close()
			}
		}
	}()

	var wg sync.WaitGroup
	var failures atomic.Int64
	client := contracttest.Client(t, time.Minute)
	for range 100 {
		wg.Go(func() {
			for range 5 {
				res, err := client.Get(srv.URL + "/api/v1/dive-sites?limit=50")
				if err != nil || res.StatusCode != http.StatusOK {
					if failures.Add(1) == 1 { // say what the first failure was
						if err != nil {
							t.Logf("first failure: %v", err)
						} else {
							t.Logf("first failure: status %d", res.StatusCode)
						}
					}
				}
				if res != nil {
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	<-watched

	assert.Zero(t, failures.Load(), "every request succeeded")
	assert.LessOrEqual(t, poolPeak.Load(), int64(20), "connections the pool held open")
	assert.Empty(t, excess, "server connections beyond the pool's 20 and those it had closed")
	assert.Greater(t, peak.Load(), int64(1), "the load really ran concurrently")
	t.Logf("peak server connections: %d; pool waits: %d", peak.Load(), db.Stats().WaitCount)
}

func TestClientIP_IgnoresForwardedForFromUntrustedPeers(t *testing.T) {
	t.Parallel()
	srv := newServer(t, unconnectedDB(t))
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/health", nil)
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	do(t, req)
	assert.Contains(t, srv.logs.String(), "client_ip=127.0.0.1")
	assert.NotContains(t, srv.logs.String(), "203.0.113.9")
}

func TestRequestID_IsEchoedAndLogged(t *testing.T) {
	t.Parallel()
	srv := newServer(t, unconnectedDB(t))
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/health", nil)
	req.Header.Set("X-Request-ID", "trip-42")
	r := do(t, req)
	assert.Equal(t, "trip-42", r.header.Get("X-Request-ID"))
	assert.Contains(t, srv.logs.String(), "request_id=trip-42")

	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/health", nil)
	req.Header.Set("X-Request-ID", "bad id\twith spaces")
	r = do(t, req)
	assert.NoError(t, uuid.Validate(r.header.Get("X-Request-ID")), "an unsafe id is replaced")
}

func TestCORS_AllowsTheConfiguredFrontend(t *testing.T) {
	t.Parallel()
	srv := newServer(t, unconnectedDB(t))
	req, _ := http.NewRequest(http.MethodOptions, srv.URL+"/api/v1/dive-sites", nil)
	req.Header.Set("Origin", "http://localhost:5173")
	req.Header.Set("Access-Control-Request-Method", "GET")
	r := do(t, req)
	assert.Equal(t, "http://localhost:5173", r.header.Get("Access-Control-Allow-Origin"))

	req.Header.Set("Origin", "https://evil.example")
	r = do(t, req)
	assert.Empty(t, r.header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, http.StatusForbidden, r.status)
	assert.Equal(t, "origin_not_allowed", errorOf(t, r)["code"], "a rejection in the error shape, not an empty 403")
	assert.Equal(t, "Origin", errorOf(t, r)["field"])
	assert.NotEmpty(t, r.header.Get("X-Request-ID"))

	get, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/dive-sites", nil)
	get.Header.Set("Origin", "https://evil.example")
	r = do(t, get)
	assert.Equal(t, http.StatusForbidden, r.status)
	assert.Contains(t, srv.logs.String(), "status=403", "the rejection is logged")
}

func TestSecurityHeaders_AreSet(t *testing.T) {
	t.Parallel()
	srv := newServer(t, unconnectedDB(t))
	r := get(t, srv.URL+"/livez")
	assert.Equal(t, "nosniff", r.header.Get("X-Content-Type-Options"))
	assert.Equal(t, "DENY", r.header.Get("X-Frame-Options"))
}

// fakeStore stands in for the database only where a real one cannot be made
// to misbehave on demand: panics, unexpected driver errors, a hung query.
type fakeStore struct {
	testStore
	list func(ctx context.Context) error
}

func (f fakeStore) ListDiveSites(ctx context.Context, _ models.SiteFilter) (models.SitePage, error) {
	return models.SitePage{}, f.list(ctx)
}

func (f fakeStore) GetDiveSite(context.Context, uuid.UUID) (models.DiveSite, error) {
	panic("boom: secret internal state")
}

func TestRecovery_APanicBecomesAJSON500WithoutTheStack(t *testing.T) {
	t.Parallel()
	srv := newServer(t, fakeStore{testStore: unconnectedDB(t)})
	r := get(t, srv.URL+"/api/v1/dive-sites/"+uuid.NewString())
	assert.Equal(t, http.StatusInternalServerError, r.status)
	assert.Equal(t, "internal", errorOf(t, r)["code"])
	assert.NotContains(t, r.raw, "boom")
	assert.Contains(t, srv.logs.String(), "boom", "the panic goes to the log")
}

func TestUnexpectedDriverError_IsA500WithoutItsText(t *testing.T) {
	t.Parallel()
	store := fakeStore{testStore: unconnectedDB(t), list: func(context.Context) error {
		return errors.New(`ERROR: relation "dive_sitez" does not exist (SQLSTATE 42P01): SELECT * FROM dive_sitez`)
	}}
	srv := newServer(t, store)
	r := get(t, srv.URL+"/api/v1/dive-sites")
	assert.Equal(t, http.StatusInternalServerError, r.status)
	assert.NotContains(t, r.raw, "dive_sitez")
	assert.Contains(t, srv.logs.String(), "dive_sitez")
}

func TestRequestDeadline_AnyFailureAfterItIsA503(t *testing.T) {
	t.Parallel()
	// The race in GORM's implicit transaction: the INSERT succeeds, the
	// deadline passes, database/sql rolls back, and COMMIT reports ErrTxDone.
	store := fakeStore{testStore: unconnectedDB(t), list: func(ctx context.Context) error {
		<-ctx.Done()
		return errors.New("sql: transaction has already been committed or rolled back")
	}}
	srv := newServer(t, store)
	r := get(t, srv.URL+"/api/v1/dive-sites")
	assert.Equal(t, http.StatusServiceUnavailable, r.status)
	assert.Equal(t, "database_unavailable", errorOf(t, r)["code"])
}

func TestRequestDeadline_EndsAHungQueryWith503(t *testing.T) {
	t.Parallel()
	store := fakeStore{testStore: unconnectedDB(t), list: func(ctx context.Context) error {
		<-ctx.Done() // a query that never answers, as a stopped server would
		return ctx.Err()
	}}
	srv := newServer(t, store)
	start := time.Now()
	r := get(t, srv.URL+"/api/v1/dive-sites")
	assert.Equal(t, http.StatusServiceUnavailable, r.status)
	assert.Less(t, time.Since(start), 5*time.Second, "ended by the 2 s request deadline")
}

// A browser on the allowed origin may send every method and request header
// the served document uses: each operation's preflight is allowed.
func TestCORS_PreflightAllowsEveryMethodAndHeaderTheDocumentUses(t *testing.T) {
	t.Parallel()
	srv := newServer(t, unconnectedDB(t))
	doc := get(t, srv.URL+"/api/v1/openapi.json")
	require.Equal(t, http.StatusOK, doc.status)
	checked := 0
	for path, item := range doc.body["paths"].(map[string]any) {
		for method, raw := range item.(map[string]any) {
			op, ok := raw.(map[string]any)
			if !ok {
				continue
			}
			headers := []string{"Content-Type", "Accept"}
			params, _ := op["parameters"].([]any)
			for _, p := range params {
				if p := p.(map[string]any); p["in"] == "header" {
					headers = append(headers, p["name"].(string))
				}
			}
			url := srv.URL + strings.NewReplacer("{id}", uuid.NewString(), "{messageId}", uuid.NewString()).Replace(path)
			req, _ := http.NewRequest(http.MethodOptions, url, nil)
			req.Header.Set("Origin", "http://localhost:5173")
			req.Header.Set("Access-Control-Request-Method", strings.ToUpper(method))
			req.Header.Set("Access-Control-Request-Headers", strings.ToLower(strings.Join(headers, ",")))
			r := do(t, req)
			assert.Equal(t, "http://localhost:5173", r.header.Get("Access-Control-Allow-Origin"), "%s %s %v", method, path, headers)
			allowed := strings.ToLower(r.header.Get("Access-Control-Allow-Headers"))
			for _, h := range headers {
				assert.Contains(t, allowed, strings.ToLower(h), "%s %s: header %s", method, path, h)
			}
			assert.Contains(t, r.header.Get("Access-Control-Allow-Methods"), strings.ToUpper(method), "%s %s", method, path)
			checked++
		}
	}
	assert.Greater(t, checked, 10, "every operation was preflighted")
}

func TestNewRouter_WithoutCORSOriginsStillServes(t *testing.T) {
	t.Parallel()
	router, err := testRouter(serverConfig{RouterConfig: handlers.RouterConfig{Log: slog.New(slog.DiscardHandler),
		RequestTimeout: time.Second, MaxBodyBytes: 1024}, Embedder: embedding.Hash{}}, unconnectedDB(t))
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	router.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/livez", nil))
	assert.Equal(t, http.StatusOK, rec.Code)
}

func TestNewRouter_RejectsAMalformedTrustedProxy(t *testing.T) {
	_, err := testRouter(serverConfig{RouterConfig: handlers.RouterConfig{Log: slog.New(slog.DiscardHandler),
		RequestTimeout: time.Second, MaxBodyBytes: 1024, TrustedProxies: []string{"not-an-ip"}}, Embedder: embedding.Hash{}}, unconnectedDB(t))
	assert.Error(t, err)
}

func post(t *testing.T, url, contentType, body string, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(t, req)
}

func TestSessions_CreateThenReadWithTheToken(t *testing.T) {
	t.Parallel()
	srv := newServer(t, seededDB(t))
	r := post(t, srv.URL+"/api/v1/sessions", "application/json", `{"language":"zh"}`)
	require.Equal(t, http.StatusCreated, r.status, r.raw)
	created := r.body["data"].(map[string]any)
	assert.Equal(t, "zh", created["language"])
	token := created["token"].(string)
	require.NotEmpty(t, token)
	expires, err := time.Parse(time.RFC3339Nano, created["expiresAt"].(string))
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(time.Hour), expires, time.Minute)

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/sessions/current", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	cur := do(t, req)
	require.Equal(t, http.StatusOK, cur.status, cur.raw)
	assert.Equal(t, created["id"], cur.body["data"].(map[string]any)["id"])
	assert.NotContains(t, cur.body["data"], "token", "the token is handed out once")

	empty := post(t, srv.URL+"/api/v1/sessions", "", "")
	require.Equal(t, http.StatusCreated, empty.status, empty.raw)
	assert.Equal(t, "en", empty.body["data"].(map[string]any)["language"], "English by default")
}

func TestSessions_BadInputNamesTheFieldAndStoresNothing(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	srv := newServer(t, db)
	count := func() int {
		var n int
		require.NoError(t, db.SQL().QueryRow(`SELECT count(*) FROM guest_sessions`).Scan(&n))
		return n
	}
	before := count()
	cases := []struct {
		name, contentType, body string
		status                  int
		field                   string
	}{
		{"unknown language", "application/json", `{"language":"fr"}`, 400, "language"},
		{"wrong type", "application/json", `{"language":5}`, 400, "language"},
		{"unknown field", "application/json", `{"lang":"en"}`, 400, "lang"},
		{"not json", "application/json", `language=en`, 400, "body"},
		{"truncated json", "application/json", `{"language":`, 400, "body"},
		{"two objects", "application/json", `{"language":"en"}{"language":"zh"}`, 400, "body"},
		{"array", "application/json", `["en"]`, 400, "body"},
		{"wrong content type", "text/plain", `{"language":"en"}`, 415, "Content-Type"},
		{"key in the wrong case", "application/json", `{"LANGUAGE":"zh"}`, 400, "LANGUAGE"},
		{"duplicate key", "application/json", `{"language":"en","language":"zh"}`, 400, "language"},
		{"NUL in a value", "application/json", `{"language":"e\u0000n"}`, 400, "language"},
		{"invalid UTF-8", "application/json", "{\"language\":\"\xff\"}", 400, "body"},
		{"oversized", "application/json", `{"language":"` + strings.Repeat("x", 2<<20) + `"}`, 413, "body"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, srv.URL+"/api/v1/sessions", tc.contentType, tc.body)
			assert.Equal(t, tc.status, r.status, r.raw)
			assert.Equal(t, tc.field, errorOf(t, r)["field"])
		})
	}
	assert.Equal(t, before, count(), "no session stored by a bad request")
}

func TestSessions_CurrentRefusesMissingOrForgedTokens(t *testing.T) {
	t.Parallel()
	srv := newServer(t, seededDB(t))
	created := post(t, srv.URL+"/api/v1/sessions", "application/json", `{}`)
	token := created.body["data"].(map[string]any)["token"].(string)
	id, _, _ := strings.Cut(token, ".")
	for name, auth := range map[string]string{
		"missing":                      "",
		"not bearer":                   "Basic " + token,
		"no signature":                 "Bearer " + id,
		"forged":                       "Bearer " + id + ".AAAA",
		"other id":                     "Bearer " + uuid.NewString() + "." + strings.SplitN(token, ".", 2)[1],
		"unknown but signed elsewhere": "Bearer " + uuid.NewString() + ".c2lnbmVk",
	} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/sessions/current", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		r := do(t, req)
		assert.Equal(t, http.StatusUnauthorized, r.status, name)
		assert.Equal(t, "Authorization", errorOf(t, r)["field"], name)
	}
}

type startingStore struct{ testStore }

func (startingStore) Ready(context.Context) error { return handlers.ErrStarting }

func TestReadyz_IsNotReadyWhileStartupIsUnfinished(t *testing.T) {
	t.Parallel()
	srv := newServer(t, startingStore{testStore: seededDB(t)})
	r := get(t, srv.URL+"/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, r.status)
	assert.Equal(t, "starting", r.body["reason"])
}

func TestTrailingSlash_IsAJSON404WithHeadersAndALogLine(t *testing.T) {
	t.Parallel()
	srv := newServer(t, unconnectedDB(t))
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/dive-sites/"+uuid.NewString()+"/", nil)
	req.Header.Set("X-Request-ID", "slash-1")
	client := contracttest.Client(t, 5*time.Second)
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := client.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "no HTML 301")
	assert.Contains(t, res.Header.Get("Content-Type"), "application/json")
	assert.Contains(t, string(body), `"code":"not_found"`)
	assert.Equal(t, "slash-1", res.Header.Get("X-Request-ID"))
	assert.Equal(t, "DENY", res.Header.Get("X-Frame-Options"))
	assert.Contains(t, srv.logs.String(), "request_id=slash-1")
	assert.Contains(t, srv.logs.String(), "status=404")
}

func TestSessions_ResponsesCarryingASessionAreNotCached(t *testing.T) {
	t.Parallel()
	srv := newServer(t, seededDB(t))
	created := post(t, srv.URL+"/api/v1/sessions", "application/json", `{"language":"zh"}`)
	require.Equal(t, http.StatusCreated, created.status, created.raw)
	assert.Equal(t, "no-store", created.header.Get("Cache-Control"))
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/sessions/current", nil)
	req.Header.Set("Authorization", "Bearer "+created.body["data"].(map[string]any)["token"].(string))
	cur := do(t, req)
	require.Equal(t, http.StatusOK, cur.status, cur.raw)
	assert.Equal(t, "no-store", cur.header.Get("Cache-Control"))
}
