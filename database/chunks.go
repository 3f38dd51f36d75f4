package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/dovvydive/backend/models"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pgvector/pgvector-go"
	pgxvec "github.com/pgvector/pgvector-go/pgx"
)

// SiteDocument reports the stored hash and model of a site's document.
func (d *DB) SiteDocument(ctx context.Context, siteID uuid.UUID) (models.DocumentState, error) {
	var st models.DocumentState
	err := d.readPgx(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		st = models.DocumentState{}
		err := conn.QueryRow(ctx, `SELECT content_hash, model FROM site_documents WHERE site_id = $1`, siteID).
			Scan(&st.ContentHash, &st.Model)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		st.Found = err == nil
		return err
	})
	return st, err
}

// ReplaceChunks swaps a site's chunks for new ones in one transaction, so a
// search sees either the old set or the new one. Rows are written with COPY;
// a Chinese chunk is stored with its Han bigrams, which text search matches.
func (d *DB) ReplaceChunks(ctx context.Context, siteID uuid.UUID, docHash, model string, chunks []models.ChunkRow) error {
	return withPgxOn(ctx, d.sql.Load(), func(ctx context.Context, conn *pgx.Conn) error {
		if err := pgxvec.RegisterTypes(ctx, conn); err != nil {
			return fmt.Errorf("register vector type: %w", err)
		}
		return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `DELETE FROM site_chunks WHERE site_id = $1`, siteID); err != nil {
				return err
			}
			rows := make([][]any, len(chunks))
			for i, c := range chunks {
				lang, bigrams := c.Language, []string{}
				switch lang {
				case "", "en":
					lang = "en"
				case "zh":
					bigrams = append(bigrams, hanBigrams(c.Content)...) // never nil: the column is NOT NULL
				default:
					return fmt.Errorf("chunk %d: language %q, want en or zh", c.Index, c.Language)
				}
				rows[i] = []any{siteID, c.Index, lang, c.Content, bigrams, c.TokenCount, c.ContentHash, model,
					pgvector.NewVector(c.Embedding)}
			}
			_, err := tx.CopyFrom(ctx, pgx.Identifier{"site_chunks"},
				[]string{"site_id", "chunk_index", "language", "content", "bigrams", "token_count", "content_hash", "model", "embedding"},
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

// withPgxOn runs f on one connection of pool as a native pgx connection, for
// what database/sql cannot do (COPY, pipelined batches).
func withPgxOn(ctx context.Context, pool *sql.DB, f func(context.Context, *pgx.Conn) error) error {
	if pool == nil {
		return models.ErrUnavailable
	}
	conn, err := pool.Conn(ctx)
	if err != nil {
		return classify(err)
	}
	defer conn.Close()
	err = conn.Raw(func(driverConn any) error {
		return f(ctx, driverConn.(*stdlib.Conn).Conn())
	})
	return classify(err)
}

// EmbeddingModels lists the models that made the stored chunk vectors, from
// site_documents (one row per site, written with its chunks) rather than
// scanning every chunk.
func (d *DB) EmbeddingModels(ctx context.Context) ([]string, error) {
	var models []string
	err := d.readPgx(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, `SELECT DISTINCT model FROM site_documents ORDER BY model`)
		if err != nil {
			return err
		}
		models, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
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

// Search returns the k chunks nearest to embedding by cosine distance,
// through the HNSW index. efSearch sets the index's candidate list; iterative
// index scans keep filtered searches from returning fewer than k rows while
// more matches exist, and strict ordering keeps results sorted by distance.
//
// efSearch 0 picks EfSearchFor the corpus's size.
//
// At most the configured number of searches run at once (see searchLimiter);
// the rest wait within ctx and fail with ErrBusy when it ends.
func (d *DB) Search(ctx context.Context, embedding []float32, k, efSearch int, f models.SearchFilter) ([]models.SearchHit, error) {
	if k < 1 || k > 1000 {
		return nil, fmt.Errorf("search: k is %d, want 1 to 1000", k) // written into the SQL, so checked here
	}
	if efSearch <= 0 { // automatic: sized to the corpus (before taking a slot: it may read pg_class)
		efSearch = EfSearchFor(d.corpusSize(ctx))
	}
	release, err := d.searches.acquire(ctx)
	if err != nil {
		countError(err)
		return nil, err
	}
	defer release()
	start := time.Now()
	query, args := searchSQL(pgvector.NewVector(embedding), k, f)
	hits := make([]models.SearchHit, 0, k)
	// Knowledge search may lag the primary slightly: a replica serves it.
	err = d.readStalePgx(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		hits = hits[:0]
		return inSearchTx(ctx, conn, efSearch, query, args, func(rows pgx.Rows) error {
			var h models.SearchHit
			_, err := pgx.ForEachRow(rows, []any{&h.ChunkID, &h.ChunkIndex, &h.Language, &h.Content, &h.Score, &h.SiteID,
				&h.Slug, &h.NameEn, &h.NameZh, &h.Region, &h.Difficulty}, func() error {
				hits = append(hits, h)
				return nil
			})
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	d.searches.seconds.Observe(time.Since(start).Seconds())
	return hits, nil
}

// SearchSettings configures a search's transaction (set_config with is_local
// is SET LOCAL: safe behind a transaction pooler).
//
// The planner prices an HNSW scan by ef_search; past some value it silently
// prefers reading every chunk and sorting them, which is exact but scales
// with the corpus. Disabling sorts leaves the ordered HNSW scan as the only
// sensible plan. Iterative scans then keep reading the index until k rows
// pass the filter, up to max_scan_tuples (raised from pgvector's 20,000 so
// that a filter only a few sites pass still fills k). Custom plans are forced
// so a cached generic plan never replaces the one made for this query.
const SearchSettings = `SELECT set_config('hnsw.ef_search', $1, true),
	set_config('hnsw.iterative_scan', 'strict_order', true),
	set_config('hnsw.max_scan_tuples', '100000', true),
	set_config('enable_sort', 'off', true),
	set_config('plan_cache_mode', 'force_custom_plan', true)`

// inSearchTx runs query inside a transaction carrying SearchSettings, sent as
// one pipelined batch: BEGIN, the settings, the query and COMMIT cost one
// round trip instead of four, which is most of a search's cost when the
// database is not the bottleneck.
func inSearchTx(ctx context.Context, conn *pgx.Conn, efSearch int, query string, args []any, scan func(pgx.Rows) error) error {
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(SearchSettings, strconv.Itoa(efSearch))
	b.Queue(query, args...).Query(scan)
	b.Queue("COMMIT")
	err := conn.SendBatch(ctx, b).Close()
	if err != nil && conn.PgConn().TxStatus() != 'I' && !conn.IsClosed() {
		// A failed statement leaves the transaction aborted; end it so the
		// connection goes back to the pool clean.
		rbCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		if _, rbErr := conn.Exec(rbCtx, "ROLLBACK"); rbErr != nil {
			_ = conn.Close(rbCtx) // database/sql drops it: stdlib reports closed connections as bad
		}
	}
	return err
}

// searchSQL renders the search: the one builder used by Search, ExplainSearch
// and the benchmarks. It is hand-written rather than built by GORM because it
// runs on every search and GORM's statement building was a visible share of
// its CPU profile. The limit (checked by Search) is written into the text
// rather than bound: a generic plan for a prepared statement with a bound
// LIMIT is costed for an unknown row count, and the plan for "the k nearest"
// should never be chosen that way.
func searchSQL(vec pgvector.Vector, k int, f models.SearchFilter) (string, []any) {
	var sb strings.Builder
	args := []any{vec}
	sb.WriteString(`SELECT c.id, c.chunk_index, c.language, c.content, 1 - (c.embedding <=> $1) AS score,
	s.id, s.slug, s.name_en, s.name_zh, s.region, s.difficulty
FROM site_chunks AS c JOIN dive_sites AS s ON s.id = c.site_id`)
	sep := "\nWHERE "
	// cond adds a condition whose one placeholder ($%d) is the next
	// argument's number: pgx's $n, as every hand-written statement here.
	cond := func(sql string, v any) {
		args = append(args, v)
		sb.WriteString(sep)
		fmt.Fprintf(&sb, sql, len(args))
		sep = " AND "
	}
	if f.Region != "" {
		cond("lower(s.region) = lower($%d)", f.Region)
	}
	if f.State != "" {
		cond("lower(s.state) = lower($%d)", f.State)
	}
	if f.Difficulty != "" {
		cond("s.difficulty = $%d", f.Difficulty)
	}
	if len(f.Certifications) > 0 {
		cond("s.min_certification = ANY($%d)", f.Certifications)
	}
	if f.MaxDepthM > 0 {
		cond("s.max_depth_m <= $%d", f.MaxDepthM)
	}
	sb.WriteString("\nORDER BY c.embedding <=> $1 LIMIT ")
	sb.WriteString(strconv.Itoa(k))
	return sb.String(), args
}

// SearchSQL exposes the search statement and its arguments, for benchmarks
// that compare it with other ways of running it.
func SearchSQL(embedding []float32, k int, f models.SearchFilter) (string, []any) {
	return searchSQL(pgvector.NewVector(embedding), k, f)
}

// ExplainSearch returns the plan of a search, for tests that check the
// query uses the HNSW index.
func (d *DB) ExplainSearch(ctx context.Context, embedding []float32, k, efSearch int, f models.SearchFilter) (string, error) {
	query, args := searchSQL(pgvector.NewVector(embedding), k, f)
	var out strings.Builder
	err := d.readPgx(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		out.Reset()
		return inSearchTx(ctx, conn, efSearch, "EXPLAIN "+query, args, func(rows pgx.Rows) error {
			var line string
			_, err := pgx.ForEachRow(rows, []any{&line}, func() error {
				out.WriteString(line + "\n")
				return nil
			})
			return err
		})
	})
	return out.String(), err
}

// EfSearchFor is the HNSW candidate list that keeps recall@10 at or above
// 0.95 for a corpus of n chunks, at the lowest latency measured (make
// bench-search, BENCH_EF; each build of the graph differs, so three builds):
//   - up to 100,000 chunks, 60: recall@10 0.970, 0.989 and 0.990 there,
//     against 0.939–0.979 at 40 and 0.970–0.989 at 50; each step up costs
//     latency (one client, p50: 1.36 ms at 60, 1.88–2.19 ms at 100);
//   - at 1,000,000, 400 (recall@10 0.954; 0.916 at 200, 0.876 at 100; make
//     bench-search-1m), and no further: 400 is the highest value whose plans
//     are tested to keep using the index;
//   - in between, growing geometrically with the corpus from one to the other.
func EfSearchFor(n int64) int {
	const small, large = 60, 400 // at 1e5 and 1e6 chunks
	if n <= 100_000 {
		return small
	}
	ef := small * math.Pow(float64(large)/small, math.Log10(float64(n)/100_000))
	return int(min(large, math.Ceil(ef)))
}

// corpusSize estimates the chunks stored, from the planner's statistics (no
// scan). It is cached for five minutes and refreshed by the search that
// finds it stale, so an idle service queries nothing.
func (d *DB) corpusSize(ctx context.Context) int64 {
	c := d.corpus.Load()
	if c != nil && time.Since(c.at) < 5*time.Minute {
		return c.n
	}
	var n float64
	err := d.readPgx(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		return conn.QueryRow(ctx, `SELECT reltuples FROM pg_class WHERE oid = 'site_chunks'::regclass`).Scan(&n)
	})
	if err != nil {
		if c != nil {
			return c.n
		}
		return 0
	}
	size := int64(max(n, 0)) // -1: never analysed; small enough
	d.corpus.Store(&corpusEstimate{n: size, at: time.Now()})
	return size
}

type corpusEstimate struct {
	n  int64
	at time.Time
}
