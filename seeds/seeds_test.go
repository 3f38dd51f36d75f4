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
	"github.com/dovvydive/backend/planner"
	"github.com/dovvydive/backend/seeds"
)

func TestCorpus_IsAtLeastFortyPlausibleMalaysianSites(t *testing.T) {
	operators, err := seeds.Operators()
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(operators), 5)
	known := map[string]bool{}
	for _, op := range operators {
		assert.False(t, known[op.Slug], "duplicate operator %s", op.Slug)
		known[op.Slug] = true
		assert.NotEmpty(t, op.Name, op.Slug)
		assert.NotEmpty(t, op.Description, op.Slug)
	}

	names, err := fs.Glob(data.Sites(), "*.md")
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(names), 40)
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
		assert.NotEmpty(t, s.BestMonths, "%s: the planner filters by season", s.Slug)
		for _, op := range doc.OperatorSlugs {
			assert.True(t, known[op], "%s: unknown operator %s", s.Slug, op)
		}
	}
	for _, slug := range []string{"sipadan-barracuda-point", "sipadan-drop-off", "mabul-paradise-reef", "kapalai-mandarin-valley",
		"layang-layang-hammerhead-point", "lankayan-jawfish-lair", "tioman-chebeh", "tioman-tiger-reef",
		"perhentian-tokong-laut", "aur-raynors-rock", "tenggol-tokong-timur", "labuan-cement-wreck", "tar-park-pulau-sapi",
		"si-amil-island", "mantabuan-island", "pom-pom-mandarin-playground", "sipadan-turtle-cavern", "mantanani-besar-reefs",
		"payar-coral-garden", "lang-tengah-batu-kuching", "miri-siwa-reef", "miri-eves-garden", "sibu-besar-reefs"} {
		assert.True(t, slugs[slug], "missing %s", slug)
	}
}

func TestCorpus_EverySiteIsServedByAnOperator(t *testing.T) {
	docs, err := seeds.Sites()
	require.NoError(t, err)
	require.NotEmpty(t, docs)
	for _, doc := range docs {
		assert.NotEmpty(t, doc.OperatorSlugs, "%s: a diver needs someone to dive it with", doc.Site.Slug)
	}
}

// Sites deeper than a recreational Open Water profile, or known for current
// and depth, must not be offered to Open Water divers; and a site's season
// must agree with the monsoon of its coast.
func TestCorpus_CertificationAndSeasonsAreConsistent(t *testing.T) {
	docs, err := seeds.Sites()
	require.NoError(t, err)
	eastCoast := map[string]bool{"Perhentian": true, "Redang": true, "Lang Tengah": true, "Tenggol": true,
		"Tioman": true, "Aur": true, "Sibu": true}
	for _, doc := range docs {
		s := doc.Site
		if s.MinDepthM > 18 {
			assert.NotEqual(t, "open_water", s.MinCertification, "%s starts below 18 m", s.Slug)
		}
		if s.Difficulty == models.DifficultyAdvanced {
			assert.NotEqual(t, "open_water", s.MinCertification, "%s is advanced", s.Slug)
		}
		if s.MinCertification != "open_water" {
			assert.NotEqual(t, models.DifficultyBeginner, s.Difficulty, "%s: a beginner site needs no more than Open Water", s.Slug)
		}
		if eastCoast[s.Region] {
			for _, m := range []int{12, 1} {
				assert.NotContains(t, s.BestMonths, m, "%s: the north-east monsoon closes the east coast", s.Slug)
			}
		}
		if s.Region == "Layang-Layang" {
			assert.Subset(t, []int{3, 4, 5, 6, 7, 8}, s.BestMonths, "%s: the resort opens about March to August", s.Slug)
		}
	}
}

func TestEval_EveryExpectedSiteExistsAndRespectsTheQuestion(t *testing.T) {
	questions, err := data.EvalQuestions()
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(questions), 130)
	docs, err := seeds.Sites()
	require.NoError(t, err)
	sites := map[string]models.DiveSite{}
	for _, d := range docs {
		sites[d.Site.Slug] = d.Site
	}
	ids := map[string]bool{}
	langs := map[string]int{}
	conversations := 0
	for _, q := range questions {
		assert.False(t, ids[q.ID], "duplicate id %s", q.ID)
		ids[q.ID] = true
		langs[q.Lang]++
		assert.True(t, strings.HasPrefix(q.ID, q.Lang+"-"), "%s: the id names its language", q.ID)
		assert.NotEmpty(t, strings.TrimSpace(q.Question), q.ID)
		if len(q.FollowUps) > 0 {
			conversations++
		}
		for _, f := range q.FollowUps {
			assert.NotEmpty(t, strings.TrimSpace(f), "%s: empty follow-up", q.ID)
		}
		require.NotEmpty(t, q.Expected, q.ID)
		c := q.Constraints
		if c.Certification != "" {
			_, ok := models.CertificationsUpTo(c.Certification)
			assert.True(t, ok, "%s: unknown certification %s", q.ID, c.Certification)
		}
		for _, m := range c.Months {
			assert.True(t, m >= 1 && m <= 12, "%s: month %d", q.ID, m)
		}
		for _, p := range append(append([]string{}, c.Places...), c.AvoidPlaces...) {
			assert.True(t, evalPlaces[p], "%s: unknown place key %s", q.ID, p)
		}
		for _, sp := range c.Specialties {
			assert.Contains(t, models.Specialty("").Values(), sp, "%s: unknown specialty", q.ID)
		}
		assert.True(t, c.Age >= 0 && c.Age < 100, "%s: age %d", q.ID, c.Age)
		for _, slug := range q.Expected {
			site, ok := sites[slug]
			if !assert.True(t, ok, "%s: unknown site %s", q.ID, slug) {
				continue
			}
			assert.Empty(t, c.Violations(site), "%s: the expected %s breaks the question's constraints", q.ID, slug)
			for _, sp := range site.Facts.Requirements.Specialties {
				assert.Contains(t, c.Specialties, string(sp), "%s: the expected %s needs %s training", q.ID, slug, sp)
			}
			if minAge := site.Facts.Requirements.MinAge; c.Age > 0 && minAge > 0 {
				assert.GreaterOrEqual(t, c.Age, minAge, "%s: the expected %s is for divers aged %d and over", q.ID, slug, minAge)
			}
			for _, p := range c.AvoidPlaces {
				assert.False(t, sitePlaces(site)[p], "%s: the expected %s is in %s, which the diver ruled out", q.ID, slug, p)
			}
		}
		seen := map[string]bool{}
		for _, slug := range q.Never {
			_, ok := sites[slug]
			assert.True(t, ok, "%s: unknown never site %s", q.ID, slug)
			assert.NotContains(t, q.Expected, slug, "%s: %s is both expected and never", q.ID, slug)
			assert.False(t, seen[slug], "%s: %s listed twice under never", q.ID, slug)
			seen[slug] = true
		}
		for _, group := range q.MustSay {
			assert.NotEmpty(t, group, "%s: empty mustSay group", q.ID)
			for _, phrase := range group {
				assert.NotEmpty(t, strings.TrimSpace(phrase), "%s: empty mustSay phrase", q.ID)
			}
		}
		for _, claim := range q.Contradictions {
			_, ok := sites[claim.Site]
			assert.True(t, ok, "%s: unknown contradiction site %s", q.ID, claim.Site)
			assert.True(t, evalWishes[claim.Wish], "%s: unknown wish %s", q.ID, claim.Wish)
		}
	}
	assert.Equal(t, len(questions), langs["en"]+langs["zh"], "every question is en or zh")
	assert.InDelta(t, len(questions)/2, langs["en"], float64(len(questions))/5, "roughly half in each language")
	assert.GreaterOrEqual(t, conversations, 34, "multi-turn questions")
}

// evalWishes and evalPlaces are the planner's wish and place keys
// (data/vocabulary.yaml), which eval questions may name.
var evalWishes, evalPlaces = keySet(planner.Wishes()), keySet(planner.Places())

func keySet(keys []string) map[string]bool {
	out := make(map[string]bool, len(keys))
	for _, k := range keys {
		out[k] = true
	}
	return out
}

// sitePlaces are the place keys a site lies in, so a test can tell an
// expected site from one in a place the diver ruled out.
func sitePlaces(s models.DiveSite) map[string]bool {
	out := map[string]bool{strings.ToLower(s.State): true}
	for key := range evalPlaces {
		if strings.HasPrefix(s.Slug, key+"-") {
			out[key] = true
		}
	}
	switch s.Slug {
	case "aur-raynors-rock":
		out["aur"], out["dayang"] = true, true
	case "sibu-besar-reefs":
		out["sibu"] = true
	}
	switch s.Region {
	case "Semporna", "Sandakan", "Kota Kinabalu", "Langkawi":
		out[strings.ReplaceAll(strings.ToLower(s.Region), " ", "-")] = true
	}
	switch s.State {
	case "Sabah", "Sarawak", "Labuan":
		out["borneo"] = true
	case "Terengganu", "Pahang", "Johor":
		out["peninsula"], out["east-coast"] = true, true
	case "Kedah":
		out["peninsula"] = true
	}
	return out
}

func TestEvalConstraints_ViolationsNameEachBrokenConstraint(t *testing.T) {
	deepWreck := models.DiveSite{Slug: "w", MinCertification: "advanced_open_water", MinDepthM: 24, BestMonths: []int{3, 4, 5}}
	cases := []struct {
		name string
		c    data.EvalConstraints
		want int
	}{
		{"nothing stated", data.EvalConstraints{}, 0},
		{"all respected", data.EvalConstraints{Months: []int{4}, Certification: "rescue_diver", MaxDepthM: 30}, 0},
		{"open water", data.EvalConstraints{Certification: "open_water"}, 1},
		{"out of season", data.EvalConstraints{Months: []int{4, 12}}, 1},
		{"too deep", data.EvalConstraints{MaxDepthM: 18}, 1},
		{"everything", data.EvalConstraints{Months: []int{12}, Certification: "open_water", MaxDepthM: 18}, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Len(t, tc.c.Violations(deepWreck), tc.want)
		})
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

	operators, err := seeds.Operators()
	require.NoError(t, err)
	docs, err := seeds.Sites()
	require.NoError(t, err)

	first, err := seeds.Load(ctx, db, embedding.Hash{})
	require.NoError(t, err)
	assert.EqualValues(t, len(operators), first.Operators)
	assert.Equal(t, len(docs), first.Sites.Loaded)
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
	assert.Equal(t, knowledge.Summary{Files: len(docs), Unchanged: len(docs)}, second.Sites, "nothing loaded again")
	var stampAfter time.Time
	require.NoError(t, raw.QueryRow(`SELECT max(updated_at) FROM dive_sites`).Scan(&stampAfter))
	assert.Equal(t, stampBefore, stampAfter, "rows were not rewritten")
	assert.Equal(t, before, counts())

	var model string
	require.NoError(t, raw.QueryRow(`SELECT DISTINCT model FROM site_chunks`).Scan(&model))
	assert.Equal(t, embedding.HashModel, model)
}
