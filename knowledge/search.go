package knowledge

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/dovvydive/backend/database"
	"github.com/dovvydive/backend/knowledge/embedding"
)

// Limits of a search.
const (
	DefaultK = 5
	MaxK     = 50
	// DefaultMinScore is the relevance floor: hits scoring below it (1 −
	// cosine distance) are dropped rather than returned as "results" that
	// share nothing with the query. Unrelated 768-d hash vectors score about
	// 0 ± 0.036; on the 42-site corpus a nonsense query's best chance hits
	// reached 0.074 while real matches scored 0.09-0.14, hence 0.08. Other
	// embedders have other scales: set search.min_score for them.
	DefaultMinScore = 0.08
)

// SearchStore is what a search needs from the database.
type SearchStore interface {
	Search(ctx context.Context, vec []float32, k, efSearch int, f database.SearchFilter) ([]database.SearchHit, error)
}

// Searcher answers knowledge searches: it owns the embedder, the index's
// ef_search, k's bounds, the checks on a caller's vector and the relevance
// floor, so the HTTP handler only decodes, calls and encodes.
type Searcher struct {
	store    SearchStore
	embedder embedding.Embedder
	efSearch int
	minScore float64
}

// NewSearcher returns a Searcher; efSearch ≤ 0 lets the database size it to
// the corpus (database.EfSearchFor) and a negative minScore takes
// DefaultMinScore.
func NewSearcher(store SearchStore, emb embedding.Embedder, efSearch int, minScore float64) (*Searcher, error) {
	if emb == nil {
		return nil, errors.New("searcher: an embedder is required")
	}
	efSearch = max(efSearch, 0)
	if minScore < 0 {
		minScore = DefaultMinScore
	}
	return &Searcher{store: store, embedder: emb, efSearch: efSearch, minScore: minScore}, nil
}

// Model names the embedder's model.
func (s *Searcher) Model() string { return s.embedder.Model() }

// SearchRequest is one search: exactly one of Query and Embedding.
type SearchRequest struct {
	Query     *string
	Embedding []float64
	K         int // 0 means DefaultK
	Filter    database.SearchFilter
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

// Search returns the k chunks nearest to the request's query or vector that
// score at least the relevance floor, best first, and the k it used.
func (s *Searcher) Search(ctx context.Context, req SearchRequest) ([]database.SearchHit, int, error) {
	k := req.K
	if k == 0 {
		k = DefaultK
	}
	if k < 1 || k > MaxK {
		return nil, 0, &InputError{"k", fmt.Sprintf("must be between 1 and %d", MaxK)}
	}
	vec, err := s.vector(ctx, req)
	if err != nil {
		return nil, 0, err
	}
	hits, err := s.store.Search(ctx, vec, k, s.efSearch, req.Filter)
	if err != nil {
		return nil, 0, err
	}
	kept := hits[:0]
	for _, h := range hits {
		if h.Score >= s.minScore && h.Score > 0 {
			kept = append(kept, h)
		}
	}
	return kept, k, nil
}

// vector checks that exactly one of query and embedding is given and turns
// it into the vector to search with.
func (s *Searcher) vector(ctx context.Context, req SearchRequest) ([]float32, error) {
	hasQuery, hasEmbedding := req.Query != nil, req.Embedding != nil
	switch {
	case hasQuery && hasEmbedding:
		return nil, &InputError{"query", "give either query or embedding, not both"}
	case !hasQuery && !hasEmbedding:
		return nil, &InputError{"query", "required (or give embedding)"}
	case hasQuery:
		q := strings.TrimSpace(*req.Query)
		if q == "" {
			return nil, &InputError{"query", "must not be empty"}
		}
		vec, err := s.embedder.EmbedQuery(ctx, q)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, embedding.ErrUpstream) {
				return nil, fmt.Errorf("%w: %w", ErrEmbeddingUnavailable, err)
			}
			return nil, fmt.Errorf("%w: %w", ErrEmbeddingFailed, err)
		}
		return vec, nil
	}
	return QueryVector(req.Embedding)
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
