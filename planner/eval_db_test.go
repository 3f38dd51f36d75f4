package planner_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

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

// evalReferenceDate is the day the evaluation's relative dates ("next
// month") are read on (data/eval/README.md).
var evalReferenceDate = time.Date(2026, 12, 3, 12, 0, 0, 0, time.FixedZone("MYT", 8*60*60))

// TestEval_RealPlannerOnTheSeededDatabaseMeetsTheTargets runs data/eval
// through the planner as served: hybrid retrieval in PostgreSQL (HNSW over
// the hash embedder's vectors plus full text), the site catalogue from the
// database, the extractive generator. `make eval` runs it verbosely and
// prints the report; the targets (no unsafe pick, no contradiction, every
// required explanation, no English run in a Chinese answer, every
// follow-up honoured, hit@3 ≥ 0.9) make it a regression test too.
func TestEval_RealPlannerOnTheSeededDatabaseMeetsTheTargets(t *testing.T) {
	ctx := context.Background()
	db, err := database.Open(ctx, dbtest.Config(dbtest.Migrated(t)), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	_, err = seeds.Load(ctx, db, embedding.Hash{})
	require.NoError(t, err)

	store := planner.Store{DB: db, EfSearch: 100}
	p, err := planner.New(planner.Config{Embedder: embedding.Hash{}, Retriever: store, Catalog: store,
		Generator: planner.Extractive{}, Now: func() time.Time { return evalReferenceDate }})
	require.NoError(t, err)
	questions, err := data.EvalQuestions()
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(questions), 120)
	rep := planner.Evaluate(ctx, p, questions)

	// data/eval's own reading of the stated constraints counts too, on
	// every recommended site: a second definition of "unsafe".
	sites, err := db.PlannerSites(ctx)
	require.NoError(t, err)
	bySlug := map[string]models.DiveSite{}
	for _, s := range sites {
		bySlug[s.Slug] = s
	}
	dataViolations := 0
	var misses strings.Builder
	for i, r := range rep.Results {
		var stated []string
		for _, slug := range r.Recommended {
			for _, v := range questions[i].Constraints.Violations(bySlug[slug]) {
				stated = append(stated, slug+": "+v)
			}
		}
		dataViolations += len(stated)
		honoured := r.FollowUpsHonoured == nil || *r.FollowUpsHonoured
		clean := r.Hit && len(r.Unsafe)+len(stated)+len(r.Missing)+len(r.Contradictions)+len(r.EnglishRuns) == 0 && honoured && r.Error == ""
		showAll := os.Getenv("EVAL_ANSWERS") != "" // every answer, for people to read
		if clean && !showAll {
			continue
		}
		label := "MISS"
		switch {
		case clean:
			label = "OK"
		case r.Hit || len(r.Expected) == 0:
			label = "FLAGGED"
		}
		fmt.Fprintf(&misses, "  %s %s [%s] %q %q\n      recommended %v\n      expected    %v\n", label, r.ID, r.Lang, r.Question, r.FollowUps, r.Recommended, r.Expected)
		for _, line := range []struct {
			name string
			list any
			n    int
		}{{"unsafe", r.Unsafe, len(r.Unsafe)}, {"unsafe (data/eval)", stated, len(stated)}, {"missing", r.Missing, len(r.Missing)},
			{"contradictions", r.Contradictions, len(r.Contradictions)}, {"english runs", r.EnglishRuns, len(r.EnglishRuns)}} {
			if line.n > 0 {
				fmt.Fprintf(&misses, "      %s %v\n", line.name, line.list)
			}
		}
		if !honoured {
			fmt.Fprintf(&misses, "      follow-ups not honoured: %s\n", r.NotHonoured)
		}
		if r.Error != "" {
			fmt.Fprintf(&misses, "      error %s\n", r.Error)
		}
		if showAll {
			fmt.Fprintf(&misses, "      answer:\n        %s\n", strings.ReplaceAll(r.Answer, "\n", "\n        "))
		}
	}
	var summary strings.Builder
	line := func(name string, t planner.EvalTotals) {
		fmt.Fprintf(&summary, "  %-7s %3d questions  hit@3 %.3f (%d/%d)  unsafe %d  explanations %d/%d  contradictions %d  "+
			"zh answers with English runs %d  follow-ups honoured %d/%d  errors %d\n",
			name, t.Questions, t.HitAt3, t.Hits, t.Scored, t.Unsafe, t.Explanations-t.Missing, t.Explanations,
			t.Contradictions, t.EnglishRuns, t.FollowUpsHonoured, t.Conversations, t.Errors)
	}
	line("overall", rep.EvalTotals)
	for _, lang := range []string{"en", "zh"} {
		line(lang, rep.ByLang[lang])
	}
	t.Logf("eval (unsafe by data/eval's definition: %d):\n%s\nmisses and flags:\n%s", dataViolations, summary.String(), misses.String())
	assert.GreaterOrEqual(t, rep.HitAt3, 0.9, "hit@3 target")
	assert.Zero(t, rep.Unsafe, "unsafe picks")
	assert.Zero(t, dataViolations, "unsafe picks as data/eval defines them")
	assert.Zero(t, rep.Missing, "required explanations missing")
	assert.Zero(t, rep.Contradictions, "contradictions")
	assert.Zero(t, rep.EnglishRuns, "Chinese answers with an English run")
	assert.Equal(t, rep.Conversations, rep.FollowUpsHonoured, "follow-ups honoured")
	assert.Zero(t, rep.Errors)
}
