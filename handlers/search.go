package handlers

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/dovvydive/backend/database"
	"github.com/dovvydive/backend/knowledge/embedding"
	"github.com/dovvydive/backend/models"
)

type searchStore interface {
	Search(ctx context.Context, vec []float32, k, efSearch int, f database.SearchFilter) ([]database.SearchHit, error)
}

// SearchHandler serves POST /api/v1/search: the chunks of dive-site
// knowledge nearest to a query text (embedded here) or to a given embedding.
type SearchHandler struct {
	store    searchStore
	embedder embedding.Embedder
	efSearch int
}

// NewSearchHandler returns a SearchHandler.
func NewSearchHandler(store searchStore, emb embedding.Embedder, efSearch int) *SearchHandler {
	return &SearchHandler{store: store, embedder: emb, efSearch: efSearch}
}

// Limits of a search request (the validate tags below repeat them).
const (
	DefaultK = 5
	MaxK     = 50
)

type searchRequest struct {
	Query     *string        `json:"query" validate:"omitempty,max=2000"`
	Embedding []float64      `json:"embedding"`
	K         *int           `json:"k" validate:"omitempty,min=1,max=50"`
	Filters   *searchFilters `json:"filters"`
}

type searchFilters struct {
	Region        string `json:"region" validate:"max=100"`
	Difficulty    string `json:"difficulty" validate:"omitempty,oneof=beginner intermediate advanced"`
	Certification string `json:"certification" validate:"omitempty,oneof=open_water advanced_open_water rescue_diver divemaster"`
	MaxDepth      *int   `json:"maxDepth" validate:"omitempty,min=1,max=200"`
}

type searchResult struct {
	Score float64     `json:"score"`
	Chunk searchChunk `json:"chunk"`
	Site  searchSite  `json:"site"`
}

type searchChunk struct {
	Index int    `json:"index"`
	Text  string `json:"text"`
}

type searchSite struct {
	ID         string `json:"id"`
	Slug       string `json:"slug"`
	NameEn     string `json:"nameEn"`
	NameZh     string `json:"nameZh"`
	Region     string `json:"region"`
	Difficulty string `json:"difficulty"`
}

// Search answers {"data": [{score, chunk, site}], "model", "k"}, best first.
func (h *SearchHandler) Search(c *gin.Context) {
	var req searchRequest
	if e := bindJSON(c, &req); e != nil {
		writeError(c, e)
		return
	}
	vec, e := h.vector(c.Request.Context(), req)
	if e != nil {
		writeError(c, e)
		return
	}
	k := DefaultK
	if req.K != nil {
		k = *req.K
	}
	var f database.SearchFilter
	if req.Filters != nil {
		f = database.SearchFilter{Region: req.Filters.Region, Difficulty: req.Filters.Difficulty}
		if req.Filters.Certification != "" {
			f.Certifications, _ = models.CertificationsUpTo(req.Filters.Certification)
		}
		if req.Filters.MaxDepth != nil {
			f.MaxDepthM = *req.Filters.MaxDepth
		}
	}
	hits, err := h.store.Search(c.Request.Context(), vec, k, h.efSearch, f)
	if err != nil {
		writeStoreError(c, err)
		return
	}
	out := make([]searchResult, len(hits))
	for i, hit := range hits {
		out[i] = searchResult{
			Score: math.Round(hit.Score*1e6) / 1e6,
			Chunk: searchChunk{Index: hit.ChunkIndex, Text: hit.Content},
			Site: searchSite{ID: hit.SiteID.String(), Slug: hit.Slug, NameEn: hit.NameEn, NameZh: hit.NameZh,
				Region: hit.Region, Difficulty: hit.Difficulty},
		}
	}
	c.JSON(http.StatusOK, gin.H{"data": out, "model": h.embedder.Model(), "k": k})
}

// vector checks that exactly one of query and embedding is given and turns
// it into the vector to search with.
func (h *SearchHandler) vector(ctx context.Context, req searchRequest) ([]float32, *APIError) {
	hasQuery, hasEmbedding := req.Query != nil, req.Embedding != nil
	switch {
	case hasQuery && hasEmbedding:
		return nil, invalidField("query", "give either query or embedding, not both")
	case !hasQuery && !hasEmbedding:
		return nil, invalidField("query", "required (or give embedding)")
	case hasQuery:
		q := strings.TrimSpace(*req.Query)
		if q == "" {
			return nil, invalidField("query", "must not be empty")
		}
		vec, err := h.embedder.EmbedQuery(ctx, q)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, embedding.ErrUpstream) {
				return nil, &APIError{Status: http.StatusServiceUnavailable, Code: "embedding_unavailable",
					Message: "the embedding service is not available right now; retry shortly"}
			}
			return nil, &APIError{Status: http.StatusBadGateway, Code: "embedding_failed", Message: "the query could not be embedded"}
		}
		return vec, nil
	}
	if len(req.Embedding) != embedding.Dimensions {
		return nil, invalidField("embedding", "must have 768 numbers")
	}
	vec := make([]float32, len(req.Embedding))
	for i, x := range req.Embedding {
		vec[i] = float32(x)
		if math.IsNaN(float64(vec[i])) || math.IsInf(float64(vec[i]), 0) {
			return nil, invalidField("embedding", "must hold finite numbers within float32 range")
		}
	}
	if err := embedding.Check(vec, embedding.Dimensions); err != nil {
		return nil, invalidField("embedding", "must not be all zeros")
	}
	return vec, nil
}
