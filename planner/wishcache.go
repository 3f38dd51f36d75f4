package planner

import "sync"

// passageWishes returns the wishes a passage's text shows, remembered per
// text: the same few hundred chunks are retrieved for message after message,
// and scanning them with the wish patterns was most of a message's CPU
// (about 70 % with retrieval from the database). The cache is dropped
// whole when it grows past maxCachedPassages, so chunks replaced by a
// re-seed cannot make it grow without bound.
func passageWishes(text string) []string {
	if v, ok := wishCache.m.Load(text); ok {
		return v.([]string)
	}
	keys := matchTerms(text, wishTerms)
	wishCache.mu.Lock()
	if wishCache.n >= maxCachedPassages {
		wishCache.m.Clear()
		wishCache.n = 0
	}
	if _, loaded := wishCache.m.LoadOrStore(text, keys); !loaded {
		wishCache.n++
	}
	wishCache.mu.Unlock()
	return keys
}

const maxCachedPassages = 20_000

var wishCache struct {
	m  sync.Map // passage text → []string wish keys (never modified)
	mu sync.Mutex
	n  int
}
