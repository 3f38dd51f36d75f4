package planner_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/data"
	"github.com/dovvydive/backend/database"
	"github.com/dovvydive/backend/database/dbtest"
	"github.com/dovvydive/backend/knowledge/embedding"
	"github.com/dovvydive/backend/models"
	"github.com/dovvydive/backend/planner"
	"github.com/dovvydive/backend/seeds"
)

// TestEval_RealPlannerOnTheSeededDatabaseMeetsTheTargets runs data/eval
// through the planner as served: hybrid retrieval in PostgreSQL (HNSW over
// the hash embedder's vectors plus full text), the site catalogue from the
// database, the extractive generator. `make eval` runs it verbosely and
// prints the report; the targets (hit@3 ≥ 0.8, no violations) make it a
// regression test too.
func TestEval_RealPlannerOnTheSeededDatabaseMeetsTheTargets(t *testing.T) {
	ctx := context.Background()
	db, err := database.Open(ctx, dbtest.Config(dbtest.Migrated(t)), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	_, err = seeds.Load(ctx, db, embedding.Hash{})
	require.NoError(t, err)

	store := planner.Store{DB: db, EfSearch: 100}
	p, err := planner.New(planner.Config{Embedder: embedding.Hash{}, Retriever: store, Catalog: store, Generator: planner.Extractive{}})
	require.NoError(t, err)
	questions, err := data.EvalQuestions()
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(questions), 40)
	rep := planner.Evaluate(ctx, p, questions)

	// The data package's own reading of the stated constraints counts too,
	// on the top three sites (the ones an answer presents).
	sites, err := db.PlannerSites(ctx)
	require.NoError(t, err)
	bySlug := map[string]models.DiveSite{}
	for _, s := range sites {
		bySlug[s.Slug] = s
	}
	dataViolations, certOrSeason := 0, 0
	var report strings.Builder
	for i, r := range rep.Results {
		for _, v := range r.Violations {
			if !strings.Contains(v, " m, limit ") {
				certOrSeason++
			}
		}
		var stated []string
		for j, slug := range r.Recommended {
			if j < 3 {
				for _, v := range questions[i].Constraints.Violations(bySlug[slug]) {
					stated = append(stated, slug+": "+v)
				}
			}
		}
		dataViolations += len(stated)
		if !r.Hit || len(r.Violations) > 0 || len(stated) > 0 || r.Error != "" {
			label := "MISS"
			if r.Hit {
				label = "HIT, flagged"
			}
			fmt.Fprintf(&report, "  %s %s [%s] %q\n      recommended %v\n      expected    %v\n", label, r.ID, r.Lang, r.Question, r.Recommended, r.Expected)
			if len(r.Violations)+len(stated) > 0 {
				fmt.Fprintf(&report, "      violations %v %v\n", r.Violations, stated)
			}
			if r.Error != "" {
				fmt.Fprintf(&report, "      error %s\n", r.Error)
			}
		}
	}
	// The planner's own Evaluate counts certification, season (closed
	// months), specialty training and a site starting below the diver's depth
	// limit; data/eval counts certification, season and depth by its own
	// definition. Both must be zero.
	t.Logf("eval: %d questions, hit@3 %.3f (%d hits); violations: %d certification/season, %d by data/eval's definition, "+
		"%d by the planner's (specialty, depth); errors %d\n%s",
		rep.Questions, rep.HitAt3, rep.Hits, certOrSeason, dataViolations, rep.Violations-certOrSeason, rep.Errors, report.String())
	assert.GreaterOrEqual(t, rep.HitAt3, 0.8, "hit@3 target")
	assert.Zero(t, certOrSeason, "certification or season violations")
	assert.Zero(t, dataViolations, "constraint violations as data/eval defines them")
	assert.Zero(t, rep.Violations, "violations as the planner's Evaluate defines them")
	assert.Zero(t, rep.Errors)
}
