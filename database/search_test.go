package database_test

import (
	"context"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/database"
	"github.com/dovvydive/backend/database/dbtest"
	"github.com/dovvydive/backend/knowledge/embedding"
	"github.com/dovvydive/backend/models"
	"github.com/dovvydive/backend/seeds"
)

func corpusDB(t *testing.T) *database.DB {
	t.Helper()
	db := openDB(t, dbtest.Migrated(t))
	_, err := seeds.Load(context.Background(), db, embedding.Hash{})
	require.NoError(t, err)
	return db
}

func TestSearch_RanksChunksAboutHammerheadsFirst(t *testing.T) {
	t.Parallel()
	db := corpusDB(t)
	q, _ := embedding.Hash{}.EmbedQuery(context.Background(), "hammerhead sharks")
	hits, err := db.Search(context.Background(), q, 3, 100, models.SearchFilter{})
	require.NoError(t, err)
	require.Len(t, hits, 3)
	assert.Contains(t, strings.ToLower(hits[0].Content), "hammerhead")
	assert.Contains(t, []string{"layang-layang-hammerhead-point", "sipadan-south-point"}, hits[0].Slug)
	for i := 1; i < len(hits); i++ {
		assert.GreaterOrEqual(t, hits[i-1].Score, hits[i].Score, "best first")
	}
}

// crowdedDB holds 3,000 chunks of a Semporna site around one centre and 400
// of a Tioman site around another, so a query near the first centre filtered
// to Tioman needs more than ef_search candidates to find its k matches.
func crowdedDB(t *testing.T) (db *database.DB, query []float32) {
	t.Helper()
	db = corpusDB(t)
	r := rand.New(rand.NewPCG(1, 2))
	semporna, tioman := dbtest.RandomUnit(r), dbtest.RandomUnit(r)
	rows := func(n int, centre []float32) []models.ChunkRow {
		out := make([]models.ChunkRow, n)
		for i := range out {
			out[i] = models.ChunkRow{Index: i, Content: "synthetic", TokenCount: 1, ContentHash: "x", Embedding: dbtest.Near(r, centre, 0.02)}
		}
		return out
	}
	ctx := context.Background()
	require.NoError(t, db.ReplaceChunks(ctx, models.SiteID("sipadan-drop-off"), "h1", embedding.HashModel, rows(3000, semporna)))
	require.NoError(t, db.ReplaceChunks(ctx, models.SiteID("tioman-chebeh"), "h2", embedding.HashModel, rows(400, tioman)))
	_, err := db.SQL().Exec(`ANALYZE`)
	require.NoError(t, err)
	return db, dbtest.Near(r, semporna, 0.02)
}

func TestSearch_FilteredSearchStillReturnsKWhenMoreMatchExist(t *testing.T) {
	t.Parallel()
	db, q := crowdedDB(t)
	tioman := models.SearchFilter{Region: "Tioman"}
	plan, err := db.ExplainSearch(context.Background(), q, 10, 10, tioman)
	require.NoError(t, err)
	require.Contains(t, plan, "site_chunks_embedding_idx", "the filtered search goes through HNSW:\n%s", shortPlan(plan))
	hits, err := db.Search(context.Background(), q, 10, 10, tioman)
	require.NoError(t, err)
	assert.Len(t, hits, 10, "iterative index scan keeps going past ef_search candidates")
	for _, h := range hits {
		assert.Equal(t, "Tioman", h.Region)
	}

	// The control: the same query without iterative scans comes back short,
	// which is what this test guards against.
	tx, err := db.SQL().Begin()
	require.NoError(t, err)
	defer tx.Rollback()
	_, err = tx.Exec(`SELECT set_config('hnsw.ef_search', '10', true), set_config('hnsw.iterative_scan', 'off', true),
		set_config('enable_seqscan', 'off', true)`)
	require.NoError(t, err)
	var n int
	_, err = tx.Exec(`SELECT set_config('enable_sort', 'off', true)`)
	require.NoError(t, err)
	require.NoError(t, tx.QueryRow(`SELECT count(*) FROM (SELECT c.id FROM site_chunks c JOIN dive_sites s ON s.id = c.site_id
		WHERE lower(s.region) = 'tioman' ORDER BY c.embedding <=> $1::vector LIMIT 10) t`, vecText(q)).Scan(&n))
	assert.Less(t, n, 10)
}

func vecText(v []float32) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, x := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strings.TrimRight(strings.TrimRight(formatFloat(x), "0"), "."))
	}
	b.WriteByte(']')
	return b.String()
}

func formatFloat(x float32) string { return strconvFormat(float64(x)) }

// shortPlan drops the query vector from a plan, which is otherwise 768 numbers.
func shortPlan(plan string) string {
	var out []string
	for _, l := range strings.Split(plan, "\n") {
		if i := strings.Index(l, "'["); i >= 0 {
			l = l[:i] + "'[...]'"
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

func TestSearch_UsesTheHNSWIndexUpToTheHighestAllowedEfSearch(t *testing.T) {
	t.Parallel()
	db, q := crowdedDB(t)
	// Unfiltered and filtered: the index, at every ef_search up to the
	// configured maximum (400), never a scan and sort of every chunk.
	for _, ef := range []int{10, 100, 400} {
		for _, f := range []models.SearchFilter{{}, {Region: "Semporna"}, {Difficulty: "intermediate", MaxDepthM: 40}} {
			plan, err := db.ExplainSearch(context.Background(), q, 50, ef, f)
			require.NoError(t, err)
			assert.Contains(t, plan, "Index Scan using site_chunks_embedding_idx", "ef_search=%d filter=%+v:\n%s", ef, f, shortPlan(plan))
			assert.NotContains(t, plan, "Sort", "ef_search=%d filter=%+v", ef, f)
		}
	}
	// A filter few rows pass goes through the index too, and still fills k.
	plan, err := db.ExplainSearch(context.Background(), q, 20, 400, models.SearchFilter{Region: "Tioman"})
	require.NoError(t, err)
	assert.Contains(t, plan, "site_chunks_embedding_idx", shortPlan(plan))
	hits, err := db.Search(context.Background(), q, 20, 400, models.SearchFilter{Region: "Tioman"})
	require.NoError(t, err)
	assert.Len(t, hits, 20)
}

func TestReplaceChunks_CascadesWithTheSite(t *testing.T) {
	t.Parallel()
	db := corpusDB(t)
	id := models.SiteID("tioman-chebeh")
	chunks := func() int {
		var n int
		require.NoError(t, db.SQL().QueryRow(`SELECT count(*) FROM site_chunks WHERE site_id = $1`, id).Scan(&n))
		return n
	}
	require.Positive(t, chunks(), "the site has chunks to cascade")
	_, err := db.SQL().Exec(`DELETE FROM dive_sites WHERE id = $1`, id)
	require.NoError(t, err)
	assert.Zero(t, chunks())
}

func strconvFormat(f float64) string { return strconv.FormatFloat(f, 'f', 8, 64) }
