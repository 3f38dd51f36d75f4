package handlers_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/database"
	"github.com/dovvydive/backend/database/dbtest"
	"github.com/dovvydive/backend/handlers"
	"github.com/dovvydive/backend/knowledge/embedding"
)

// heldDB is a migrated database behind a proxy that, once the returned
// function is called, holds every new connection: a query then blocks in
// the database until its context ends. The pool keeps no idle connection,
// so every query needs a new one.
func heldDB(t *testing.T) (*database.DB, func() (held int)) {
	t.Helper()
	u, err := url.Parse(dbtest.Migrated(t))
	require.NoError(t, err)
	proxy := dbtest.StartProxy(t, "127.0.0.1:0", u.Host)
	u.Host = proxy.Addr
	cfg := dbtest.Config(u.String())
	cfg.Pool.MaxIdleConns = 0
	db, err := database.Open(context.Background(), cfg, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	proxy.Hold(time.Hour)
	return db, proxy.Held
}

// waitUntil polls cond every 20 ms for at most limit.
func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A client that hangs up while its query waits is nobody's outage: it must
// not be counted or logged as the 503 "database unavailable" that pages an
// operator (nginx's 499, client closed request).
func TestClientGone_MidQueryIsCountedAs499AndLoggedAtInfoNeverAs503(t *testing.T) {
	t.Parallel()
	db, held := heldDB(t)
	// A request timeout far beyond the test: the only thing that can end
	// the request is the client going away, never the server's deadline.
	srv := newServer(t, db, withMetrics(t), func(c *serverConfig) { c.RequestTimeout = time.Hour })

	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/v1/dive-sites", nil)
	require.NoError(t, err)
	client := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(client.CloseIdleConnections)
	done := make(chan error, 1)
	go func() {
		res, err := client.Do(req)
		if err == nil {
			res.Body.Close()
		}
		done <- err
	}()
	waitUntil(t, 10*time.Second, "the request waits in the database", func() bool { return held() > 0 })
	cancel()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled, "the client got no answer: it left")
	case <-time.After(10 * time.Second):
		t.Fatal("the client did not return 10 s after its context was cancelled")
	}

	// The request's line is written last, after it is counted: once it is
	// there, the server is done with the request.
	var line string
	waitUntil(t, 10*time.Second, "the server finishes the request", func() bool {
		for l := range strings.SplitSeq(srv.logs.String(), "\n") {
			if strings.Contains(l, "msg=request") && strings.Contains(l, "path=/api/v1/dive-sites") {
				line = l
			}
		}
		return line != ""
	})
	assert.Contains(t, line, "level=INFO", "the request's line is neither a warning nor an error")
	assert.Contains(t, line, "status=499")
	logs := srv.logs.String()
	assert.NotContains(t, logs, "level=ERROR")
	assert.NotContains(t, logs, "database unavailable")

	metrics := scrape(t, srv.URL)
	assert.Contains(t, metrics, `dovvydive_http_requests_total{method="GET",route="/api/v1/dive-sites",status="499"} 1`)
	assert.NotContains(t, metrics, `status="503"`)
}

// The client is gone, so the API writes it nothing: no error body, which
// only a 503 or 500 would have had.
func TestClientGone_MidQueryIsWrittenNoBody(t *testing.T) {
	t.Parallel()
	db, held := heldDB(t)
	router, err := testRouter(serverConfig{RouterConfig: handlers.RouterConfig{Log: slog.New(slog.DiscardHandler),
		RequestTimeout: time.Hour, MaxBodyBytes: 1 << 20}, Embedder: embedding.Hash{}}, db)
	require.NoError(t, err)

	// net/http cancels a request's context when its connection closes: the
	// same cancellation, without a connection to close.
	ctx, cancel := context.WithCancel(context.Background())
	rec := httptest.NewRecorder()
	served := make(chan struct{})
	go func() {
		defer close(served)
		router.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodGet, "/api/v1/dive-sites", nil))
	}()
	waitUntil(t, 10*time.Second, "the request waits in the database", func() bool { return held() > 0 })
	cancel()
	select {
	case <-served:
	case <-time.After(10 * time.Second):
		t.Fatal("the handler did not return 10 s after its client left")
	}
	assert.Equal(t, 499, rec.Code)
	assert.Empty(t, rec.Body.String())
}

// The control: the same wait ended by the server's own request deadline is
// the database being too slow, an operator's concern, and stays a 503.
func TestServerDeadline_MidQueryStaysA503(t *testing.T) {
	t.Parallel()
	db, _ := heldDB(t)
	srv := newServer(t, db, withMetrics(t), func(c *serverConfig) { c.RequestTimeout = 300 * time.Millisecond })
	r := get(t, srv.URL+"/api/v1/dive-sites")
	assert.Equal(t, http.StatusServiceUnavailable, r.status)
	assert.Equal(t, "database_unavailable", errorOf(t, r)["code"])
	metrics := scrape(t, srv.URL)
	assert.Contains(t, metrics, `dovvydive_http_requests_total{method="GET",route="/api/v1/dive-sites",status="503"} 1`)
	assert.NotContains(t, metrics, `status="499"`)
}
