package planner

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEvaluate_ScoresHitsAndCountsViolationsOfStatedConstraints(t *testing.T) {
	tp := newTestPlanner(t)
	qs := []EvalQuestion{
		{ID: "hit", Lang: "en", Question: "AOW diver, hammerheads in April", Expected: []string{"layang-layang-hammerhead-point"}},
		{ID: "miss", Lang: "en", Question: "AOW diver, hammerheads in April", Expected: []string{"labuan-cement-wreck"}},
		// The text states nothing, but the question's constraints do: an
		// unconstrained answer may break them, and Evaluate must notice.
		{ID: "violations", Lang: "en", Question: "Barracuda Point and the Sipadan walls, which is best?",
			Constraints: EvalConstraints{Certification: "open_water", Months: []int{12}, MaxDepthM: 4}},
	}
	rep := Evaluate(context.Background(), tp.Planner, qs)
	assert.Equal(t, 3, rep.Questions)
	assert.Equal(t, 1, rep.Hits)
	assert.InDelta(t, 0.5, rep.HitAt3, 1e-9, "only questions with expected sites are scored")
	require.Len(t, rep.Results, 3)
	assert.True(t, rep.Results[0].Hit)
	assert.False(t, rep.Results[1].Hit)
	assert.NotEmpty(t, rep.Results[1].Recommended)
	v := rep.Results[2].Violations
	require.NotEmpty(t, v)
	joined := strings.Join(v, "\n")
	assert.Contains(t, joined, "needs advanced_open_water")
	assert.Contains(t, joined, "limit 4 m", "Sipadan starts deeper than 4 m")
	assert.Equal(t, len(v), rep.Violations)
	assert.Zero(t, rep.Errors)
}

// A small in-memory evaluation on the current corpus: the planner should find
// what a local guide would name, without breaking stated constraints. (The
// full evaluation runs `make eval` against PostgreSQL with data/eval.)
func TestEvaluate_InMemoryCorpusMeetsTheTargets(t *testing.T) {
	tp := newTestPlanner(t)
	qs := []EvalQuestion{
		{ID: "e1", Question: "I'm AOW, where can I see hammerheads in April?", Expected: []string{"layang-layang-hammerhead-point"}, Constraints: EvalConstraints{Months: []int{4}, Certification: "advanced_open_water"}},
		{ID: "e2", Question: "Open water diver wanting turtles in July", Expected: []string{"sipadan-drop-off", "mabul-paradise-reef", "tioman-renggis-island", "perhentian-tokong-laut", "redang-pulau-lima", "mataking-reef-garden", "tar-park-pulau-sapi"}, Constraints: EvalConstraints{Months: []int{7}, Certification: "open_water"}},
		{ID: "e3", Question: "Best macro site for mandarinfish?", Expected: []string{"kapalai-mandarin-valley", "lankayan-jawfish-lair", "mabul-paradise-reef"}},
		{ID: "e4", Question: "Wreck diving in Labuan, I'm advanced open water", Expected: []string{"labuan-cement-wreck"}, Constraints: EvalConstraints{Certification: "advanced_open_water"}},
		{ID: "e5", Question: "Chevron barracuda tornado, AOW, in May", Expected: []string{"sipadan-barracuda-point"}, Constraints: EvalConstraints{Months: []int{5}, Certification: "advanced_open_water"}},
		{ID: "e6", Question: "Can I dive Perhentian in December?", Expected: []string{"sipadan-drop-off", "mabul-paradise-reef", "kapalai-mandarin-valley", "mataking-reef-garden", "lankayan-jawfish-lair", "sipadan-hanging-gardens", "sipadan-south-point", "sipadan-barracuda-point", "perhentian-tokong-laut", "perhentian-sugar-wreck"}, Constraints: EvalConstraints{Months: []int{12}}},
		{ID: "z1", Question: "我是进阶潜水员，四月想去拉央拉央看锤头鲨", Expected: []string{"layang-layang-hammerhead-point"}, Constraints: EvalConstraints{Months: []int{4}, Certification: "advanced_open_water"}},
		{ID: "z2", Question: "新手，七月想在热浪岛看海龟", Expected: []string{"redang-pulau-lima", "redang-tanjung-tokong"}, Constraints: EvalConstraints{Months: []int{7}}},
		{ID: "z3", Question: "哪里可以看到鲸鲨？我是OW，五月去", Expected: []string{"tioman-chebeh", "tenggol-tokong-timur", "redang-tanjung-tokong", "aur-raynors-rock", "perhentian-tokong-laut", "tioman-tiger-reef", "lankayan-jawfish-lair"}, Constraints: EvalConstraints{Months: []int{5}, Certification: "open_water"}},
		{ID: "z4", Question: "七月去诗巴丹，我是AOW，想看梭鱼", Expected: []string{"sipadan-barracuda-point"}, Constraints: EvalConstraints{Months: []int{7}, Certification: "advanced_open_water"}},
	}
	rep := Evaluate(context.Background(), tp.Planner, qs)
	for _, r := range rep.Results {
		if !r.Hit || len(r.Violations) > 0 || r.Error != "" {
			t.Logf("%s %q: recommended %v, expected %v, violations %v, error %q", r.ID, r.Question, r.Recommended, r.Expected, r.Violations, r.Error)
		}
	}
	t.Logf("in-memory hit@3 %.2f (%d/%d), violations %d", rep.HitAt3, rep.Hits, len(qs), rep.Violations)
	assert.GreaterOrEqual(t, rep.HitAt3, 0.8)
	assert.Zero(t, rep.Violations)
	assert.Zero(t, rep.Errors)
}
