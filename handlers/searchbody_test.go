package handlers

import (
	"net/http"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/knowledge"
	"github.com/dovvydive/backend/knowledge/embedding"
)

// testSearchBody registers the search operation as the router does and
// returns its body decoder.
func testSearchBody(t testing.TB) *searchBody {
	t.Helper()
	_, api, err := newAPI(RouterConfig{MaxBodyBytes: 1 << 20})
	require.NoError(t, err)
	searcher, err := knowledge.NewSearcher(nil, embedding.Hash{}, 0, -1)
	require.NoError(t, err)
	h, err := registerSearch(api, huma.Operation{Method: http.MethodPost, Path: "/api/v1/search", OperationID: "search"}, searcher)
	require.NoError(t, err)
	return h.body
}

func vector(n int, v string) string {
	return "[" + strings.TrimSuffix(strings.Repeat(v+",", n), ",") + "]"
}

var searchBodySeeds = []string{
	`{"query":"hammerhead sharks","k":5,"filters":{"region":"Sabah","certification":"advanced_open_water","maxDepth":30}}`,
	`{"embedding":` + vector(768, "0.1") + `,"k":10}`,
	`{"embedding":` + vector(768, "3.4e38") + `}`,
	`{"query":"x","filters":{}}`, `{"query":""}`, `{"query":"x","filters":{"difficulty":"beginner"}}`,
	`{"query":"` + strings.Repeat("海", 2000) + `"}`, `{"query":"` + strings.Repeat("海", 2001) + `"}`,
	`{"embedding":` + vector(767, "0.1") + `}`, `{"embedding":` + vector(769, "0.1") + `}`, `{"embedding":[]}`,
	`{"embedding":[null` + strings.Repeat(",0.1", 767) + `]}`, `{"query":null}`, `{"filters":null}`,
	`{"k":0,"query":"x"}`, `{"k":1,"query":"x"}`, `{"k":50,"query":"x"}`, `{"k":51,"query":"x"}`, `{"k":5.0,"query":"x"}`,
	`{"query":"x","k":2.5}`, `{"query":5}`, `{"QUERY":"x"}`, `{"Query":"x"}`, `{"query":"x","Query":"y"}`,
	`{"filters":{"Region":"x"}}`, `{"filters":{"difficulty":""}}`, `{"filters":{"difficulty":"expert"}}`,
	`{"filters":{"certification":"open_water"}}`, `{"filters":{"maxDepth":0}}`, `{"filters":{"maxDepth":200}}`,
	`{"filters":{"maxDepth":201}}`, `{"filters":{"region":"` + strings.Repeat("a", 101) + `"}}`,
	`{"query":"x","extra":1}`, `{"query":"x","filters":{"extra":1}}`, `{"query":"x","query":"y"}`,
	`{"query":"x","filters":{"region":"a\u0000"}}`, `{"filters":{"maxDepth":1e999}}`, `{"query":"x"}{"query":"y"}`,
	`[]`, `null`, `"x"`, `{}`, `{"query":"\xff"}`, ` {"query" : "x" } `,
}

// The fast path vouches only for bodies huma's own validation accepts, and
// decodes them to the same request.
func FuzzSearchBody(f *testing.F) {
	for _, s := range searchBodySeeds {
		f.Add(s)
	}
	b := testSearchBody(f)
	f.Fuzz(func(t *testing.T, body string) {
		var fast SearchRequest
		if !b.vouch([]byte(body), &fast) {
			return // the full path answers it, as huma would
		}
		var slow SearchRequest
		require.NoError(t, b.full([]byte(body), &slow), "vouched for a body huma refuses: %q", body)
		assert.Equal(t, slow, fast, "decoded differently: %q", body)
	})
}

func TestSearchBody_VouchesForValidBodiesAndLeavesTheRestToHumasValidation(t *testing.T) {
	t.Parallel()
	b := testSearchBody(t)
	valid := []string{searchBodySeeds[0], searchBodySeeds[1], `{"query":"x","filters":{}}`, `{"k":50,"query":"x"}`,
		`{"query":"` + strings.Repeat("海", 2000) + `"}`, `{"query":"x","filters":{"maxDepth":200}}`, ` {"query" : "x" } `}
	for _, body := range valid {
		var r SearchRequest
		assert.True(t, b.vouch([]byte(body), &r), "fast path for %.80s", body)
	}
	refused := map[string]string{ // body -> the field huma's validation names
		`{"k":0,"query":"x"}`: "k", `{"k":51,"query":"x"}`: "k",
		`{"QUERY":"x"}`: "QUERY", `{"filters":{"Region":"x"}}`: "filters.Region",
		`{"filters":{"difficulty":""}}`: "filters.difficulty", `{"filters":{"maxDepth":201}}`: "filters.maxDepth",
		`{"embedding":` + vector(767, "0.1") + `}`:                "embedding",
		`{"embedding":[null` + strings.Repeat(",0.1", 767) + `]}`: "embedding[0]",
		`{"query":"x","query":"y"}`:                               "query",
		`{"query":"x","filters":{"region":"a\u0000"}}`:            "filters.region",
		`{"query":"` + strings.Repeat("海", 2001) + `"}`:           "query",
		`{"query":"x","extra":1}`:                                 "extra",
		`{"filters":{"maxDepth":200}}`:                            "query", // neither query nor embedding (the schema's oneOf)
		`{"query":"x","embedding":` + vector(768, "0.1") + `}`:    "query", // both
		`{"query":" \u3000\t"}`:                                   "query", // only whitespace (the schema's pattern)
	}
	for body, field := range refused {
		var r SearchRequest
		assert.False(t, b.vouch([]byte(body), &r), "fast path for %.80s", body)
		_, err := b.decode([]byte(body))
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr, "%.80s", body)
		assert.Equal(t, http.StatusBadRequest, apiErr.GetStatus())
		assert.Equal(t, CodeInvalidInput, apiErr.Detail.Code)
		assert.Equal(t, field, apiErr.Detail.Field, "%.80s", body)
	}
}

// A constraint added to SearchRequest's tags that vouch does not check makes
// the router refuse to start, instead of letting bodies past it.
func TestSearchBody_RefusesASchemaWithAConstraintTheFastPathDoesNotCheck(t *testing.T) {
	t.Parallel()
	n := 5
	assert.NoError(t, onlyChecks("query", &huma.Schema{Type: "string", MaxLength: &n}, "maxLength"))
	assert.Error(t, onlyChecks("query", &huma.Schema{Type: "string", MaxLength: &n, Pattern: "^a"}, "maxLength"), "pattern")
	assert.Error(t, onlyChecks("query", &huma.Schema{Type: "string", MaxLength: &n, MinLength: &n}, "maxLength"), "minLength")
	assert.Error(t, onlyChecks("query", &huma.Schema{Type: "string"}, "maxLength"), "an expected limit that is gone")
	assert.Error(t, onlyChecks("query", nil, "maxLength"))
}
