package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/handlers"
	"github.com/dovvydive/backend/knowledge/embedding"
)

func searchBody(t *testing.T, srv server, body string) response {
	t.Helper()
	return post(t, srv.URL+"/api/v1/search", "application/json", body)
}

func vectorJSON(v []float32) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprint(x)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func TestSearch_AQueryAboutHammerheadsFindsHammerheadSitesFirst(t *testing.T) {
	t.Parallel()
	srv := newServer(t, seededDB(t))
	r := searchBody(t, srv, `{"query": "hammerhead sharks"}`)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	data := r.body["data"].([]any)
	require.Len(t, data, handlers.DefaultK)
	first := data[0].(map[string]any)
	assert.Contains(t, strings.ToLower(first["chunk"].(map[string]any)["text"].(string)), "hammerhead")
	site := first["site"].(map[string]any)
	for _, key := range []string{"id", "slug", "nameEn", "nameZh", "region", "difficulty"} {
		assert.NotEmpty(t, site[key], key)
	}
	prev := 2.0
	for _, d := range data {
		score := d.(map[string]any)["score"].(float64)
		assert.LessOrEqual(t, score, prev, "best first")
		prev = score
	}
	assert.Equal(t, embedding.HashModel, r.body["model"])
}

func TestSearch_FiltersAndKApply(t *testing.T) {
	t.Parallel()
	srv := newServer(t, seededDB(t))
	r := searchBody(t, srv, `{"query": "turtles and reef fish", "k": 3, "filters": {"region": "tioman", "difficulty": "beginner"}}`)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	data := r.body["data"].([]any)
	require.NotEmpty(t, data)
	assert.LessOrEqual(t, len(data), 3)
	for _, d := range data {
		site := d.(map[string]any)["site"].(map[string]any)
		assert.Equal(t, "Tioman", site["region"])
		assert.Equal(t, "beginner", site["difficulty"])
	}

	ow := searchBody(t, srv, `{"query": "wall dive", "k": 50, "filters": {"certification": "open_water", "maxDepth": 25}}`)
	require.Equal(t, http.StatusOK, ow.status, ow.raw)
	assert.NotEmpty(t, ow.body["data"])
}

func TestSearch_AcceptsAnEmbeddingInsteadOfAQuery(t *testing.T) {
	t.Parallel()
	srv := newServer(t, seededDB(t))
	v, _ := embedding.Hash{}.EmbedQuery(context.Background(), "mandarinfish at dusk")
	r := searchBody(t, srv, `{"embedding": `+vectorJSON(v)+`, "k": 1}`)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	data := r.body["data"].([]any)
	require.Len(t, data, 1)
	// Both sites named for their mandarinfish answer this query.
	assert.Contains(t, []string{"kapalai-mandarin-valley", "pom-pom-mandarin-playground"},
		data[0].(map[string]any)["site"].(map[string]any)["slug"])
}

func TestSearch_BadInputNamesTheField(t *testing.T) {
	t.Parallel()
	srv := newServer(t, seededDB(t))
	unit := make([]float32, 768)
	unit[0] = 1
	good := vectorJSON(unit)
	short := vectorJSON(unit[:767])
	cases := []struct {
		name, body string
		status     int
		field      string
	}{
		{"empty query", `{"query": "   "}`, 400, "query"},
		{"neither", `{"k": 5}`, 400, "query"},
		{"both", `{"query": "x", "embedding": ` + good + `}`, 400, "query"},
		{"wrong dimension", `{"embedding": ` + short + `}`, 400, "embedding"},
		{"beyond float32", `{"embedding": [1e39` + strings.Repeat(",0", 767) + `]}`, 400, "embedding"},
		{"beyond float64", `{"embedding": [1e999` + strings.Repeat(",0", 767) + `]}`, 400, "embedding"},
		{"NaN literal", `{"embedding": [NaN` + strings.Repeat(",0", 767) + `]}`, 400, "body"},
		{"zero vector", `{"embedding": [0` + strings.Repeat(",0", 767) + `]}`, 400, "embedding"},
		{"not numbers", `{"embedding": ["a"]}`, 400, "embedding"},
		{"k zero", `{"query": "x", "k": 0}`, 400, "k"},
		{"k too large", `{"query": "x", "k": 51}`, 400, "k"},
		{"k not integer", `{"query": "x", "k": 2.5}`, 400, "k"},
		{"unknown filter", `{"query": "x", "filters": {"colour": "blue"}}`, 400, "colour"},
		{"unknown field", `{"query": "x", "topK": 3}`, 400, "topK"},
		{"bad difficulty", `{"query": "x", "filters": {"difficulty": "extreme"}}`, 400, "difficulty"},
		{"bad depth", `{"query": "x", "filters": {"maxDepth": 0}}`, 400, "maxDepth"},
		{"query too long", `{"query": "` + strings.Repeat("a", 2001) + `"}`, 400, "query"},
		{"not an object", `[1,2,3]`, 400, "body"},
		{"empty body", ``, 400, "query"},
		{"oversized", `{"query": "` + strings.Repeat("a", 2<<20) + `"}`, 413, "body"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := searchBody(t, srv, tc.body)
			assert.Equal(t, tc.status, r.status, r.raw)
			assert.Equal(t, tc.field, errorOf(t, r)["field"], r.raw)
		})
	}
}

// failingEmbedder stands in for an embedding service that is down.
type failingEmbedder struct{ embedding.Hash }

func (failingEmbedder) EmbedQuery(context.Context, string) ([]float32, error) {
	return nil, fmt.Errorf("gemini embed: %w", errors.Join(embedding.ErrUpstream, errors.New("HTTP 503")))
}

func TestSearch_AnEmbeddingOutageIsA503NotA500(t *testing.T) {
	t.Parallel()
	srv := newServer(t, seededDB(t), func(c *handlers.RouterConfig) { c.Embedder = failingEmbedder{} })
	r := searchBody(t, srv, `{"query": "hammerheads"}`)
	assert.Equal(t, http.StatusServiceUnavailable, r.status)
	assert.Equal(t, "embedding_unavailable", errorOf(t, r)["code"])
	assert.NotContains(t, r.raw, "503")
}
