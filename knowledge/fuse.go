package knowledge

import (
	"cmp"
	"slices"
)

// Reciprocal rank fusion defaults: k = 60 as in Cormack, Clarke and Büttcher
// (2009), and each list cut at 40 so a long tail of weak matches cannot add up.
const (
	FuseK     = 60
	FuseDepth = 40
)

// Fused is one item of a fused list.
type Fused[T any] struct {
	Item     T
	Score    float64 // Σ 1/(k + rank) over the lists holding the item
	BestRank int     // the item's best rank in any list, from 1
}

// Fuse merges ranked lists (best first) by reciprocal rank fusion: an item
// scores Σ 1/(k + rank) over the lists it appears in, counting only the
// first depth entries of each list and an item's first appearance in a list;
// items are the same when key says so, and the first list to hold one gives
// its value. The result is sorted by fused score; ties go to the better
// single rank, then to tie, so equal inputs always give the same order.
// k < 1 and depth < 1 take the defaults.
func Fuse[T any, K comparable](lists [][]T, key func(T) K, tie func(a, b T) int, k, depth int) []Fused[T] {
	if k < 1 {
		k = FuseK
	}
	if depth < 1 {
		depth = FuseDepth
	}
	byKey := map[K]*Fused[T]{}
	var order []*Fused[T]
	for _, list := range lists {
		seen := map[K]bool{}
		for i, item := range list[:min(depth, len(list))] {
			id := key(item)
			if seen[id] {
				continue
			}
			seen[id] = true
			rank := i + 1
			f, ok := byKey[id]
			if !ok {
				f = &Fused[T]{Item: item, BestRank: rank}
				byKey[id] = f
				order = append(order, f)
			}
			f.Score += 1 / float64(k+rank)
			f.BestRank = min(f.BestRank, rank)
		}
	}
	slices.SortStableFunc(order, func(a, b *Fused[T]) int {
		if a.Score != b.Score {
			return cmp.Compare(b.Score, a.Score)
		}
		return cmp.Or(cmp.Compare(a.BestRank, b.BestRank), tie(a.Item, b.Item))
	})
	out := make([]Fused[T], len(order))
	for i, f := range order {
		out[i] = *f
	}
	return out
}
