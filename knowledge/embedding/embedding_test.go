package embedding_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/knowledge/embedding"
)

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

func cosine(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s / norm(a) / norm(b)
}

func TestHash_IsDeterministicUnitLength768(t *testing.T) {
	h := embedding.Hash{}
	a, err := h.EmbedQuery(context.Background(), "Hammerhead sharks at dawn")
	require.NoError(t, err)
	b, _ := h.EmbedQuery(context.Background(), "hammerhead SHARKS at dawn!")
	assert.Len(t, a, 768)
	assert.InDelta(t, 1, norm(a), 1e-5)
	assert.Equal(t, a, b, "case and punctuation do not matter")
	empty, _ := h.EmbedQuery(context.Background(), "  ")
	assert.NoError(t, embedding.Check(empty, 768), "even an empty text gets a valid vector")
}

func TestHash_SharedWordsMakeTextsClose(t *testing.T) {
	h := embedding.Hash{}
	docs, err := h.EmbedDocuments(context.Background(), []string{
		"Schools of scalloped hammerhead sharks gather off the wall in the morning.",
		"Mandarinfish court at dusk among the coral rubble of the sandbank.",
	})
	require.NoError(t, err)
	q, _ := h.EmbedQuery(context.Background(), "hammerhead sharks")
	assert.Greater(t, cosine(q, docs[0]), cosine(q, docs[1])+0.1)
}

func TestWords_SplitsHanCharactersApart(t *testing.T) {
	assert.Equal(t, []string{"诗", "巴", "丹", "sipadan", "2024"}, embedding.Words("诗巴丹 Sipadan-2024"))
}

func TestCheck_RejectsVectorsThatMustNotBeStored(t *testing.T) {
	good := make([]float32, 768)
	good[3] = 1
	assert.NoError(t, embedding.Check(good, 768))
	assert.ErrorIs(t, embedding.Check(good[:767], 768), embedding.ErrInvalidVector)
	nan := append([]float32(nil), good...)
	nan[5] = float32(math.NaN())
	assert.ErrorIs(t, embedding.Check(nan, 768), embedding.ErrInvalidVector)
	inf := append([]float32(nil), good...)
	inf[5] = float32(math.Inf(1))
	assert.ErrorIs(t, embedding.Check(inf, 768), embedding.ErrInvalidVector)
	assert.ErrorIs(t, embedding.Check(make([]float32, 768), 768), embedding.ErrInvalidVector)
}

// fakeGemini speaks the Gemini API's batchEmbedContents: it records each
// request and answers with reply(n), n counting requests from 1.
type fakeGemini struct {
	*httptest.Server
	calls    atomic.Int64
	requests chan map[string]any
}

type batchRequest struct {
	Requests []struct {
		Model   string `json:"model"`
		Content struct {
			Parts []struct {
				Text string `json:"text"`
			} `json:"parts"`
		} `json:"content"`
		TaskType             string `json:"taskType"`
		OutputDimensionality int    `json:"outputDimensionality"`
	} `json:"requests"`
}

func newFake(t *testing.T, reply func(n int64, w http.ResponseWriter, req batchRequest)) *fakeGemini {
	t.Helper()
	f := &fakeGemini{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := f.calls.Add(1)
		if !strings.HasSuffix(r.URL.Path, "/models/gemini-embedding-001:batchEmbedContents") || r.Method != http.MethodPost {
			http.Error(w, `{"error":{"code":404,"message":"no such method","status":"NOT_FOUND"}}`, http.StatusNotFound)
			return
		}
		if r.Header.Get("x-goog-api-key") != "test-key" {
			http.Error(w, `{"error":{"code":403,"message":"API key not valid","status":"PERMISSION_DENIED"}}`, http.StatusForbidden)
			return
		}
		var req batchRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, `{"error":{"code":400,"message":"bad json","status":"INVALID_ARGUMENT"}}`, http.StatusBadRequest)
			return
		}
		reply(n, w, req)
	}))
	t.Cleanup(f.Close)
	return f
}

// vectors answers one deterministic, unnormalised 768-dimensional vector per text.
func vectors(w http.ResponseWriter, req batchRequest) {
	type emb struct {
		Values []float32 `json:"values"`
	}
	out := struct {
		Embeddings []emb `json:"embeddings"`
	}{}
	for i := range req.Requests {
		v := make([]float32, 768)
		v[i%768], v[(i+1)%768] = 3, 4
		out.Embeddings = append(out.Embeddings, emb{Values: v})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

func gemini(t *testing.T, url string, tune ...func(*embedding.GeminiConfig)) *embedding.Gemini {
	t.Helper()
	cfg := embedding.GeminiConfig{APIKey: "test-key", BaseURL: url, BatchSize: 2, Timeout: 300 * time.Millisecond,
		MaxRetries: 3, RequestsPerMinute: 60000}
	for _, f := range tune {
		f(&cfg)
	}
	g, err := embedding.NewGemini(context.Background(), cfg)
	require.NoError(t, err)
	return g
}

func TestGemini_SendsTheAPIsRequestShapeAndNormalises(t *testing.T) {
	var seen []batchRequest
	fake := newFake(t, func(_ int64, w http.ResponseWriter, req batchRequest) {
		seen = append(seen, req)
		vectors(w, req)
	})
	g := gemini(t, fake.URL)
	vecs, err := g.EmbedDocuments(context.Background(), []string{"one", "two", "three"})
	require.NoError(t, err)
	require.Len(t, vecs, 3)
	assert.InDelta(t, 1, norm(vecs[0]), 1e-6, "reduced-dimension vectors are normalised")
	require.Len(t, seen, 2, "batches of BatchSize")
	assert.Len(t, seen[0].Requests, 2)
	r := seen[0].Requests[0]
	assert.Equal(t, "models/gemini-embedding-001", r.Model)
	assert.Equal(t, "RETRIEVAL_DOCUMENT", r.TaskType)
	assert.Equal(t, 768, r.OutputDimensionality)
	assert.Equal(t, "one", r.Content.Parts[0].Text)

	_, err = g.EmbedQuery(context.Background(), "hammerheads")
	require.NoError(t, err)
	assert.Equal(t, "RETRIEVAL_QUERY", seen[2].Requests[0].TaskType)
	assert.Equal(t, "gemini-embedding-001", g.Model())
}

func TestGemini_RetriesRateLimitsHonouringRetryAfter(t *testing.T) {
	fake := newFake(t, func(n int64, w http.ResponseWriter, req batchRequest) {
		if n <= 2 {
			w.Header().Set("Retry-After", "1")
			http.Error(w, `{"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED"}}`, http.StatusTooManyRequests)
			return
		}
		vectors(w, req)
	})
	began := time.Now()
	_, err := gemini(t, fake.URL).EmbedQuery(context.Background(), "q")
	require.NoError(t, err)
	assert.EqualValues(t, 3, fake.calls.Load())
	assert.GreaterOrEqual(t, time.Since(began), 2*time.Second, "waited the Retry-After second twice")
}

func TestGemini_GivesUpOnPersistentServerErrors(t *testing.T) {
	fake := newFake(t, func(_ int64, w http.ResponseWriter, _ batchRequest) {
		http.Error(w, `{"error":{"code":500,"message":"internal","status":"INTERNAL"}}`, http.StatusInternalServerError)
	})
	_, err := gemini(t, fake.URL, func(c *embedding.GeminiConfig) { c.MaxRetries = 2 }).EmbedQuery(context.Background(), "q")
	require.ErrorIs(t, err, embedding.ErrUpstream)
	assert.EqualValues(t, 3, fake.calls.Load(), "one try and two retries")
}

func TestGemini_TimesOutAHungRequestAndRetries(t *testing.T) {
	fake := newFake(t, func(n int64, w http.ResponseWriter, req batchRequest) {
		if n == 1 {
			time.Sleep(2 * time.Second) // longer than the 300 ms timeout
		}
		vectors(w, req)
	})
	began := time.Now()
	_, err := gemini(t, fake.URL).EmbedQuery(context.Background(), "q")
	require.NoError(t, err)
	assert.EqualValues(t, 2, fake.calls.Load())
	assert.Less(t, time.Since(began), 2*time.Second, "the hung request was abandoned, not awaited")
}

func TestGemini_RejectsBadVectorsWithoutRetrying(t *testing.T) {
	cases := map[string]string{
		"wrong length":      `{"embeddings":[{"values":[` + strings.TrimSuffix(strings.Repeat("0.1,", 767), ",") + `]}]}`,
		"NaN":               `{"embeddings":[{"values":[NaN` + strings.Repeat(",0.1", 767) + `]}]}`,
		"beyond float32":    `{"embeddings":[{"values":[1e39` + strings.Repeat(",0.1", 767) + `]}]}`,
		"zero vector":       `{"embeddings":[{"values":[` + strings.TrimSuffix(strings.Repeat("0,", 768), ",") + `]}]}`,
		"missing embedding": `{"embeddings":[]}`,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			fake := newFake(t, func(_ int64, w http.ResponseWriter, _ batchRequest) {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, body)
			})
			vecs, err := gemini(t, fake.URL).EmbedDocuments(context.Background(), []string{"a"})
			require.Error(t, err)
			assert.Nil(t, vecs)
			// The client allows 3 retries (gemini()): a bad vector must use none.
			assert.EqualValues(t, 1, fake.calls.Load(), "not retried")
		})
	}
}

func TestGemini_ClientErrorsArePermanent(t *testing.T) {
	fake := newFake(t, func(_ int64, w http.ResponseWriter, _ batchRequest) {})
	_, err := gemini(t, fake.URL, func(c *embedding.GeminiConfig) { c.APIKey = "wrong-key" }).EmbedQuery(context.Background(), "q")
	require.Error(t, err)
	assert.False(t, errors.Is(err, embedding.ErrUpstream))
	assert.Contains(t, err.Error(), "403")
	assert.EqualValues(t, 1, fake.calls.Load(), "not retried")
	assert.NotContains(t, err.Error(), "wrong-key")
}

func TestGemini_RateLimitSpacesRequests(t *testing.T) {
	fake := newFake(t, func(_ int64, w http.ResponseWriter, req batchRequest) { vectors(w, req) })
	g := gemini(t, fake.URL, func(c *embedding.GeminiConfig) { c.RequestsPerMinute = 120; c.BatchSize = 1 })
	began := time.Now()
	_, err := g.EmbedDocuments(context.Background(), []string{"a", "b", "c", "d"})
	require.NoError(t, err)
	// 120 per minute with a burst of 2: the 3rd and 4th requests wait 0.5 s each.
	assert.GreaterOrEqual(t, time.Since(began), 900*time.Millisecond)
}
