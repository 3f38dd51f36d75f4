package seeds_test

import (
	"context"
	"database/sql"
	"io/fs"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/data"
	"github.com/dovvydive/backend/database"
	"github.com/dovvydive/backend/database/dbtest"
	"github.com/dovvydive/backend/knowledge"
	"github.com/dovvydive/backend/knowledge/embedding"
	"github.com/dovvydive/backend/models"
	"github.com/dovvydive/backend/seeds"
)

func TestCorpus_IsAtLeastTwentyPlausibleMalaysianSites(t *testing.T) {
	operators, err := seeds.Operators()
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(operators), 5)
	known := map[string]bool{}
	for _, op := range operators {
		known[op.Slug] = true
	}

	names, err := fs.Glob(data.Sites(), "*.md")
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(names), 20)
	slugs := map[string]bool{}
	for _, name := range names {
		raw, err := fs.ReadFile(data.Sites(), name)
		require.NoError(t, err)
		doc, err := knowledge.ParseDocument(name, raw)
		require.NoError(t, err)
		s := doc.Site
		assert.Equal(t, s.Slug+".md", name, "one file per site, named by slug")
		assert.False(t, slugs[s.Slug], "duplicate slug %s", s.Slug)
		slugs[s.Slug] = true
		assert.Equal(t, models.SiteID(s.Slug), s.ID)
		assert.NotEmpty(t, s.NameZh, s.Slug)
		assert.NotEmpty(t, doc.Chinese, s.Slug)
		assert.GreaterOrEqual(t, strings.Count(doc.English, "\n\n")+1, 4, "%s: several paragraphs", s.Slug)
		assert.Contains(t, doc.English, "Safety", "%s: safety notes", s.Slug)
		// Malaysia, Layang-Layang included, lies within this box.
		assert.True(t, s.Latitude > 0.8 && s.Latitude < 7.5, "%s latitude %v", s.Slug, s.Latitude)
		assert.True(t, s.Longitude > 99.5 && s.Longitude < 119.5, "%s longitude %v", s.Slug, s.Longitude)
		assert.NotEmpty(t, s.MarineLife, s.Slug)
		for _, op := range doc.OperatorSlugs {
			assert.True(t, known[op], "%s: unknown operator %s", s.Slug, op)
		}
	}
	for _, slug := range []string{"sipadan-barracuda-point", "sipadan-drop-off", "mabul-paradise-reef", "kapalai-mandarin-valley",
		"layang-layang-hammerhead-point", "lankayan-jawfish-lair", "tioman-chebeh", "tioman-tiger-reef",
		"perhentian-tokong-laut", "aur-raynors-rock", "tenggol-tokong-timur", "labuan-cement-wreck", "tar-park-pulau-sapi"} {
		assert.True(t, slugs[slug], "missing %s", slug)
	}
}

func countRows(t *testing.T, db *sql.DB, table string) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow("SELECT count(*) FROM "+table).Scan(&n))
	return n
}

func TestLoad_TwiceChangesNothingTheSecondTime(t *testing.T) {
	t.Parallel()
	db, err := database.Open(context.Background(), dbtest.Config(dbtest.Migrated(t)), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer db.Close()
	raw := db.SQL()
	ctx := context.Background()

	first, err := seeds.Load(ctx, db, embedding.Hash{})
	require.NoError(t, err)
	assert.EqualValues(t, 6, first.Operators)
	assert.Equal(t, 22, first.Sites.Loaded)
	assert.Positive(t, first.Sites.Chunks)

	var stampBefore time.Time
	require.NoError(t, raw.QueryRow(`SELECT max(updated_at) FROM dive_sites`).Scan(&stampBefore))
	tables := []string{"dive_sites", "dive_operators", "dive_site_operators", "site_chunks", "site_documents"}
	counts := func() []int {
		var out []int
		for _, tb := range tables {
			out = append(out, countRows(t, raw, tb))
		}
		return out
	}
	before := counts()

	second, err := seeds.Load(ctx, db, embedding.Hash{})
	require.NoError(t, err)
	assert.Zero(t, second.Operators)
	assert.Equal(t, knowledge.Summary{Files: 22, Unchanged: 22}, second.Sites, "nothing loaded again")
	var stampAfter time.Time
	require.NoError(t, raw.QueryRow(`SELECT max(updated_at) FROM dive_sites`).Scan(&stampAfter))
	assert.Equal(t, stampBefore, stampAfter, "rows were not rewritten")
	assert.Equal(t, before, counts())

	var model string
	require.NoError(t, raw.QueryRow(`SELECT DISTINCT model FROM site_chunks`).Scan(&model))
	assert.Equal(t, embedding.HashModel, model)
}
