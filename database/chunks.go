package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pgvector/pgvector-go"
	pgxvec "github.com/pgvector/pgvector-go/pgx"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ChunkRow is one chunk to store.
type ChunkRow struct {
	Index       int
	Content     string
	TokenCount  int
	ContentHash string
	Embedding   []float32
}

// DocumentState is what is stored for a site's source document.
type DocumentState struct {
	Found       bool
	ContentHash string
	Model       string
}

// SiteDocument reports the stored hash and model of a site's document.
func (d *DB) SiteDocument(ctx context.Context, siteID uuid.UUID) (DocumentState, error) {
	var st DocumentState
	err := d.read(ctx, func(g *gorm.DB) error {
		row := g.Raw(`SELECT content_hash, model FROM site_documents WHERE site_id = ?`, siteID).Row()
		err := row.Scan(&st.ContentHash, &st.Model)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		st.Found = err == nil
		return err
	})
	return st, err
}

// ReplaceChunks swaps a site's chunks for new ones in one transaction, so a
// search sees either the old set or the new one. Rows are written with COPY.
func (d *DB) ReplaceChunks(ctx context.Context, siteID uuid.UUID, docHash, model string, chunks []ChunkRow) error {
	return d.withPgx(ctx, func(conn *pgx.Conn) error {
		if err := pgxvec.RegisterTypes(ctx, conn); err != nil {
			return fmt.Errorf("register vector type: %w", err)
		}
		return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `DELETE FROM site_chunks WHERE site_id = $1`, siteID); err != nil {
				return err
			}
			rows := make([][]any, len(chunks))
			for i, c := range chunks {
				rows[i] = []any{siteID, c.Index, c.Content, c.TokenCount, c.ContentHash, model, pgvector.NewVector(c.Embedding)}
			}
			_, err := tx.CopyFrom(ctx, pgx.Identifier{"site_chunks"},
				[]string{"site_id", "chunk_index", "content", "token_count", "content_hash", "model", "embedding"},
				pgx.CopyFromRows(rows))
			if err != nil {
				return fmt.Errorf("copy chunks: %w", err)
			}
			_, err = tx.Exec(ctx, `INSERT INTO site_documents (site_id, content_hash, model, chunk_count, ingested_at)
				VALUES ($1, $2, $3, $4, now())
				ON CONFLICT (site_id) DO UPDATE SET content_hash = EXCLUDED.content_hash, model = EXCLUDED.model,
					chunk_count = EXCLUDED.chunk_count, ingested_at = now()`, siteID, docHash, model, len(chunks))
			return err
		})
	})
}

// withPgx runs f on one pooled connection as a native pgx connection, for
// what database/sql cannot do (COPY).
func (d *DB) withPgx(ctx context.Context, f func(*pgx.Conn) error) error {
	s := d.sql.Load()
	if s == nil {
		return ErrUnavailable
	}
	conn, err := s.Conn(ctx)
	if err != nil {
		return classify(err)
	}
	defer conn.Close()
	err = conn.Raw(func(driverConn any) error {
		return f(driverConn.(*stdlib.Conn).Conn())
	})
	return classify(err)
}

// EmbeddingModels lists the models that made the stored chunk vectors, from
// site_documents (one row per site, written with its chunks) rather than
// scanning every chunk.
func (d *DB) EmbeddingModels(ctx context.Context) ([]string, error) {
	var models []string
	err := d.read(ctx, func(g *gorm.DB) error {
		models = nil
		return g.Raw(`SELECT DISTINCT model FROM site_documents ORDER BY model`).Scan(&models).Error
	})
	return models, err
}

// CheckEmbeddingModel refuses a configured model that differs from the one
// that made the stored vectors: mixing them would return meaningless results.
func (d *DB) CheckEmbeddingModel(ctx context.Context, model string) error {
	stored, err := d.EmbeddingModels(ctx)
	if err != nil {
		return fmt.Errorf("read embedding models: %w", err)
	}
	for _, m := range stored {
		if m != model {
			return fmt.Errorf("the knowledge base was embedded with %q but the configured embedder is %q: "+
				"re-embed it with `dovvydive ingest --reembed`, or configure the embedder it was built with", m, model)
		}
	}
	return nil
}

// SearchFilter narrows a knowledge search by site. Zero values mean "no filter".
type SearchFilter struct {
	Region         string
	Difficulty     string
	Certifications []string
	MaxDepthM      int
}

// SearchHit is one retrieved chunk with its site.
type SearchHit struct {
	ChunkID    int64   `json:"-"`
	ChunkIndex int     `json:"index"`
	Content    string  `json:"text"`
	Score      float64 `json:"score"` // 1 - cosine distance
	SiteID     uuid.UUID
	Slug       string
	NameEn     string
	NameZh     string
	Region     string
	Difficulty string
}

// Search returns the k chunks nearest to embedding by cosine distance,
// through the HNSW index. efSearch sets the index's candidate list; iterative
// index scans keep filtered searches from returning fewer than k rows while
// more matches exist, and strict ordering keeps results sorted by distance.
func (d *DB) Search(ctx context.Context, embedding []float32, k, efSearch int, f SearchFilter) ([]SearchHit, error) {
	if k < 1 || k > 1000 {
		return nil, fmt.Errorf("search: k is %d, want 1 to 1000", k) // written into the SQL, so checked here
	}
	g, err := d.handle(ctx)
	if err != nil {
		return nil, err
	}
	var hits []SearchHit
	err = g.Transaction(func(tx *gorm.DB) error {
		hits = nil
		if err := setSearchSession(tx, efSearch); err != nil {
			return err
		}
		sql, vars := searchSQL(tx, pgvector.NewVector(embedding), k, f)
		return tx.Raw(sql, vars...).Scan(&hits).Error
	})
	if err != nil {
		return nil, classify(err)
	}
	return hits, nil
}

// setSearchSession configures the search's transaction (set_config with
// is_local is SET LOCAL: safe behind a transaction pooler).
//
// The planner prices an HNSW scan by ef_search; past some value it silently
// prefers reading every chunk and sorting them, which is exact but scales
// with the corpus. Disabling sorts leaves the ordered HNSW scan as the only
// sensible plan. Iterative scans then keep reading the index until k rows
// pass the filter, up to max_scan_tuples (raised from pgvector's 20,000 so
// that a filter only a few sites pass still fills k). Custom plans are forced
// so a cached generic plan never replaces the one made for this query.
func setSearchSession(tx *gorm.DB, efSearch int) error {
	return tx.Exec(`SELECT set_config('hnsw.ef_search', ?, true),
		set_config('hnsw.iterative_scan', 'strict_order', true),
		set_config('hnsw.max_scan_tuples', '100000', true),
		set_config('enable_sort', 'off', true),
		set_config('plan_cache_mode', 'force_custom_plan', true)`, fmt.Sprint(efSearch)).Error
}

// searchSQL renders the search. The limit (checked by Search) is written into
// the text rather than bound: a generic plan for a prepared statement with a
// bound LIMIT is costed for an unknown row count, and the plan for "the k
// nearest" should never be chosen that way.
func searchSQL(tx *gorm.DB, vec pgvector.Vector, k int, f SearchFilter) (string, []any) {
	q := tx.Session(&gorm.Session{DryRun: true}).Table("site_chunks AS c").
		Select(`c.id AS chunk_id, c.chunk_index, c.content, 1 - (c.embedding <=> ?) AS score,
			s.id AS site_id, s.slug, s.name_en, s.name_zh, s.region, s.difficulty`, vec).
		Joins("JOIN dive_sites AS s ON s.id = c.site_id")
	q = whereSites(q, "s.", f.Region, f.Difficulty, f.Certifications, f.MaxDepthM)
	// gorm's Order ignores a gorm.Expr; an OrderBy clause carries the vector.
	stmt := q.Order(clause.OrderBy{Expression: clause.Expr{SQL: "c.embedding <=> ?", Vars: []any{vec}, WithoutParentheses: true}}).
		Find(&[]SearchHit{}).Statement
	return stmt.SQL.String() + " LIMIT " + strconv.Itoa(k), stmt.Vars
}

// ExplainSearch returns the plan of a search, for tests that check the
// query uses the HNSW index.
func (d *DB) ExplainSearch(ctx context.Context, embedding []float32, k, efSearch int, f SearchFilter) (string, error) {
	g, err := d.handle(ctx)
	if err != nil {
		return "", err
	}
	var plan []string
	err = g.Transaction(func(tx *gorm.DB) error {
		if err := setSearchSession(tx, efSearch); err != nil {
			return err
		}
		sql, vars := searchSQL(tx, pgvector.NewVector(embedding), k, f)
		return tx.Raw("EXPLAIN "+sql, vars...).Scan(&plan).Error
	})
	if err != nil {
		return "", classify(err)
	}
	out := ""
	for _, l := range plan {
		out += l + "\n"
	}
	return out, nil
}
