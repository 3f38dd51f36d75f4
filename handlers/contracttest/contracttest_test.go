package contracttest

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFetch_WaitsForAnInstanceThatIsStillStarting(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 3 { // handlers.Starting's answer while the router builds
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(`{"openapi":"3.0.3"}`))
	}))
	defer srv.Close()

	raw, err := fetch(srv.URL+SpecPath, 30*time.Second)
	require.NoError(t, err)
	assert.JSONEq(t, `{"openapi":"3.0.3"}`, string(raw))
	assert.EqualValues(t, 4, calls.Load(), "three 503s, then the document")
}

func TestFetch_SaysWhatItWaitedForWhenNoInstanceStarts(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()

	_, err := fetch(srv.URL+SpecPath, 300*time.Millisecond)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "waited 300ms for "+srv.URL+SpecPath)
	assert.Contains(t, err.Error(), "status 503")
}
