package planner

import (
	"cmp"

	"github.com/google/uuid"

	"github.com/dovvydive/backend/knowledge"
)

// Reciprocal rank fusion defaults, knowledge search's own.
const (
	RRFK     = knowledge.FuseK
	RRFDepth = knowledge.FuseDepth
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

// Fuse merges ranked lists (best first) by reciprocal rank fusion
// (knowledge.Fuse): ties go to the passage with the better single rank, then
// to slug and chunk index. A name-only hit gains the chunk text another list
// carried. Each returned passage's Score is its fused score. k < 1 and
// depth < 1 take the defaults.
func Fuse(lists [][]Passage, k, depth int) []Passage {
	if depth < 1 {
		depth = RRFDepth
	}
	key := func(p Passage) passageKey { return passageKey{p.SiteID, p.ChunkIndex} }
	texts := map[passageKey]string{}
	for _, list := range lists {
		for _, p := range list[:min(depth, len(list))] {
			if texts[key(p)] == "" {
				texts[key(p)] = p.Text
			}
		}
	}
	fused := knowledge.Fuse(lists, key, func(a, b Passage) int {
		return cmp.Or(cmp.Compare(a.Slug, b.Slug), cmp.Compare(a.ChunkIndex, b.ChunkIndex),
			cmp.Compare(a.SiteID.String(), b.SiteID.String()))
	}, k, depth)
	out := make([]Passage, len(fused))
	for i, f := range fused {
		out[i] = f.Item
		out[i].Text = texts[key(f.Item)]
		out[i].Score = f.Score
	}
	return out
}
