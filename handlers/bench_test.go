package handlers_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/dovvydive/backend/database"
	"github.com/dovvydive/backend/database/dbtest"
	"github.com/dovvydive/backend/handlers"
	"github.com/dovvydive/backend/knowledge/embedding"
	"github.com/dovvydive/backend/models"
	"github.com/dovvydive/backend/seeds"
)

// Load benchmarks: each iteration is one closed-loop attack of BENCH_WORKERS
// concurrent clients (default 50) for BENCH_DURATION (default 10s) against a
// real server on loopback over a seeded database. Run with `make bench`;
// the figures are reported as custom metrics (req/s, p50-ms, p99-ms).

func benchEnv(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func benchEnvString(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func benchServer(b *testing.B) *httptest.Server {
	b.Helper()
	gin.SetMode(gin.ReleaseMode)
	db, err := database.Open(context.Background(), dbtest.Config(dbtest.Migrated(b)), slog.New(slog.DiscardHandler))
	require.NoError(b, err)
	b.Cleanup(func() { db.Close() })
	_, err = seeds.Load(context.Background(), db, embedding.Hash{})
	require.NoError(b, err)
	// Request logs are formatted as in production, then discarded.
	router, err := testRouter(serverConfig{RouterConfig: handlers.RouterConfig{
		Log:            slog.New(slog.NewJSONHandler(discard{}, nil)),
		RequestTimeout: 10 * time.Second,
		MaxBodyBytes:   1 << 20,
		CORSOrigins:    []string{"http://localhost:5173"},
	}, Embedder: embedding.Hash{}}, db)
	require.NoError(b, err)
	srv := httptest.NewServer(router)
	b.Cleanup(srv.Close)
	return srv
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func attack(b *testing.B, url string) {
	b.Helper()
	workers := uint64(benchEnv("BENCH_WORKERS", 50))
	duration := time.Duration(benchEnv("BENCH_SECONDS", 10)) * time.Second
	target := vegeta.Target{Method: http.MethodGet, URL: url}
	var m vegeta.Metrics
	for b.Loop() {
		m = vegeta.Metrics{}
		attacker := vegeta.NewAttacker(vegeta.Workers(workers), vegeta.MaxWorkers(workers), vegeta.KeepAlive(true),
			vegeta.Connections(int(workers)), vegeta.Timeout(10*time.Second))
		for res := range attacker.Attack(vegeta.NewStaticTargeter(target), vegeta.Rate{Freq: 0}, duration, "bench") {
			m.Add(res)
		}
		m.Close()
	}
	b.ReportMetric(m.Throughput, "req/s")
	b.ReportMetric(float64(m.Latencies.P50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(m.Latencies.P99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(m.Success*100, "success-%")
	b.Logf("%d requests, %d workers, %s: status codes %v, errors %v", m.Requests, workers, duration, m.StatusCodes, m.Errors)
}

func BenchmarkHealth(b *testing.B) {
	srv := benchServer(b)
	attack(b, srv.URL+"/health")
}

func BenchmarkGetDiveSite(b *testing.B) {
	srv := benchServer(b)
	attack(b, srv.URL+"/api/v1/dive-sites/"+models.SiteID("sipadan-barracuda-point").String())
}
