package handlers_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/database"
	"github.com/dovvydive/backend/handlers"
	"github.com/dovvydive/backend/models"
)

func withMetrics(t *testing.T) func(*serverConfig) {
	reg := prometheus.NewRegistry()
	m, err := handlers.NewHTTPMetrics(reg)
	require.NoError(t, err)
	return func(c *serverConfig) {
		c.Metrics = m
		c.MetricsHandler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	}
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url + "/metrics")
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return string(body)
}

func TestMetrics_CountRequestsByRouteTemplateNeverByRawPath(t *testing.T) {
	t.Parallel()
	adjust := withMetrics(t)
	srv := newServer(t, seededDB(t), adjust)
	id := models.SiteID("sipadan-barracuda-point").String()
	require.Equal(t, http.StatusOK, get(t, srv.URL+"/api/v1/dive-sites/"+id).status)
	require.Equal(t, http.StatusNotFound, get(t, srv.URL+"/api/v1/no/such/"+id).status)

	text := scrape(t, srv.URL)
	assert.Contains(t, text, `dovvydive_http_requests_total{method="GET",route="/api/v1/dive-sites/:id",status="200"} 1`)
	assert.Contains(t, text, `dovvydive_http_requests_total{method="GET",route="unmatched",status="404"} 1`)
	assert.Contains(t, text, `dovvydive_http_request_duration_seconds_bucket{method="GET",route="/api/v1/dive-sites/:id"`)
	assert.Contains(t, text, "dovvydive_http_requests_in_flight")
	assert.NotContains(t, text, id, "no ids (user data) in labels")
}

func TestMetricsAndLivez_AreNotLoggedButOtherRequestsAre(t *testing.T) {
	t.Parallel()
	adjust := withMetrics(t)
	srv := newServer(t, unconnectedDB(t), adjust)
	scrape(t, srv.URL)
	get(t, srv.URL+"/livez")
	assert.NotContains(t, srv.logs.String(), "path=/metrics")
	assert.NotContains(t, srv.logs.String(), "path=/livez")
	get(t, srv.URL+"/health")
	assert.Contains(t, srv.logs.String(), "path=/health", "the control: other requests are logged")
}

func TestDiveSites_ETagRevalidatesTo304WithoutABody(t *testing.T) {
	t.Parallel()
	srv := newServer(t, seededDB(t))
	for _, path := range []string{
		"/api/v1/dive-sites/" + models.SiteID("sipadan-barracuda-point").String(),
		"/api/v1/dive-sites?region=Semporna",
		"/api/v1/dive-operators",
	} {
		first := get(t, srv.URL+path)
		require.Equal(t, http.StatusOK, first.status, path)
		tag := first.header.Get("ETag")
		require.Regexp(t, `^W/"[A-Za-z0-9_-]+"$`, tag, path)
		assert.Equal(t, "public, max-age=60", first.header.Get("Cache-Control"), path)

		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("If-None-Match", `"something-else", `+tag)
		again := do(t, req)
		assert.Equal(t, http.StatusNotModified, again.status, path)
		assert.Empty(t, again.raw, path)
		assert.Equal(t, tag, again.header.Get("ETag"), path)

		req, _ = http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("If-None-Match", `W/"stale"`)
		stale := do(t, req)
		assert.Equal(t, http.StatusOK, stale.status, path)
		assert.Equal(t, first.raw, stale.raw, path)
	}
	// Errors carry no ETag: a 404 must not be cached as the resource.
	missing := get(t, srv.URL+"/api/v1/dive-sites/"+models.SiteID("no-such-site").String())
	assert.Equal(t, http.StatusNotFound, missing.status)
	assert.Empty(t, missing.header.Get("ETag"))
}

type busySearchStore struct{ testStore }

func (busySearchStore) Search(context.Context, []float32, int, int, models.SearchFilter) ([]models.SearchHit, error) {
	return nil, errors.Join(database.ErrBusy, context.DeadlineExceeded)
}

func TestSearch_NoSlotWithinTheDeadlineIs503WithRetryAfter(t *testing.T) {
	t.Parallel()
	srv := newServer(t, busySearchStore{testStore: unconnectedDB(t)})
	r := post(t, srv.URL+"/api/v1/search", "application/json", `{"query":"turtles"}`)
	assert.Equal(t, http.StatusServiceUnavailable, r.status, r.raw)
	assert.NotEmpty(t, r.header.Get("Retry-After"))
}
