package planner

import (
	"cmp"
	"slices"

	"github.com/google/uuid"
)

// Reciprocal rank fusion defaults: k = 60 as in Cormack, Clarke and Büttcher
// (2009), and each list cut at 40 so a long tail of weak matches cannot add up.
const (
	RRFK     = 60
	RRFDepth = 40
)

// Passage is one retrieved chunk of a site's document. A text-search hit on
// a site's name alone may come with an empty Text: it still votes for the
// site but is never quoted or cited.
type Passage struct {
	SiteID     uuid.UUID `json:"siteId"`
	Slug       string    `json:"slug"`
	ChunkIndex int       `json:"chunkIndex"`
	Text       string    `json:"text"`
	Score      float64   `json:"score"` // the list's own score; after Fuse, the fused score
}

type passageKey struct {
	site  uuid.UUID
	chunk int
}

// Fuse merges ranked lists (best first) by reciprocal rank fusion: a passage
// scores Σ 1/(k + rank) over the lists it appears in, counting only the first
// depth entries of each list and a passage's first appearance in a list. The
// result is sorted by fused score; ties go to the passage with the better
// single rank, then to slug and chunk index, so equal inputs always give the
// same order. Each returned passage's Score is its fused score. k < 1 and
// depth < 1 take the defaults.
func Fuse(lists [][]Passage, k, depth int) []Passage {
	if k < 1 {
		k = RRFK
	}
	if depth < 1 {
		depth = RRFDepth
	}
	type entry struct {
		p        Passage
		score    float64
		bestRank int
	}
	byKey := map[passageKey]*entry{}
	var order []*entry
	for _, list := range lists {
		seen := map[passageKey]bool{}
		for i, p := range list[:min(depth, len(list))] {
			key := passageKey{p.SiteID, p.ChunkIndex}
			if seen[key] {
				continue
			}
			seen[key] = true
			rank := i + 1
			e, ok := byKey[key]
			if !ok {
				e = &entry{p: p, bestRank: rank}
				byKey[key] = e
				order = append(order, e)
			}
			if e.p.Text == "" && p.Text != "" {
				e.p.Text = p.Text // a name-only hit gains the chunk text another list carried
			}
			e.score += 1 / float64(k+rank)
			e.bestRank = min(e.bestRank, rank)
		}
	}
	slices.SortStableFunc(order, func(a, b *entry) int {
		if a.score != b.score {
			return cmp.Compare(b.score, a.score)
		}
		return cmp.Or(cmp.Compare(a.bestRank, b.bestRank), cmp.Compare(a.p.Slug, b.p.Slug),
			cmp.Compare(a.p.ChunkIndex, b.p.ChunkIndex), cmp.Compare(a.p.SiteID.String(), b.p.SiteID.String()))
	})
	out := make([]Passage, len(order))
	for i, e := range order {
		out[i] = e.p
		out[i].Score = e.score
	}
	return out
}
