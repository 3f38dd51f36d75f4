package knowledge

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/dovvydive/backend/data"
	"github.com/dovvydive/backend/models"

	"github.com/dovvydive/backend/knowledge/embedding"
)

// Limits of a search.
const (
	DefaultK = 5
	MaxK     = 50
	// HashMinScore is the hash embedder's relevance floor: vector hits
	// scoring below it (1 − cosine distance) are dropped rather than
	// returned as "results" that share nothing with the query. Unrelated
	// 768-d hash vectors score about 0 ± 0.036; on the 42-site corpus a
	// nonsense query's best chance hits reached 0.074 while real matches
	// scored 0.09-0.14, hence 0.08.
	HashMinScore = 0.08
)

// MinScoreFor is the relevance floor measured for an embedding model, and
// whether one was. gemini-embedding-001's was never measured (Google cannot
// be reached from where this was built): its similarities have another
// scale, so it gets no floor until search.min_score is set from a
// measurement (README, "Knowledge search").
func MinScoreFor(model string) (float64, bool) {
	if model == embedding.HashModel {
		return HashMinScore, true
	}
	return 0, false
}

// SearchStore is what a search needs from the database.
type SearchStore interface {
	Search(ctx context.Context, vec []float32, k, efSearch int, f models.SearchFilter) ([]models.SearchHit, error)
	TextSearch(ctx context.Context, query string, animals []string, k int, f models.SearchFilter) ([]models.SearchHit, error)
}

// Searcher answers knowledge searches: it owns the embedder, the index's
// ef_search, k's bounds, the checks on a caller's vector, the fusion of the
// vector and text lists and the relevance floor, so the HTTP handler only
// decodes, calls and encodes.
type Searcher struct {
	store    SearchStore
	embedder embedding.Embedder
	efSearch int
	minScore float64
}

// NewSearcher returns a Searcher; efSearch ≤ 0 lets the database size it to
// the corpus (database.EfSearchFor) and a negative minScore takes the
// embedder's own floor (MinScoreFor).
func NewSearcher(store SearchStore, emb embedding.Embedder, efSearch int, minScore float64) (*Searcher, error) {
	if emb == nil {
		return nil, errors.New("searcher: an embedder is required")
	}
	efSearch = max(efSearch, 0)
	if minScore < 0 {
		minScore, _ = MinScoreFor(emb.Model())
	}
	return &Searcher{store: store, embedder: emb, efSearch: efSearch, minScore: minScore}, nil
}

// Model names the embedder's model.
func (s *Searcher) Model() string { return s.embedder.Model() }

// MinScore is the relevance floor applied to queries the server embeds.
func (s *Searcher) MinScore() float64 { return s.minScore }

// SearchRequest is one search: exactly one of Query and Embedding.
type SearchRequest struct {
	Query     *string
	Embedding []float64
	K         int      // 0 means DefaultK
	MinScore  *float64 // nil: the server's floor for a query, none for an embedding
	Filter    models.SearchFilter
}

// Result is one chunk found. Score ranks the results: for a query, the
// reciprocal-rank fusion of the chunk's places in the vector and the text
// list (comparable within one answer only); for an embedding, Similarity.
type Result struct {
	models.SearchHit          // the chunk and its site; its Score is the list's own
	Score            float64  // the rank score
	Similarity       *float64 // 1 − cosine distance, when the vector list holds the chunk
	TextMatch        bool     // the text list holds the chunk
}

// InputError is a search request the caller must fix; Field is its JSON path.
type InputError struct {
	Field, Message string
}

func (e *InputError) Error() string { return e.Field + ": " + e.Message }

// Errors of the embedding service, for the handler to map to a status.
var (
	ErrEmbeddingUnavailable = errors.New("the embedding service is not available")
	ErrEmbeddingFailed      = errors.New("the query could not be embedded")
)

// IsEmbeddingOutage tells an embedding failure that may pass (the service
// down, rate-limited or too slow: ErrEmbeddingUnavailable) from one that
// will not (it answered, unusably: ErrEmbeddingFailed). A search and a
// planner's message classify their embedding failures by it alike.
func IsEmbeddingOutage(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, embedding.ErrUpstream)
}

// Search answers a request and returns the k it used.
//
// A query is searched both ways, as the planner does: its embedding's
// nearest chunks (those at or above the relevance floor) and the text
// search's best chunks, fused by reciprocal rank, so a question whose words
// name a site or an animal finds it even where the embedder ranks it low.
// An embedding is searched by vector only and gets its k nearest, or those
// at or above MinScore when the request sets it.
func (s *Searcher) Search(ctx context.Context, req SearchRequest) ([]Result, int, error) {
	k := req.K
	if k == 0 {
		k = DefaultK
	}
	if k < 1 || k > MaxK {
		return nil, 0, &InputError{"k", fmt.Sprintf("must be between 1 and %d", MaxK)}
	}
	if m := req.MinScore; m != nil && (math.IsNaN(*m) || *m < -1 || *m > 1) {
		return nil, 0, &InputError{"minScore", "must be between -1 and 1"}
	}
	query, err := checkRequest(req)
	if err != nil {
		return nil, 0, err
	}
	if query == "" {
		return s.searchVector(ctx, req, k)
	}
	floor := s.minScore
	if req.MinScore != nil {
		floor = *req.MinScore
	}
	query = ExpandQuery(query)
	vec, err := s.embedder.EmbedQuery(ctx, query)
	if err != nil {
		if IsEmbeddingOutage(err) {
			return nil, 0, fmt.Errorf("%w: %w", ErrEmbeddingUnavailable, err)
		}
		return nil, 0, fmt.Errorf("%w: %w", ErrEmbeddingFailed, err)
	}
	depth := max(FuseDepth, k)
	var vecHits, textHits []models.SearchHit
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		vecHits, err = s.store.Search(gctx, vec, depth, s.efSearch, req.Filter)
		return err
	})
	g.Go(func() (err error) {
		textHits, err = s.store.TextSearch(gctx, query, AnimalsIn(query), depth, req.Filter)
		if err == nil {
			textHits = trimWeak(textHits)
		}
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, 0, err
	}
	vecHits = slices.DeleteFunc(vecHits, func(h models.SearchHit) bool { return !(h.Score >= floor && h.Score > 0) }) // NaN too
	// Passages are keyed by site and chunk index, not row id: the two lists
	// are separate reads, and a re-ingest between them renumbers the rows.
	fused := Fuse([][]models.SearchHit{vecHits, textHits}, hitKey,
		func(a, b models.SearchHit) int {
			return cmp.Or(cmp.Compare(a.Slug, b.Slug), cmp.Compare(a.ChunkIndex, b.ChunkIndex))
		}, FuseK, depth)
	similarity := make(map[chunkKey]float64, len(vecHits))
	for _, h := range vecHits {
		similarity[hitKey(h)] = h.Score
	}
	inText := make(map[chunkKey]bool, len(textHits))
	for _, h := range textHits {
		inText[hitKey(h)] = true
	}
	out := make([]Result, 0, min(k, len(fused)))
	for _, f := range fused[:min(k, len(fused))] {
		r := Result{SearchHit: f.Item, Score: f.Score, TextMatch: inText[hitKey(f.Item)]}
		if sim, ok := similarity[hitKey(f.Item)]; ok {
			r.Similarity = &sim
			r.SearchHit.Score = sim
		}
		out = append(out, r)
	}
	return out, k, nil
}

// ExpandQuery adds to q the other names, in q's language, of the animals and
// places it names (data.Vocabulary.OtherNames): a diver who writes "锤头鲨"
// finds the texts that say "双髻鲨".
func ExpandQuery(q string) string {
	v, err := data.LoadVocabulary()
	if err != nil { // the embedded file is checked by the tests; search still works without it
		return q
	}
	lang := "en"
	if strings.IndexFunc(q, func(r rune) bool { return unicode.Is(unicode.Han, r) }) >= 0 {
		lang = "zh"
	}
	if extra := v.OtherNames(q, lang); len(extra) > 0 {
		return q + "\n" + strings.Join(extra, " ")
	}
	return q
}

type chunkKey struct {
	site  uuid.UUID
	index int
}

func hitKey(h models.SearchHit) chunkKey { return chunkKey{h.SiteID, h.ChunkIndex} }

// AnimalsIn names the animals q asks for (data.Vocabulary.AnimalsIn).
func AnimalsIn(q string) []string {
	v, err := data.LoadVocabulary()
	if err != nil {
		return nil
	}
	return v.AnimalsIn(q)
}

// weakText is the share of the best text score below which a text hit is
// dropped before fusion: reciprocal rank fusion counts ranks, not scores, so
// a list whose second hit scores an eighth of its first would otherwise vote
// for it as if it matched as well.
const weakText = 0.25

// trimWeak keeps the text hits (best first) scoring at least weakText of
// the best one.
func trimWeak(hits []models.SearchHit) []models.SearchHit {
	if len(hits) == 0 {
		return hits
	}
	floor := weakText * hits[0].Score
	return slices.DeleteFunc(hits, func(h models.SearchHit) bool { return h.Score < floor })
}

// searchVector answers a caller's embedding: its k nearest chunks, cut at
// the request's MinScore when it sets one.
func (s *Searcher) searchVector(ctx context.Context, req SearchRequest, k int) ([]Result, int, error) {
	vec, err := QueryVector(req.Embedding)
	if err != nil {
		return nil, 0, err
	}
	hits, err := s.store.Search(ctx, vec, k, s.efSearch, req.Filter)
	if err != nil {
		return nil, 0, err
	}
	out := make([]Result, 0, len(hits))
	for _, h := range hits {
		if req.MinScore != nil && h.Score < *req.MinScore {
			continue
		}
		sim := h.Score
		out = append(out, Result{SearchHit: h, Score: sim, Similarity: &sim})
	}
	return out, k, nil
}

// checkRequest checks that exactly one of query and embedding is given and
// returns the query, trimmed ("" for an embedding).
func checkRequest(req SearchRequest) (string, error) {
	hasQuery, hasEmbedding := req.Query != nil, req.Embedding != nil
	switch {
	case hasQuery && hasEmbedding:
		return "", &InputError{"query", "give either query or embedding, not both"}
	case !hasQuery && !hasEmbedding:
		return "", &InputError{"query", "required (or give embedding)"}
	case hasQuery:
		q := strings.TrimSpace(*req.Query)
		if q == "" {
			return "", &InputError{"query", "must not be empty"}
		}
		return q, nil
	}
	return "", nil
}

// smallestNormal32 is the smallest positive normal float32 (2^-126).
const smallestNormal32 = 0x1p-126

// QueryVector converts a caller's vector to the float32s the index compares
// and refuses one that cosine distance cannot rank: wrong length, a
// component outside float32's range, or a squared norm that in float32 (as
// pgvector computes it) overflows to infinity or underflows to zero or a
// subnormal — there every distance comes out NaN, 0 or 1 and the "results"
// would be meaningless.
func QueryVector(in []float64) ([]float32, error) {
	if len(in) != embedding.Dimensions {
		return nil, &InputError{"embedding", fmt.Sprintf("must have %d numbers", embedding.Dimensions)}
	}
	vec := make([]float32, len(in))
	var sq float32
	for i, x := range in {
		vec[i] = float32(x)
		if math.IsNaN(float64(vec[i])) || math.IsInf(float64(vec[i]), 0) {
			return nil, &InputError{"embedding", "must hold finite numbers within 32-bit float range"}
		}
		sq += vec[i] * vec[i]
	}
	switch {
	case sq == 0:
		return nil, &InputError{"embedding", "must not be all zeros (or so small that its length rounds to zero)"}
	case math.IsInf(float64(sq), 0) || math.IsNaN(float64(sq)):
		return nil, &InputError{"embedding", "is too long: its squared length overflows a 32-bit float"}
	case sq < smallestNormal32:
		return nil, &InputError{"embedding", "is too short: its squared length is below the normal range of a 32-bit float"}
	}
	return vec, nil
}
