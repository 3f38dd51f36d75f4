package handlers_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A value outside a vocabulary is refused with the values allowed, not an
// empty reason.
func TestEnums_AValueOutsideTheVocabularyIsRefusedWithTheValuesAllowed(t *testing.T) {
	t.Parallel()
	srv := newServer(t, unconnectedDB(t))
	r := post(t, srv.URL+"/api/v1/sessions", "application/json", `{"language":"fr"}`)
	require.Equal(t, http.StatusBadRequest, r.status, r.raw)
	e := r.body["error"].(map[string]any)
	assert.Equal(t, "language", e["field"])
	assert.Contains(t, e["message"], "must be one of")
	assert.Contains(t, e["message"], "zh")
}

// The cached public reads vary on Origin even when a request has none, so
// a shared cache never hands a browser a copy without its CORS header.
func TestCacheable_PublicReadsVaryOnOriginWithOrWithoutOne(t *testing.T) {
	t.Parallel()
	srv := newServer(t, seededDB(t))
	for _, origin := range []string{"", "http://localhost:5173"} {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/dive-sites", nil)
		require.NoError(t, err)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		r := do(t, req)
		require.Equal(t, http.StatusOK, r.status, r.raw)
		assert.Contains(t, r.header.Values("Vary"), "Origin", "origin %q", origin)
		n := 0
		for _, v := range r.header.Values("Vary") {
			if v == "Origin" {
				n++
			}
		}
		assert.Equal(t, 1, n, "Origin once, origin %q", origin)
	}
}
