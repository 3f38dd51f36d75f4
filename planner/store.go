package planner

import (
	"context"

	"github.com/dovvydive/backend/knowledge"
	"github.com/dovvydive/backend/models"
)

// Database is what the planner reads from PostgreSQL; *database.DB
// implements it.
type Database interface {
	Search(ctx context.Context, vec []float32, k, efSearch int, f models.SearchFilter) ([]models.SearchHit, error)
	TextSearch(ctx context.Context, query string, animals []string, k int, f models.SearchFilter) ([]models.SearchHit, error)
	PlannerSites(ctx context.Context) ([]models.DiveSite, error)
}

// Store adapts a Database to the planner's Retriever and Catalog: the
// vector list is the HNSW search knowledge search uses (with its
// ef_search), the text list is the database's full-text and name search.
type Store struct {
	DB       Database
	EfSearch int // HNSW candidate list size, raised to k when below it; 0 leaves it to the database
}

// VectorSearch returns the k chunks nearest to vec, best first.
func (s Store) VectorSearch(ctx context.Context, vec []float32, k int) ([]Passage, error) {
	ef := s.EfSearch
	if ef > 0 {
		ef = max(ef, k) // HNSW returns at most ef_search rows
	}
	hits, err := s.DB.Search(ctx, vec, k, ef, models.SearchFilter{})
	if err != nil {
		return nil, err
	}
	out := make([]Passage, len(hits))
	for i, h := range hits {
		out[i] = Passage{SiteID: h.SiteID, Slug: h.Slug, ChunkIndex: h.ChunkIndex, Text: h.Content, Score: h.Score}
	}
	return out, nil
}

// TextSearch returns the k best chunks by full text and site names.
func (s Store) TextSearch(ctx context.Context, query string, k int) ([]Passage, error) {
	hits, err := s.DB.TextSearch(ctx, query, knowledge.AnimalsIn(query), k, models.SearchFilter{})
	if err != nil {
		return nil, err
	}
	out := make([]Passage, len(hits))
	for i, h := range hits {
		out[i] = Passage{SiteID: h.SiteID, Slug: h.Slug, ChunkIndex: h.ChunkIndex, Text: h.Content, Score: h.Score}
	}
	return out, nil
}

// Sites returns every site with its operators.
func (s Store) Sites(ctx context.Context) ([]Site, error) {
	rows, err := s.DB.PlannerSites(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Site, len(rows))
	for i, m := range rows {
		out[i] = SiteFromModel(m)
	}
	return out, nil
}
