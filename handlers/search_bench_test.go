package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pgvector/pgvector-go"
	pgxvec "github.com/pgvector/pgvector-go/pgx"
	"github.com/stretchr/testify/require"
	vegeta "github.com/tsenart/vegeta/v12/lib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/dovvydive/backend/database"
	"github.com/dovvydive/backend/database/dbtest"
	"github.com/dovvydive/backend/handlers"
	"github.com/dovvydive/backend/knowledge/embedding"
	"github.com/dovvydive/backend/models"
	"github.com/dovvydive/backend/seeds"
)

// BenchmarkSearchCorpus measures knowledge search on a synthetic corpus of
// BENCH_CHUNKS chunks (default 100,000) whose vectors have the structure of
// real embeddings: drawn around 1,000 cluster centres, then normalised.
// Uniform random vectors would make every point nearly equidistant and any
// approximate index look broken. It reports:
//   - ingestion throughput of the COPY path (ReplaceChunks) against a plain
//     GORM batch insert of the same rows, and the HNSW build time;
//   - recall@5 and recall@10 of the search against exact search over 100
//     queries, at several ef_search values;
//   - requests per second and p50/p99 of POST /api/v1/search under load, next
//     to the same SQL run straight through pgx (the database floor).
//
// Run with `make bench-search`; it takes several minutes.
func BenchmarkSearchCorpus(b *testing.B) {
	gin.SetMode(gin.ReleaseMode)
	ctx := context.Background()
	n := benchEnv("BENCH_CHUNKS", 100_000)
	dsn := dbtest.Migrated(b)
	db, err := database.Open(ctx, dbtest.Config(dsn), slog.New(slog.DiscardHandler))
	require.NoError(b, err)
	b.Cleanup(func() { db.Close() })
	_, err = seeds.Load(ctx, db, embedding.Hash{})
	require.NoError(b, err)
	exec := func(sql string) {
		_, err := db.SQL().Exec(sql)
		require.NoError(b, err)
	}

	r := rand.New(rand.NewPCG(7, 11))
	centres := make([][]float32, 1000)
	for i := range centres {
		centres[i] = dbtest.RandomUnit(r)
	}
	point := func() []float32 { return dbtest.Near(r, centres[r.IntN(len(centres))], 0.02) }
	vectors := make([][]float32, n)
	for i := range vectors {
		vectors[i] = point()
	}
	siteDocs := siteIDs(b, db)

	for b.Loop() {
		// 1. Ingestion: COPY (the ingest path, one transaction per site) against
		// GORM batch inserts, both without the index so only writing is timed.
		exec(`DROP INDEX site_chunks_embedding_idx`)
		exec(`TRUNCATE site_chunks`)
		perSite := make(map[uuid.UUID][]models.ChunkRow)
		for i, v := range vectors {
			site := siteDocs[i%len(siteDocs)]
			perSite[site] = append(perSite[site], models.ChunkRow{Index: len(perSite[site]), Content: fmt.Sprintf("synthetic chunk %d", i),
				TokenCount: 3, ContentHash: "bench", Embedding: v})
		}
		began := time.Now()
		for site, rows := range perSite {
			require.NoError(b, db.ReplaceChunks(ctx, site, "bench", embedding.HashModel, rows))
		}
		copyTime := time.Since(began)

		skipGORM := benchEnv("BENCH_SKIP_GORM", 0) != 0
		if !skipGORM {
			exec(`TRUNCATE site_chunks`)
		}
		gdb, err := gorm.Open(postgres.New(postgres.Config{Conn: db.SQL()}), &gorm.Config{Logger: logger.Discard, DisableAutomaticPing: true})
		require.NoError(b, err)
		batch := make([]benchChunk, 0, n)
		for site, rows := range perSite {
			if skipGORM {
				break
			}
			for _, c := range rows {
				batch = append(batch, benchChunk{SiteID: site, ChunkIndex: c.Index, Content: c.Content, TokenCount: c.TokenCount,
					ContentHash: c.ContentHash, Model: embedding.HashModel, Embedding: pgvector.NewVector(c.Embedding)})
			}
		}
		b.ReportMetric(float64(n)/copyTime.Seconds(), "copy-rows/s")
		if !skipGORM {
			began = time.Now()
			require.NoError(b, gdb.CreateInBatches(batch, 1000).Error)
			gormTime := time.Since(began)
			b.ReportMetric(float64(n)/gormTime.Seconds(), "gorm-rows/s")
			b.Logf("ingestion of %d chunks: COPY %s (%.0f rows/s), GORM batches of 1000 %s (%.0f rows/s): COPY is %.1fx faster",
				n, copyTime.Round(time.Millisecond), float64(n)/copyTime.Seconds(), gormTime.Round(time.Millisecond),
				float64(n)/gormTime.Seconds(), gormTime.Seconds()/copyTime.Seconds())
		} else {
			// At a million rows the GORM comparison costs minutes and tells
			// nothing new: ingestion uses COPY.
			b.Logf("ingestion of %d chunks: COPY %s (%.0f rows/s)", n, copyTime.Round(time.Millisecond), float64(n)/copyTime.Seconds())
		}

		// 2. The HNSW build, with room for the graph in this session only.
		began = time.Now()
		tx, err := db.SQL().BeginTx(ctx, nil)
		require.NoError(b, err)
		mwm := benchEnvString("BENCH_MAINTENANCE_WORK_MEM", "1GB")
		_, err = tx.Exec(`SELECT set_config('maintenance_work_mem', $1, true), set_config('max_parallel_maintenance_workers', '2', true)`, mwm)
		require.NoError(b, err)
		_, err = tx.Exec(`CREATE INDEX site_chunks_embedding_idx ON site_chunks USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)`)
		require.NoError(b, err)
		require.NoError(b, tx.Commit())
		buildTime := time.Since(began)
		exec(`ANALYZE site_chunks`)
		b.ReportMetric(buildTime.Seconds(), "hnsw-build-s")
		b.Logf("HNSW build (m=16, ef_construction=64, maintenance_work_mem=%s, 2 parallel workers): %s", mwm, buildTime.Round(time.Millisecond))

		// 3. Recall against exact search.
		queries := make([][]float32, benchEnv("BENCH_QUERIES", 100))
		for i := range queries {
			queries[i] = point()
		}
		exact := make([][]int64, len(queries))
		for i, q := range queries {
			exact[i] = exactTop(b, db, q, 10)
		}
		var efs []int // BENCH_EF="40,60,80": the ef_search values to measure
		for _, f := range strings.Split(benchEnvString("BENCH_EF", "40,100,200,400,600,800,1000"), ",") {
			ef, err := strconv.Atoi(strings.TrimSpace(f))
			require.NoError(b, err, "BENCH_EF")
			efs = append(efs, ef)
		}
		for _, ef := range efs {
			var r5, r10 float64
			var took []time.Duration
			for i, q := range queries {
				t0 := time.Now()
				hits, err := db.Search(ctx, q, 10, ef, models.SearchFilter{})
				took = append(took, time.Since(t0))
				require.NoError(b, err)
				got := make([]int64, len(hits))
				for j, h := range hits {
					got[j] = h.ChunkID
				}
				r5 += overlap(got[:min(5, len(got))], exact[i][:5]) / 5
				r10 += overlap(got, exact[i]) / 10
			}
			r5, r10 = r5/float64(len(queries)), r10/float64(len(queries))
			b.ReportMetric(r10, fmt.Sprintf("recall@10-ef%d", ef))
			slices.Sort(took)
			var sum time.Duration
			for _, d := range took {
				sum += d
			}
			b.Logf("ef_search=%d: recall@5 %.3f, recall@10 %.3f (%d queries); one client: mean %s, p50 %s, p99 %s",
				ef, r5, r10, len(queries), (sum / time.Duration(len(took))).Round(time.Microsecond),
				took[len(took)/2].Round(time.Microsecond), took[len(took)*99/100].Round(time.Microsecond))
		}

		// 4. Speed: the same SQL straight through pgx, the API under load, then
		// pgx again, so that cache warm-up cannot favour either side.
		floorBefore := loadSearchFloor(b, dsn, queries)
		api := loadSearchAPI(b, db, queries)
		floor := loadSearchFloor(b, dsn, queries)
		b.Logf("database floor before the API run: %.0f req/s, p50 %s, p99 %s",
			floorBefore.rps, floorBefore.p50.Round(time.Microsecond), floorBefore.p99.Round(time.Microsecond))
		b.ReportMetric(api.rps, "api-req/s")
		b.ReportMetric(api.p99.Seconds()*1000, "api-p99-ms")
		b.ReportMetric(floor.rps, "floor-req/s")
		b.Logf("POST /api/v1/search (ef_search=100, k=10, %d workers, %s): %.0f req/s, p50 %s, p99 %s, %d errors",
			searchWorkers, searchDuration, api.rps, api.p50.Round(time.Microsecond), api.p99.Round(time.Microsecond), api.errors)
		b.Logf("database floor after it (same SQL through pgx, 20 connections, %d workers): %.0f req/s, p50 %s, p99 %s; API/floor = %.2f",
			searchWorkers, floor.rps, floor.p50.Round(time.Microsecond), floor.p99.Round(time.Microsecond), api.rps/floor.rps)
	}
}

const (
	searchWorkers  = 32
	searchDuration = 10 * time.Second
)

type benchChunk struct {
	SiteID      uuid.UUID `gorm:"type:uuid"`
	ChunkIndex  int
	Content     string
	TokenCount  int
	ContentHash string
	Model       string
	Embedding   pgvector.Vector `gorm:"type:vector(768)"`
}

func (benchChunk) TableName() string { return "site_chunks" }

func siteIDs(b *testing.B, db *database.DB) []uuid.UUID {
	b.Helper()
	rows, err := db.SQL().Query(`SELECT id FROM dive_sites ORDER BY slug`)
	require.NoError(b, err)
	defer rows.Close()
	var ids []uuid.UUID
	for rows.Next() {
		var id uuid.UUID
		require.NoError(b, rows.Scan(&id))
		ids = append(ids, id)
	}
	return ids
}

// exactTop is the true top k by cosine distance: a sequential scan and sort.
func exactTop(b *testing.B, db *database.DB, q []float32, k int) []int64 {
	b.Helper()
	tx, err := db.SQL().Begin()
	require.NoError(b, err)
	defer tx.Rollback()
	_, err = tx.Exec(`SET LOCAL enable_indexscan = off`)
	require.NoError(b, err)
	rows, err := tx.Query(`SELECT id FROM site_chunks ORDER BY embedding <=> $1 LIMIT $2`, pgvector.NewVector(q), k)
	require.NoError(b, err)
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		require.NoError(b, rows.Scan(&id))
		ids = append(ids, id)
	}
	return ids
}

func overlap(got, want []int64) float64 {
	n := 0
	for _, g := range got {
		if slices.Contains(want, g) {
			n++
		}
	}
	return float64(n)
}

type loadResult struct {
	rps      float64
	p50, p99 time.Duration
	errors   int
}

func loadSearchAPI(b *testing.B, db *database.DB, queries [][]float32) loadResult {
	b.Helper()
	router, err := testRouter(serverConfig{RouterConfig: handlers.RouterConfig{
		Log:            slog.New(slog.NewJSONHandler(discard{}, nil)),
		RequestTimeout: 10 * time.Second, MaxBodyBytes: 1 << 20,
	}, Embedder: embedding.Hash{}, EfSearch: 100}, db)
	require.NoError(b, err)
	srv := httptest.NewServer(router)
	defer srv.Close()
	targets := make([]vegeta.Target, len(queries))
	for i, q := range queries {
		body, _ := json.Marshal(map[string]any{"embedding": q, "k": 10})
		targets[i] = vegeta.Target{Method: http.MethodPost, URL: srv.URL + "/api/v1/search", Body: body,
			Header: http.Header{"Content-Type": []string{"application/json"}}}
	}
	attacker := vegeta.NewAttacker(vegeta.Workers(searchWorkers), vegeta.MaxWorkers(searchWorkers), vegeta.KeepAlive(true),
		vegeta.Connections(searchWorkers), vegeta.Timeout(10*time.Second))
	var m vegeta.Metrics
	for res := range attacker.Attack(vegeta.NewStaticTargeter(targets...), vegeta.Rate{Freq: 0}, searchDuration, "search") {
		m.Add(res)
	}
	m.Close()
	return loadResult{rps: m.Throughput, p50: m.Latencies.P50, p99: m.Latencies.P99, errors: len(m.Errors) + int(m.Requests) - m.StatusCodes["200"]}
}

// loadSearchFloor runs the search's SQL straight through a pgx pool of the
// application's size: no HTTP, JSON or ORM.
func loadSearchFloor(b *testing.B, dsn string, queries [][]float32) loadResult {
	b.Helper()
	cfg, err := pgxpool.ParseConfig(dsn)
	require.NoError(b, err)
	cfg.MaxConns = 20
	cfg.AfterConnect = pgxvec.RegisterTypes
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(b, err)
	defer pool.Close()
	var mu sync.Mutex
	var latencies []time.Duration
	deadline := time.Now().Add(searchDuration)
	var wg sync.WaitGroup
	began := time.Now()
	for w := range searchWorkers {
		wg.Go(func() {
			var local []time.Duration
			for i := w; time.Now().Before(deadline); i++ {
				t0 := time.Now()
				err := pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error {
					if _, err := tx.Exec(context.Background(), database.SearchSettings, "100"); err != nil {
						return err
					}
					sql, args := database.SearchSQL(queries[i%len(queries)], 10, models.SearchFilter{})
					rows, err := tx.Query(context.Background(), sql, args...)
					if err != nil {
						return err
					}
					for rows.Next() {
					}
					rows.Close()
					return rows.Err()
				})
				if err == nil {
					local = append(local, time.Since(t0))
				}
			}
			mu.Lock()
			latencies = append(latencies, local...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(began)
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	if len(latencies) == 0 {
		return loadResult{}
	}
	return loadResult{rps: float64(len(latencies)) / elapsed.Seconds(),
		p50: latencies[len(latencies)/2], p99: latencies[len(latencies)*99/100]}
}
