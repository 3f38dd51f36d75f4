package handlers

import (
	"context"
	"math"

	"github.com/danielgtaylor/huma/v2"

	"github.com/dovvydive/backend/knowledge"
	"github.com/dovvydive/backend/models"
)

// SearchHandler serves POST /api/v1/search: it decodes, calls the
// knowledge.Searcher and encodes.
type SearchHandler struct {
	searcher Searcher
	body     *searchBody // set once the operation is registered
}

// registerSearch registers the search operation; the handler validates the
// body itself, against the schema huma generated for it (see searchBody).
func registerSearch(api huma.API, op huma.Operation, s Searcher) (*SearchHandler, error) {
	h := &SearchHandler{searcher: s}
	op.SkipValidateBody = true
	register(api, op, h.Search)
	var err error
	h.body, err = newSearchBody(api, op.Path)
	return h, err
}

// Limits of a search request, for clients of this package.
const (
	DefaultK = knowledge.DefaultK
	MaxK     = knowledge.MaxK
)

type searchInput struct {
	Body SearchRequest
}

// SearchRequest is the body of POST /api/v1/search: exactly one of query and
// embedding.
type SearchRequest struct {
	Query     *string        `json:"query,omitempty" maxLength:"2000" pattern:"[^\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]" patternDescription:"text, not only whitespace" doc:"Text to search for; embedded by the server."`
	Embedding []float64      `json:"embedding,omitempty" minItems:"768" maxItems:"768" doc:"A 768-dimensional query vector instead of query; its length must be finite and non-zero in float32."`
	K         int            `json:"k,omitempty" minimum:"1" maximum:"50" doc:"How many chunks to return at most; 5 when absent. (No schema default: openapi-typescript would make a field with one required.)"`
	MinScore  *float64       `json:"minScore,omitempty" minimum:"-1" maximum:"1" doc:"Drop vector hits whose similarity (1 − cosine distance) is below this. Without it, a query uses the server's floor for its embedder and an embedding gets its k nearest."`
	Filters   *SearchFilters `json:"filters,omitempty"`

	raw []byte // the body as sent, for searchBody
}

// SearchFilters narrow a search to some dive sites.
type SearchFilters struct {
	Region        string               `json:"region,omitempty" maxLength:"100" doc:"The area divers name it by (Semporna, Tioman, Redang); case-insensitive."`
	State         string               `json:"state,omitempty" maxLength:"100" doc:"Malaysian state or federal territory (Sabah, Terengganu, Labuan); case-insensitive."`
	Difficulty    models.Difficulty    `json:"difficulty,omitempty"`
	Certification models.Certification `json:"certification,omitempty" doc:"The diver's level: only sites that level may dive."`
	MaxDepth      int                  `json:"maxDepth,omitempty" minimum:"1" maximum:"200" doc:"Metres: sites no deeper than this."`
}

// SearchResult is one chunk found.
type SearchResult struct {
	Score      float64     `json:"score" doc:"Ranks the results, best first. For a query: the reciprocal-rank fusion of the chunk's places in the vector and the text search (comparable within one answer only). For an embedding: the similarity."`
	Similarity *float64    `json:"similarity,omitempty" doc:"1 − cosine distance between the query and the chunk, when the vector search found the chunk (at least the relevance floor)."`
	TextMatch  bool        `json:"textMatch" doc:"The text search (words, site names, Chinese characters) found the chunk."`
	Chunk      SearchChunk `json:"chunk"`
	Site       SearchSite  `json:"site"`
}

// SearchChunk is the text found.
type SearchChunk struct {
	Index    int             `json:"index"`
	Language models.Language `json:"language" doc:"The language of the chunk's text."`
	Text     string          `json:"text"`
}

// SearchSite is the dive site a chunk describes.
type SearchSite struct {
	ID         string            `json:"id" format:"uuid"`
	Slug       string            `json:"slug"`
	NameEn     string            `json:"nameEn"`
	NameZh     string            `json:"nameZh"`
	Region     string            `json:"region"`
	Difficulty models.Difficulty `json:"difficulty"`
}

// SearchResponse is the answer: results best first.
type SearchResponse struct {
	Data  []SearchResult `json:"data"`
	Model string         `json:"model" doc:"The embedding model the knowledge base was built with."`
	K     int            `json:"k"`
}

type searchOutput struct {
	Body SearchResponse
}

// Search answers {"data": [{score, chunk, site}], "model", "k"}, best first.
func (h *SearchHandler) Search(ctx context.Context, in *searchInput) (*searchOutput, error) {
	body, err := h.body.decode(in.Body.raw)
	if err != nil {
		return nil, err
	}
	req := knowledge.SearchRequest{Query: body.Query, Embedding: body.Embedding, K: body.K, MinScore: body.MinScore}
	if f := body.Filters; f != nil {
		req.Filter = models.SearchFilter{Region: f.Region, State: f.State, Difficulty: string(f.Difficulty), MaxDepthM: f.MaxDepth}
		if f.Certification != "" {
			req.Filter.Certifications, _ = models.CertificationsUpTo(string(f.Certification))
		}
	}
	hits, k, err := h.searcher.Search(ctx, req)
	if err != nil {
		return nil, err
	}
	out := &searchOutput{Body: SearchResponse{Data: make([]SearchResult, len(hits)), Model: h.searcher.Model(), K: k}}
	for i, hit := range hits {
		out.Body.Data[i] = SearchResult{
			Score:     round6(hit.Score),
			TextMatch: hit.TextMatch,
			Chunk:     SearchChunk{Index: hit.ChunkIndex, Language: models.Language(hit.Language), Text: hit.Content},
			Site: SearchSite{ID: hit.SiteID.String(), Slug: hit.Slug, NameEn: hit.NameEn, NameZh: hit.NameZh,
				Region: hit.Region, Difficulty: models.Difficulty(hit.Difficulty)},
		}
		if hit.Similarity != nil {
			sim := round6(*hit.Similarity)
			out.Body.Data[i].Similarity = &sim
		}
	}
	return out, nil
}

func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }
