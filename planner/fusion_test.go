package planner

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/models"
)

func pass(slug string, chunk int) Passage {
	return Passage{SiteID: models.SiteID(slug), Slug: slug, ChunkIndex: chunk, Text: slug + " text"}
}

func keysOf(ps []Passage) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Slug + "#" + string(rune('0'+p.ChunkIndex))
	}
	return out
}

func TestFuse_ScoresBySumOfReciprocalRanks(t *testing.T) {
	a, b, c := pass("a", 0), pass("b", 0), pass("c", 0)
	got := Fuse([][]Passage{{a, b, c}, {c, a}}, 60, 40)
	require.Len(t, got, 3)
	assert.Equal(t, []string{"a#0", "c#0", "b#0"}, keysOf(got))
	assert.InDelta(t, 1.0/61+1.0/62, got[0].Score, 1e-12)
	assert.InDelta(t, 1.0/63+1.0/61, got[1].Score, 1e-12)
	assert.InDelta(t, 1.0/62, got[2].Score, 1e-12)
}

func TestFuse_CutsEachListAtDepth(t *testing.T) {
	got := Fuse([][]Passage{{pass("a", 0), pass("b", 0), pass("c", 0)}}, 60, 2)
	assert.Equal(t, []string{"a#0", "b#0"}, keysOf(got), "the third entry is past the depth")
}

func TestFuse_DefaultsForNonPositiveParameters(t *testing.T) {
	list := make([]Passage, 50)
	for i := range list {
		list[i] = pass("s", i%10+0)
		list[i].ChunkIndex = i
	}
	got := Fuse([][]Passage{list}, 0, 0)
	assert.Len(t, got, RRFDepth)
	assert.InDelta(t, 1.0/float64(RRFK+1), got[0].Score, 1e-12)
}

func TestFuse_BreaksTiesByBestRankThenSlugThenChunk(t *testing.T) {
	x, y, z := pass("x", 0), pass("y", 0), pass("y", 1)
	// x and y are first in one list each: equal scores and equal best ranks, so slug decides.
	got := Fuse([][]Passage{{y, z}, {x, z}}, 60, 40)
	assert.Equal(t, []string{"y#1", "x#0", "y#0"}, keysOf(got), "y#1 is in both lists; then x before y by slug")
	swapped := Fuse([][]Passage{{x, z}, {y, z}}, 60, 40)
	assert.Equal(t, keysOf(got), keysOf(swapped), "the order of the lists does not change the result")

	// Close totals: 1/61+1/63 is a hair above 2/62, and the sum decides.
	p, q := pass("p", 0), pass("q", 0)
	filler := func(n int) []Passage {
		out := make([]Passage, n)
		for i := range out {
			out[i] = pass("f", 100+i)
		}
		return out
	}
	l1 := append(filler(1), q) // q at rank 2
	l2 := append(filler(1), q) // q at rank 2 again
	l3 := []Passage{p}         // p at rank 1
	l4 := append(filler(2), p) // p at rank 3: 1/61 + 1/63 vs 2/62
	got = Fuse([][]Passage{l1, l2, l3, l4}, 60, 40)
	var pi, qi int
	for i, r := range got {
		switch r.Slug {
		case "p":
			pi = i
		case "q":
			qi = i
		}
	}
	assert.Less(t, pi, qi, "p's 1/61+1/63 beats q's 2/62")
}

func TestFuse_CountsAPassageOncePerList(t *testing.T) {
	a := pass("a", 0)
	got := Fuse([][]Passage{{a, a, a}}, 60, 40)
	require.Len(t, got, 1)
	assert.InDelta(t, 1.0/61, got[0].Score, 1e-12)
}

func TestFuse_NameOnlyHitTakesTheTextOfTheOtherList(t *testing.T) {
	named := Passage{SiteID: uuid.New(), Slug: "n", ChunkIndex: 0}
	withText := named
	withText.Text = "The wall drops to 600 metres."
	got := Fuse([][]Passage{{named}, {withText}}, 60, 40)
	require.Len(t, got, 1)
	assert.Equal(t, withText.Text, got[0].Text)
}

func TestFuse_EmptyListsGiveNothing(t *testing.T) {
	assert.Empty(t, Fuse(nil, 60, 40))
	assert.Empty(t, Fuse([][]Passage{{}, nil}, 60, 40))
}
