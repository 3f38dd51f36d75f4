package database_test

import (
	"context"
	"strings"
	"testing"

	"github.com/dovvydive/backend/models"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTextSearch_FindsSitesByEnglishWordsChineseNamesAndMisspellings(t *testing.T) {
	t.Parallel()
	db := corpusDB(t)
	ctx := context.Background()
	cases := []struct {
		query string
		top   []string // the best hit's slug is one of these
	}{
		{"Where can I see schooling hammerhead sharks?", []string{"layang-layang-hammerhead-point", "layang-layang-shark-cave"}},
		{"诗巴丹", []string{"sipadan-barracuda-point", "sipadan-drop-off", "sipadan-hanging-gardens", "sipadan-south-point", "sipadan-turtle-cavern"}},
		{"我想去诗巴丹看海龟", []string{"sipadan-barracuda-point", "sipadan-drop-off", "sipadan-hanging-gardens", "sipadan-south-point", "sipadan-turtle-cavern"}},
		{"sipadn barracuda", []string{"sipadan-barracuda-point"}},
		{"sipadn", []string{"sipadan-barracuda-point", "sipadan-drop-off", "sipadan-hanging-gardens", "sipadan-south-point", "sipadan-turtle-cavern"}},
		{"热浪岛", []string{"redang-pulau-lima", "redang-tanjung-tokong"}},
		{"sugar wreck in the Perhentians", []string{"perhentian-sugar-wreck"}},
	}
	for _, c := range cases {
		hits, err := db.TextSearch(ctx, c.query, nil, 10, models.SearchFilter{})
		require.NoError(t, err, c.query)
		require.NotEmpty(t, hits, c.query)
		assert.Contains(t, c.top, hits[0].Slug, c.query)
		for i := 1; i < len(hits); i++ {
			assert.GreaterOrEqual(t, hits[i-1].Score, hits[i].Score, "%s: best first", c.query)
		}
		assert.NotEmpty(t, hits[0].Content)
		assert.LessOrEqual(t, len(hits), 10)
	}

	hits, err := db.TextSearch(ctx, "hammerhead", nil, 5, models.SearchFilter{})
	require.NoError(t, err)
	for _, h := range hits {
		assert.Contains(t, strings.ToLower(h.Content), "hammerhead")
	}
	// Nothing to match (stop words, punctuation, quotes) is an empty list, not an error.
	for _, q := range []string{"where is the best dive site?", "'; DROP TABLE site_chunks; --", "", `\'`, strings.Repeat("诗", 2000)} {
		_, err := db.TextSearch(ctx, q, nil, 5, models.SearchFilter{})
		require.NoError(t, err, q)
	}
}

func TestPlannerSites_ReturnsEverySiteWithItsOperators(t *testing.T) {
	t.Parallel()
	db := corpusDB(t)
	sites, err := db.PlannerSites(context.Background())
	require.NoError(t, err)
	links := 0
	for _, s := range sites {
		assert.NotEmpty(t, s.NameZh, s.Slug)
		links += len(s.Operators)
	}
	var wantSites, wantLinks int
	require.NoError(t, db.SQL().QueryRow(`SELECT (SELECT count(*) FROM dive_sites), (SELECT count(*) FROM dive_site_operators)`).
		Scan(&wantSites, &wantLinks))
	assert.Len(t, sites, wantSites)
	assert.Positive(t, links)
	assert.Equal(t, wantLinks, links, "every site's operators are loaded")
}

func TestTextSearch_LongChineseQueryCutMidCharacterIsStillValid(t *testing.T) {
	t.Parallel()
	db := corpusDB(t)
	_, err := db.TextSearch(context.Background(), strings.Repeat("潜", 1500), nil, 5, models.SearchFilter{}) // 4,500 bytes: the cut lands inside a character
	require.NoError(t, err)
}
