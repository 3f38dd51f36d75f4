package planner

import (
	"slices"
	"strings"
	"sync"

	"github.com/dovvydive/backend/data"
)

// plannerVocab is data/vocabulary.yaml as the planner reads it: the terms
// Extract matches for places and wishes, and each wish's and place's names
// and facts. Every word about a wish or a place comes from that one file.
type plannerVocab struct {
	placeTerms []term
	wishTerms  []term
	wishes     map[string]data.Wish
	explicit   []string             // the wishes list's keys, in its order (not the animals)
	places     map[string]data.Term // key → the first record with that key
	states     map[string][]string  // place key → the site states it covers (slugified)
	animals    *data.Vocabulary
}

// vocab builds the planner's vocabulary once. The embedded file is checked
// by data's and seeds' tests, so a parse error here cannot ship; it yields
// an empty vocabulary rather than a panic.
var vocab = sync.OnceValue(func() *plannerVocab {
	pv := &plannerVocab{wishes: map[string]data.Wish{}, places: map[string]data.Term{}, states: map[string][]string{}}
	v, err := data.LoadVocabulary()
	if err != nil {
		pv.animals = &data.Vocabulary{}
		return pv
	}
	pv.animals = v
	for _, w := range v.Wishes {
		pv.wishes[w.Key] = w
		pv.explicit = append(pv.explicit, w.Key)
		aliases := append(append([]string{w.En}, w.AliasesEn...), append([]string{w.Zh}, w.AliasesZh...)...)
		pv.wishTerms = append(pv.wishTerms, term{key: w.Key, aliases: lowerLatin(aliases)})
	}
	// Then every animal by its own names: "jawfish" is a wish for jawfish,
	// not for macro life in general. A name an explicit wish already uses
	// stays the explicit wish's.
	taken := map[string]bool{}
	for _, t := range pv.wishTerms {
		for _, a := range t.aliases {
			taken[a] = true
		}
	}
	for _, a := range v.Animals {
		key := strings.ToLower(a.En)
		if _, ok := pv.wishes[key]; ok || taken[key] {
			continue
		}
		names := lowerLatin(append(append([]string{a.En}, a.AliasesEn...), append([]string{a.Zh}, a.AliasesZh...)...))
		names = slices.DeleteFunc(names, func(n string) bool { return taken[n] })
		facts := lowerLatin(append([]string{a.En}, a.AliasesEn...))
		pv.wishes[key] = data.Wish{Key: key, En: a.En, Zh: a.Zh, Animal: true, Facts: facts}
		pv.wishTerms = append(pv.wishTerms, term{key: key, aliases: names})
	}
	index := map[string]int{}
	for _, p := range v.Places {
		if p.Key == "" {
			continue
		}
		aliases := lowerLatin(append(append([]string{p.En}, p.AliasesEn...), append([]string{p.Zh}, p.AliasesZh...)...))
		if i, ok := index[p.Key]; ok {
			for _, a := range aliases {
				if !slices.Contains(pv.placeTerms[i].aliases, a) {
					pv.placeTerms[i].aliases = append(pv.placeTerms[i].aliases, a)
				}
			}
			continue
		}
		index[p.Key] = len(pv.placeTerms)
		pv.places[p.Key] = p
		pv.placeTerms = append(pv.placeTerms, term{key: p.Key, aliases: aliases})
		for _, st := range p.States {
			pv.states[p.Key] = append(pv.states[p.Key], slugify(st))
		}
	}
	// Longest aliases first within each list, so that a specific name is
	// matched (and masked) before a shorter one it contains.
	for _, list := range [][]term{pv.placeTerms, pv.wishTerms} {
		for i := range list {
			slices.SortStableFunc(list[i].aliases, func(a, b string) int { return len(b) - len(a) })
		}
	}
	pv.placeTerms = compileTerms(pv.placeTerms)
	pv.wishTerms = compileTerms(pv.wishTerms)
	return pv
})

// lowerLatin lower-cases the Latin aliases (matching ignores case) and
// writes hyphens as spaces (compileTerms lets a space match either).
func lowerLatin(aliases []string) []string {
	out := make([]string, 0, len(aliases))
	for _, a := range aliases {
		if isLatin(a) {
			a = strings.ReplaceAll(strings.ToLower(a), "-", " ")
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// wishName names a wish in lang, from the vocabulary.
func wishName(lang, wish string) string {
	w, ok := vocab().wishes[wish]
	if !ok {
		return wish
	}
	return tr(lang, w.En, w.Zh)
}

// placeName names a place key in lang, from the vocabulary.
func placeName(lang, key string) string {
	p, ok := vocab().places[key]
	if !ok {
		return key
	}
	return tr(lang, p.En, p.Zh)
}

// zhPlace is the Chinese name of a region or state as the site files write
// it ("Semporna"), or the name itself when the vocabulary lacks it.
func zhPlace(name string) string {
	if zh, ok := vocab().animals.ZhName(name); ok {
		return zh
	}
	return name
}

// isAnimalWish reports whether wish is for an animal (offered only by a
// site's recorded life).
func isAnimalWish(wish string) bool { return vocab().wishes[wish].Animal }

// wishFacts are the words of a site's facts that offer wish.
func wishFacts(wish string) []string { return vocab().wishes[wish].Facts }

// isTheWish reports whether a recorded animal (or life) offers the wish: it
// contains a fact word and none of the wish's exclusions.
func isTheWish(wish, animal string) bool {
	w := vocab().wishes[wish]
	lower := strings.ToLower(animal) // no allocation when already lower case
	for _, not := range w.Not {
		if strings.Contains(lower, not) {
			return false
		}
	}
	for _, f := range w.Facts {
		if strings.Contains(lower, f) {
			return true
		}
	}
	return false
}

// explicitWishes are the wishes of vocabulary.yaml's wishes list (not the
// animals), in its order: the kinds of diving and life a place is known for.
func explicitWishes() []string { return vocab().explicit }
