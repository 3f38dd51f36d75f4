package app

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/database"
	"github.com/dovvydive/backend/database/dbtest"
	"github.com/dovvydive/backend/handlers"
	"github.com/dovvydive/backend/knowledge/embedding"
	"github.com/dovvydive/backend/models"
	"github.com/dovvydive/backend/planner"
)

func init() { gin.SetMode(gin.TestMode) }

// startServer serves the real router (over a database that is never
// reached) with the production http.Server settings.
func startServer(t *testing.T, timeout time.Duration) string {
	t.Helper()
	dbCfg := database.DefaultConfig()
	dbCfg.URL = "postgres://u:p@127.0.0.1:1/d?sslmode=disable"
	db, err := database.New(dbCfg, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	log := slog.New(slog.DiscardHandler)
	services, err := newServices(testServicesConfig(), db, embedding.Hash{}, extractivePlanner(t, db), nil)
	require.NoError(t, err)
	router, err := handlers.NewRouter(handlers.RouterConfig{Log: log, RequestTimeout: timeout, MaxBodyBytes: 1 << 20,
		SessionSecret: []byte("test-secret-test-secret-test-secret!")}, services)
	require.NoError(t, err)
	srv := newHTTPServer(ServerConfig{RequestTimeout: timeout}, router, log)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func TestServer_ABodySentAtAByteASecondIsCutAtTheRequestTimeout(t *testing.T) {
	t.Parallel()
	addr := startServer(t, 2*time.Second)
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	start := time.Now()
	_, err = fmt.Fprintf(conn, "POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n")
	require.NoError(t, err)
	// Trickle the body until the server stops listening.
	go func() {
		for range 100 {
			if _, err := conn.Write([]byte(" ")); err != nil {
				return
			}
			time.Sleep(time.Second)
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	took := time.Since(start)
	require.NoError(t, err, "the server answers before closing")
	body, _ := io.ReadAll(res.Body)
	assert.Equal(t, http.StatusRequestTimeout, res.StatusCode, string(body))
	assert.Contains(t, string(body), `"code":"request_timeout"`)
	assert.Less(t, took, 5*time.Second, "bounded by SERVER_REQUEST_TIMEOUT (2s), not 30s")
	t.Logf("slow body ended after %s", took.Round(100*time.Millisecond))
}

func TestServer_HeadersOver64KiBAreRefusedWith431(t *testing.T) {
	t.Parallel()
	addr := startServer(t, 2*time.Second)
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/livez", nil)
	req.Header.Set("X-Padding", strings.Repeat("a", 1<<20))
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, res.StatusCode)

	req.Header.Set("X-Padding", strings.Repeat("a", 32<<10))
	res, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode, "32 KiB of headers still pass")
}

func TestServe_ShutdownWaitsForThePrepareStage(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Server.Port = 0
	cfg.Session.Secret = "test-secret-test-secret-test-secret!"
	cfg.Database.URL = "postgres://u:p@127.0.0.1:1/d?sslmode=disable" // never answers: prepare keeps retrying
	cfg.Database.AutoMigrate = false
	cfg.Database.Retry.Attempts = 10
	logs := &dbtest.LogBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, cfg, log, log) }()
	time.Sleep(500 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err, "a signal is a clean exit")
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the signal")
	}
	out := logs.String()
	prepared := strings.Index(out, "prepare: interrupted by the shutdown")
	closed := strings.Index(out, "database: pool closed")
	require.GreaterOrEqual(t, prepared, 0, out)
	require.GreaterOrEqual(t, closed, 0, out)
	assert.Less(t, prepared, closed, "the pool closes after the prepare stage has ended")
	assert.Contains(t, out, "http: stopped")
}

func TestReadiness_FollowsTheStages(t *testing.T) {
	db, err := database.New(database.DefaultConfig(), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	r := &readiness{DB: db}
	assert.ErrorIs(t, r.Ready(context.Background()), handlers.ErrStarting)
	r.set(stageReady)
	assert.ErrorIs(t, r.Ready(context.Background()), models.ErrUnavailable, "ready stage: the database decides")
	r.set(stageStopping)
	assert.ErrorIs(t, r.Ready(context.Background()), handlers.ErrStopping)
}

// testServicesConfig is the default configuration with the one-hour
// sessions the router tests used.
func testServicesConfig() Config {
	cfg := DefaultConfig()
	cfg.Session.TTLHours = 1
	cfg.Session.Secret = "test-secret-test-secret-test-secret!" // the share links' key is derived from it
	return cfg
}

// extractivePlanner is the offline planner over db, as serve builds it
// with the default generator.
func extractivePlanner(t *testing.T, db *database.DB) *planner.Planner {
	t.Helper()
	store := planner.Store{DB: db}
	p, err := planner.New(planner.Config{Embedder: embedding.Hash{}, Retriever: store, Catalog: store, Generator: planner.Extractive{}})
	require.NoError(t, err)
	return p
}
