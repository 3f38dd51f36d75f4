package seeds_test

import (
	"context"
	"database/sql"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/database"
	"github.com/dovvydive/backend/database/dbtest"
	"github.com/dovvydive/backend/models"
	"github.com/dovvydive/backend/seeds"
)

func TestData_IsAtLeastTwentyPlausibleMalaysianSites(t *testing.T) {
	operators, sites, err := seeds.Data()
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(sites), 20)
	assert.GreaterOrEqual(t, len(operators), 5)

	slugs := map[string]bool{}
	for _, s := range sites {
		assert.False(t, slugs[s.Slug], "duplicate slug %s", s.Slug)
		slugs[s.Slug] = true
		assert.Equal(t, seeds.SiteID(s.Slug), s.ID)
		assert.NotEmpty(t, s.NameEn, s.Slug)
		assert.NotEmpty(t, s.NameZh, s.Slug)
		assert.Greater(t, len(s.DescriptionEn), 100, s.Slug)
		assert.NotEmpty(t, s.DescriptionZh, s.Slug)
		// Malaysia, Layang-Layang included, lies within this box.
		assert.True(t, s.Latitude > 0.8 && s.Latitude < 7.5, "%s latitude %v", s.Slug, s.Latitude)
		assert.True(t, s.Longitude > 99.5 && s.Longitude < 119.5, "%s longitude %v", s.Slug, s.Longitude)
		assert.LessOrEqual(t, s.MinDepthM, s.MaxDepthM, s.Slug)
		assert.Contains(t, models.Difficulties, s.Difficulty, s.Slug)
		assert.Contains(t, models.CertificationLevels, s.MinCertification, s.Slug)
		assert.NotEmpty(t, s.MarineLife, s.Slug)
		for _, m := range s.BestMonths {
			assert.True(t, m >= 1 && m <= 12, s.Slug)
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
	dsn := dbtest.Migrated(t)
	db, err := database.Open(context.Background(), dbtest.Config(dsn), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer db.Close()
	raw := db.SQL()
	ctx := context.Background()

	first, err := seeds.Load(ctx, db)
	require.NoError(t, err)
	_, sites, _ := seeds.Data()
	assert.EqualValues(t, len(sites), first.Sites)
	assert.EqualValues(t, 6, first.Operators)

	var stampBefore time.Time
	require.NoError(t, raw.QueryRow(`SELECT max(updated_at) FROM dive_sites`).Scan(&stampBefore))
	counts := []int{countRows(t, raw, "dive_sites"), countRows(t, raw, "dive_operators"), countRows(t, raw, "dive_site_operators")}

	second, err := seeds.Load(ctx, db)
	require.NoError(t, err)
	assert.Equal(t, database.UpsertResult{}, second, "nothing inserted or changed")
	var stampAfter time.Time
	require.NoError(t, raw.QueryRow(`SELECT max(updated_at) FROM dive_sites`).Scan(&stampAfter))
	assert.Equal(t, stampBefore, stampAfter, "rows were not rewritten")
	assert.Equal(t, counts, []int{countRows(t, raw, "dive_sites"), countRows(t, raw, "dive_operators"), countRows(t, raw, "dive_site_operators")})
}

func TestLoad_RestoresEditedRowsAndLinks(t *testing.T) {
	t.Parallel()
	dsn := dbtest.Migrated(t)
	db, err := database.Open(context.Background(), dbtest.Config(dsn), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer db.Close()
	ctx := context.Background()
	_, err = seeds.Load(ctx, db)
	require.NoError(t, err)

	id := seeds.SiteID("sipadan-barracuda-point")
	_, err = db.SQL().Exec(`UPDATE dive_sites SET max_depth_m = 12 WHERE id = $1`, id)
	require.NoError(t, err)
	_, err = db.SQL().Exec(`DELETE FROM dive_site_operators WHERE site_id = $1`, id)
	require.NoError(t, err)

	res, err := seeds.Load(ctx, db)
	require.NoError(t, err)
	assert.EqualValues(t, 1, res.Sites)
	assert.EqualValues(t, 3, res.Links)
	site, err := db.GetDiveSite(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, 40, site.MaxDepthM)
	names := []string{}
	for _, op := range site.Operators {
		names = append(names, op.Slug)
	}
	slices.Sort(names)
	assert.Equal(t, []string{"borneo-divers", "scuba-junkie-semporna", "seaventures-dive-rig"}, names)
}
