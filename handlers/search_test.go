package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/handlers"
	"github.com/dovvydive/backend/knowledge"
	"github.com/dovvydive/backend/knowledge/embedding"
)

func searchBody(t *testing.T, srv server, body string) response {
	t.Helper()
	return post(t, srv.URL+"/api/v1/search", "application/json", body)
}

func repeatVector(x string, n int) string {
	return "[" + strings.TrimSuffix(strings.Repeat(x+",", n), ",") + "]"
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
	db := seededDB(t)
	srv := newServer(t, db)
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
	require.NotEmpty(t, ow.body["data"])
	for _, d := range ow.body["data"].([]any) {
		id := uuid.MustParse(d.(map[string]any)["site"].(map[string]any)["id"].(string))
		site, err := db.GetDiveSite(context.Background(), id)
		require.NoError(t, err)
		assert.Equal(t, "open_water", site.MinCertification, site.Slug)
		assert.LessOrEqual(t, site.MaxDepthM, 25, site.Slug)
	}
}

func TestSearch_StateFilterKeepsOnlyThatStatesSites(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	srv := newServer(t, db)
	// "Sabah" is a state, not a region: as a region it matches nothing.
	asRegion := searchBody(t, srv, `{"query": "hammerhead sharks", "k": 10, "filters": {"region": "Sabah"}}`)
	require.Equal(t, http.StatusOK, asRegion.status, asRegion.raw)
	assert.Empty(t, asRegion.body["data"])

	r := searchBody(t, srv, `{"query": "hammerhead sharks", "k": 10, "filters": {"state": "sabah"}}`)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	require.NotEmpty(t, r.body["data"])
	for _, d := range r.body["data"].([]any) {
		id := uuid.MustParse(d.(map[string]any)["site"].(map[string]any)["id"].(string))
		site, err := db.GetDiveSite(context.Background(), id)
		require.NoError(t, err)
		assert.Equal(t, "Sabah", site.State, site.Slug)
	}

	long := searchBody(t, srv, `{"query": "reef", "filters": {"state": "`+strings.Repeat("x", 101)+`"}}`)
	assert.Equal(t, http.StatusBadRequest, long.status)
	assert.Equal(t, "filters.state", errorOf(t, long)["field"])
}

func TestSearch_AcceptsAnEmbeddingInsteadOfAQuery(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	srv := newServer(t, db)
	// A stored chunk's own vector: its nearest chunk is itself.
	var vec string
	require.NoError(t, db.SQL().QueryRow(`SELECT c.embedding::text FROM site_chunks c JOIN dive_sites s ON s.id = c.site_id
		WHERE s.slug = 'kapalai-mandarin-valley' AND c.chunk_index = 0`).Scan(&vec))
	r := searchBody(t, srv, `{"embedding": `+vec+`, "k": 1}`)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	data := r.body["data"].([]any)
	require.Len(t, data, 1)
	hit := data[0].(map[string]any)
	assert.Equal(t, "kapalai-mandarin-valley", hit["site"].(map[string]any)["slug"])
	assert.EqualValues(t, 0, hit["chunk"].(map[string]any)["index"])
	assert.InDelta(t, 1, hit["similarity"].(float64), 1e-5)
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
		{"beyond float64", `{"embedding": [1e999` + strings.Repeat(",0", 767) + `]}`, 400, "embedding[0]"},
		{"NaN literal", `{"embedding": [NaN` + strings.Repeat(",0", 767) + `]}`, 400, "body"},
		{"zero vector", `{"embedding": [0` + strings.Repeat(",0", 767) + `]}`, 400, "embedding"},
		{"not numbers", `{"embedding": ["a"]}`, 400, "embedding"},
		{"k zero", `{"query": "x", "k": 0}`, 400, "k"},
		{"k too large", `{"query": "x", "k": 51}`, 400, "k"},
		{"k not integer", `{"query": "x", "k": 2.5}`, 400, "k"},
		{"unknown filter", `{"query": "x", "filters": {"colour": "blue"}}`, 400, "filters.colour"},
		{"unknown field", `{"query": "x", "topK": 3}`, 400, "topK"},
		{"bad difficulty", `{"query": "x", "filters": {"difficulty": "extreme"}}`, 400, "filters.difficulty"},
		{"bad depth", `{"query": "x", "filters": {"maxDepth": 0}}`, 400, "filters.maxDepth"},
		{"query too long", `{"query": "` + strings.Repeat("a", 2001) + `"}`, 400, "query"},
		{"not an object", `[1,2,3]`, 400, "body"},
		{"empty body", ``, 400, "body"},
		{"oversized", `{"query": "` + strings.Repeat("a", 2<<20) + `"}`, 413, "body"},
		// Vectors whose squared length in float32 overflows or underflows:
		// every distance would be NaN, 0 or 1.
		{"norm overflows float32", `{"embedding": ` + repeatVector("3.4e38", 768) + `}`, 400, "embedding"},
		{"1e38 everywhere", `{"embedding": ` + repeatVector("1e38", 768) + `}`, 400, "embedding"},
		{"subnormal everywhere", `{"embedding": ` + repeatVector("1e-45", 768) + `}`, 400, "embedding"},
		{"one tiny component", `{"embedding": [1e-30` + strings.Repeat(",0", 767) + `]}`, 400, "embedding"},
		{"tiny everywhere", `{"embedding": ` + repeatVector("1e-30", 768) + `}`, 400, "embedding"},
		{"NUL in a filter", `{"query": "x", "filters": {"region": "a\u0000"}}`, 400, "filters.region"},
		{"NUL in the query", `{"query": "hammer\u0000head"}`, 400, "query"},
		{"key in the wrong case", `{"QUERY": "x"}`, 400, "QUERY"},
		{"duplicate key", `{"query": "x", "query": "y"}`, 400, "query"},
		{"duplicate nested key", `{"query": "x", "filters": {"region": "a", "region": "b"}}`, 400, "filters.region"},
		{"filters of the wrong type", `{"query": "x", "filters": "sabah"}`, 400, "filters"},
		{"nested a million deep", strings.Repeat("[", 1<<20-100), 400, "body"},
		{"nested too deep", `{"query": "x", "filters": ` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, 400, "body"},
		{"embedding element of the wrong type", `{"embedding": [true` + strings.Repeat(",0", 767) + `]}`, 400, "embedding[0]"},
		{"wrong content type", `{"query": "x"}`, 415, "Content-Type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			contentType := "application/json"
			if tc.status == http.StatusUnsupportedMediaType {
				contentType = "text/plain"
			}
			r := post(t, srv.URL+"/api/v1/search", contentType, tc.body)
			assert.Equal(t, tc.status, r.status, r.raw)
			assert.Equal(t, tc.field, errorOf(t, r)["field"], r.raw)
			assert.NotRegexp(t, `handlers\.|knowledge\.|float64|\bint\b|\[\]`, errorOf(t, r)["message"], "no Go types")
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
	srv := newServer(t, seededDB(t), func(c *serverConfig) { c.Embedder = failingEmbedder{} })
	r := searchBody(t, srv, `{"query": "hammerheads"}`)
	assert.Equal(t, http.StatusServiceUnavailable, r.status)
	assert.Equal(t, "embedding_unavailable", errorOf(t, r)["code"])
	assert.NotContains(t, r.raw, "503")
}

func TestSearch_MediaTypeIsCaseInsensitive(t *testing.T) {
	t.Parallel()
	srv := newServer(t, seededDB(t))
	r := post(t, srv.URL+"/api/v1/search", "APPLICATION/JSON; Charset=UTF-8", `{"query": "turtles"}`)
	assert.Equal(t, http.StatusOK, r.status, r.raw)
}

func TestSearch_TheFloorDropsWeakVectorHitsAndKeepsWordMatches(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	body := `{"query": "hammerhead sharks", "k": 50}`
	all := searchBody(t, newServer(t, db, func(c *serverConfig) { c.MinScore = 0 }), body)
	require.Equal(t, http.StatusOK, all.status, all.raw)
	var sims []float64
	for _, d := range all.body["data"].([]any) {
		if sim, ok := d.(map[string]any)["similarity"].(float64); ok {
			assert.Positive(t, sim, "never a vector hit of similarity 0, even with no floor")
			sims = append(sims, sim)
		}
	}
	require.GreaterOrEqual(t, len(sims), 6)
	slices.Sort(sims)
	floor := sims[len(sims)/2] - 1e-6 // answered rounded to 6 places

	// The same floor set by the server or by the request: every result is a
	// vector hit at or above it, or a text match.
	for name, srv := range map[string]server{
		"server":  newServer(t, db, func(c *serverConfig) { c.MinScore = floor }),
		"request": newServer(t, db, func(c *serverConfig) { c.MinScore = 0.99 }),
	} {
		b := body
		if name == "request" {
			b = fmt.Sprintf(`{"query": "hammerhead sharks", "k": 50, "minScore": %v}`, floor)
		}
		r := searchBody(t, srv, b)
		require.Equal(t, http.StatusOK, r.status, r.raw)
		kept := 0
		for _, d := range r.body["data"].([]any) {
			hit := d.(map[string]any)
			if sim, ok := hit["similarity"].(float64); ok {
				assert.GreaterOrEqual(t, sim, floor, name)
				kept++
			} else {
				assert.True(t, hit["textMatch"].(bool), "%s: a result below the floor only as a word match", name)
			}
		}
		assert.Less(t, kept, len(sims), "%s: weak vector hits were dropped", name)
		assert.GreaterOrEqual(t, kept, len(sims)/2, name)
	}

	// Words no chunk contains share only hash collisions with the corpus:
	// with the hash embedder's floor, few or no hits, none weaker than it.
	none := searchBody(t, newServer(t, db, func(c *serverConfig) { c.MinScore = -1 }),
		`{"query": "xylophone quasar zeppelin", "k": 50}`)
	require.Equal(t, http.StatusOK, none.status, none.raw)
	assert.Less(t, len(none.body["data"].([]any)), 5)
	for _, d := range none.body["data"].([]any) {
		hit := d.(map[string]any)
		if sim, ok := hit["similarity"].(float64); ok {
			assert.GreaterOrEqual(t, sim, knowledge.HashMinScore)
		} else {
			assert.True(t, hit["textMatch"].(bool), "a result without a similarity is a text match")
		}
	}
}

func TestSearch_ACallersEmbeddingGetsItsKNearestUnlessItSetsMinScore(t *testing.T) {
	t.Parallel()
	srv := newServer(t, seededDB(t))
	r := rand.New(rand.NewPCG(7, 7))
	v := make([]float32, 768)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	near := searchBody(t, srv, `{"embedding": `+vectorJSON(v)+`, "k": 7}`)
	require.Equal(t, http.StatusOK, near.status, near.raw)
	data := near.body["data"].([]any)
	require.Len(t, data, 7, "a random vector still has 7 nearest chunks")
	for _, d := range data {
		hit := d.(map[string]any)
		assert.Equal(t, hit["score"], hit["similarity"], "an embedding is ranked by similarity")
		assert.False(t, hit["textMatch"].(bool))
	}
	cut := searchBody(t, srv, `{"embedding": `+vectorJSON(v)+`, "k": 7, "minScore": 0.9}`)
	require.Equal(t, http.StatusOK, cut.status, cut.raw)
	assert.Empty(t, cut.body["data"], "no chunk is that close to a random vector")

	bad := searchBody(t, srv, `{"query": "turtles", "minScore": 1.5}`)
	assert.Equal(t, http.StatusBadRequest, bad.status, bad.raw)
	assert.Equal(t, "minScore", errorOf(t, bad)["field"])
}
