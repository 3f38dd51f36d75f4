package app

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCompress_GzipsLargeResponsesOnlyAndNeverEventStreams(t *testing.T) {
	big := strings.Repeat(`{"nameEn":"Barracuda Point"}`, 100)
	h, err := compress(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(big))
		case "/small":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"ok":true}`))
		case "/events":
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = w.Write([]byte("event: delta\ndata: " + big + "\n\n"))
		}
	}))
	require.NoError(t, err)
	for path, want := range map[string]string{"/big": "gzip", "/small": "", "/events": ""} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, want, rec.Header().Get("Content-Encoding"), path)
	}
	// A client that does not accept gzip gets plain bytes.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/big", nil))
	assert.Empty(t, rec.Header().Get("Content-Encoding"))
	assert.Equal(t, big, rec.Body.String())
}

func TestConfig_PprofNeedsItsOwnPort(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Session.Secret = strings.Repeat("x", 40)
	cfg.Telemetry.Pprof = true
	err := cfg.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "PPROF_ENABLED")
	cfg.Telemetry.MetricsPort = 9464
	assert.NoError(t, cfg.Validate())
}
