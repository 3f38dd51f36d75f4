package handlers_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/handlers"
	"github.com/dovvydive/backend/handlers/contracttest"
)

// Between binding the port and the router being built, the process answers
// liveness, says "starting" to everything else, and stays inside the contract.
func TestStarting_AnswersLivenessAndRefusesTheRestWithinTheContract(t *testing.T) {
	t.Parallel()
	srv := newServer(t, unconnectedDB(t))
	contract, err := contracttest.Load(srv.URL)
	require.NoError(t, err)
	starting := handlers.Starting("local")

	cases := []struct {
		method, path string
		status       int
		body         string
	}{
		{http.MethodGet, "/livez", http.StatusOK, `{"status":"ok"}`},
		{http.MethodGet, "/readyz", http.StatusServiceUnavailable, `{"status":"not_ready","reason":"starting"}`},
		{http.MethodGet, "/health", http.StatusServiceUnavailable, ""}, // unhealthy, with the time: checked by the contract
		{http.MethodGet, "/api/v1/dive-sites", http.StatusServiceUnavailable, `{"error":{"code":"starting","message":"the service is starting; retry shortly"}}`},
		{http.MethodPost, "/api/v1/search", http.StatusServiceUnavailable, `{"error":{"code":"starting","message":"the service is starting; retry shortly"}}`},
	}
	for _, tc := range cases {
		req := httptest.NewRequest(tc.method, srv.URL+tc.path, nil)
		rec := httptest.NewRecorder()
		starting.ServeHTTP(rec, req)
		assert.Equal(t, tc.status, rec.Code, tc.path)
		if tc.body != "" {
			assert.JSONEq(t, tc.body, rec.Body.String(), tc.path)
		}
		assert.NotEmpty(t, rec.Header().Get("X-Request-ID"), tc.path)
		if tc.status == http.StatusServiceUnavailable {
			assert.Equal(t, "1", rec.Header().Get("Retry-After"), tc.path)
		}
		assert.NoError(t, contract.Check(req, rec.Code, rec.Header(), rec.Body.Bytes()), tc.path)
	}
}
