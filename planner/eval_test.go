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
	v := rep.Results[2].Unsafe
	require.NotEmpty(t, v)
	joined := strings.Join(v, "\n")
	assert.Contains(t, joined, "needs Advanced Open Water")
	assert.Contains(t, joined, "below your 4 m", "Sipadan starts deeper than 4 m")
	assert.Equal(t, len(v), rep.Unsafe)
	assert.Zero(t, rep.Errors)
}

func TestEvaluate_JudgesExplanationsContradictionsEnglishRunsAndFollowUps(t *testing.T) {
	tp := newTestPlanner(t)
	qs := []EvalQuestion{
		{ID: "said", Lang: "en", Question: "AOW diver, hammerheads in April", MustSay: [][]string{{"Layang-Layang"}, {"no such phrase", "nor this"}}},
		{ID: "claim", Lang: "en", Question: "AOW diver, hammerheads in April",
			Contradictions: []EvalClaim{{Site: "layang-layang-hammerhead-point", Wish: "hammerheads"}}},
		{ID: "never", Lang: "en", Question: "AOW diver, hammerheads in April", Never: []string{"layang-layang-hammerhead-point"}},
		{ID: "follow", Lang: "en", Question: "Turtles in July?", FollowUps: []string{"What about December?"},
			Constraints: EvalConstraints{Months: []int{12}}},
		{ID: "unfollowed", Lang: "en", Question: "Turtles in July?", FollowUps: []string{"thanks"},
			Constraints: EvalConstraints{Months: []int{12}}},
	}
	rep := Evaluate(context.Background(), tp.Planner, qs)
	require.Len(t, rep.Results, 5)
	assert.Equal(t, [][]string{{"no such phrase", "nor this"}}, rep.Results[0].Missing, "a group none of whose phrases is said")
	assert.Equal(t, 1, rep.Missing)
	assert.Equal(t, 2, rep.Explanations)
	assert.Equal(t, []string{"layang-layang-hammerhead-point offered for hammerheads"}, rep.Results[1].Contradictions,
		"a claim the question calls false is counted when the site is offered for it")
	assert.Contains(t, strings.Join(rep.Results[2].Unsafe, " "), "never to be offered")
	require.NotNil(t, rep.Results[3].FollowUpsHonoured)
	assert.True(t, *rep.Results[3].FollowUpsHonoured, rep.Results[3].NotHonoured)
	assert.False(t, *rep.Results[4].FollowUpsHonoured)
	assert.Equal(t, 2, rep.Conversations)
	assert.Equal(t, 1, rep.FollowUpsHonoured)
	assert.Equal(t, 5, rep.ByLang["en"].Questions)
}

func TestEnglishRuns_FindsFourEnglishWordsInARowButNotOperatorNames(t *testing.T) {
	assert.Equal(t, []string{"best for big fish"}, EnglishRuns("诗巴丹 best for big fish。", nil))
	assert.Empty(t, EnglishRuns("潜店：Scuba Junkie Semporna Dive Centre。", []string{"Scuba Junkie Semporna Dive Centre"}))
	assert.Empty(t, EnglishRuns("进阶开放水域（AOW）及以上；D'Lagoon 珊瑚花园", nil), "three words or fewer are names, not English prose")
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
		if !r.Hit || len(r.Unsafe) > 0 || r.Error != "" {
			t.Logf("%s %q: recommended %v, expected %v, unsafe %v, error %q", r.ID, r.Question, r.Recommended, r.Expected, r.Unsafe, r.Error)
		}
	}
	t.Logf("in-memory hit@3 %.2f (%d/%d), unsafe %d", rep.HitAt3, rep.Hits, len(qs), rep.Unsafe)
	assert.GreaterOrEqual(t, rep.HitAt3, 0.8)
	assert.Zero(t, rep.Unsafe)
	assert.Zero(t, rep.Errors)
}
