package data

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

//go:embed vocabulary.yaml
var vocabularyYAML []byte

// Term is one animal or place the catalogue names, in both languages.
type Term struct {
	En        string   `yaml:"en"`
	Zh        string   `yaml:"zh"`
	AliasesEn []string `yaml:"aliasesEn"`
	AliasesZh []string `yaml:"aliasesZh"`
	KindOf    string   `yaml:"kindOf"` // the English name of the animal this is a kind of ("sea turtle")
	// Key is the planner's name for a place divers ask for ("sipadan");
	// records sharing a key are one place to the planner.
	Key string `yaml:"key"`
	// States are, for a place made of states ("the east coast"), the site
	// states it covers.
	States []string `yaml:"states"`
}

// Wish is something divers hope to see or do, as the planner understands
// it (see the wishes section of vocabulary.yaml).
type Wish struct {
	Key       string   `yaml:"key"`
	En        string   `yaml:"en"`
	Zh        string   `yaml:"zh"`
	AliasesEn []string `yaml:"aliasesEn"`
	AliasesZh []string `yaml:"aliasesZh"`
	// Animal wishes are offered only by a site's recorded animals.
	Animal bool `yaml:"animal"`
	// Facts are the words of a site's facts that offer the wish.
	Facts []string `yaml:"facts"`
	// Not are recorded animals that contain a fact word but are not the
	// wish ("whale shark" for sharks, "turtle skeletons" for turtles).
	Not []string `yaml:"not"`
	// FactsOnly: only the site's facts offer it, never its texts.
	FactsOnly bool `yaml:"factsOnly"`
	// ShallowerThan, when set, offers the wish at every site dived from 5 m
	// or less and no deeper than this many metres.
	ShallowerThan int `yaml:"shallowerThan"`
}

// Vocabulary holds every animal and place name the site files use.
type Vocabulary struct {
	Animals []Term `yaml:"animals"`
	Places  []Term `yaml:"places"`
	Wishes  []Wish `yaml:"wishes"`

	zh map[string]string // lower-cased English name or alias → Chinese name

	namesOnce             sync.Once
	animalNames, allNames []termName
}

// ZhName returns the Chinese name of an animal or place given in English
// (any case, or an English alias), and false when the vocabulary lacks it.
func (v *Vocabulary) ZhName(en string) (string, bool) {
	zh, ok := v.zh[strings.ToLower(strings.TrimSpace(en))]
	return zh, ok
}

// LoadVocabulary parses the embedded vocabulary.yaml (once).
var LoadVocabulary = sync.OnceValues(func() (*Vocabulary, error) {
	return ParseVocabulary(vocabularyYAML)
})

// ParseVocabulary parses a vocabulary file: every term needs both names, and
// no English name or alias may mean two things.
func ParseVocabulary(raw []byte) (*Vocabulary, error) {
	v := &Vocabulary{}
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return nil, fmt.Errorf("parse vocabulary: %w", err)
	}
	v.zh = map[string]string{}
	for _, t := range append(append([]Term{}, v.Animals...), v.Places...) {
		if strings.TrimSpace(t.En) == "" || strings.TrimSpace(t.Zh) == "" {
			return nil, fmt.Errorf("vocabulary: %q: en and zh are both required", t.En+t.Zh)
		}
		for _, name := range append(append([]string{t.Zh}, t.AliasesZh...), t.AliasesEn...) {
			if strings.TrimSpace(name) == "" {
				return nil, fmt.Errorf("vocabulary: %q has an empty alias", t.En)
			}
		}
		for _, name := range append([]string{t.En}, t.AliasesEn...) {
			key := strings.ToLower(name)
			if prev, dup := v.zh[key]; dup && prev != t.Zh {
				return nil, fmt.Errorf("vocabulary: %q is both %s and %s", name, prev, t.Zh)
			}
			v.zh[key] = t.Zh
		}
	}
	wishKeys := map[string]bool{}
	for _, w := range v.Wishes {
		if w.Key == "" || strings.TrimSpace(w.En) == "" || strings.TrimSpace(w.Zh) == "" || len(w.Facts) == 0 {
			return nil, fmt.Errorf("vocabulary: wish %q: key, en, zh and facts are required", w.Key+w.En)
		}
		if wishKeys[w.Key] {
			return nil, fmt.Errorf("vocabulary: wish %q is listed twice", w.Key)
		}
		wishKeys[w.Key] = true
		for _, name := range append(append([]string{}, w.AliasesEn...), w.AliasesZh...) {
			if strings.TrimSpace(name) == "" {
				return nil, fmt.Errorf("vocabulary: wish %q has an empty alias", w.Key)
			}
		}
	}
	for _, t := range v.Animals {
		if t.KindOf != "" && !slices.ContainsFunc(v.Animals, func(k Term) bool { return k.En == t.KindOf }) {
			return nil, fmt.Errorf("vocabulary: %q is a kind of %q, which it does not list", t.En, t.KindOf)
		}
	}
	return v, nil
}

// AnimalsIn returns the English names of the animals text mentions by any
// of their names, in either language, and of the kinds of those animals
// ("turtles" is sea turtle, and so green turtle and hawksbill turtle).
func (v *Vocabulary) AnimalsIn(text string) []string {
	mentioned := mentionedTerms(v.names(false), text)
	named := map[string]bool{}
	for i := range mentioned {
		named[v.Animals[i].En] = true
	}
	var out []string
	for i, t := range v.Animals {
		if mentioned[i] || (t.KindOf != "" && named[t.KindOf]) {
			out = append(out, t.En)
		}
	}
	return out
}

// termName is one name of a term, for mentionedTerms.
type termName struct {
	text string
	term int
	zh   bool
}

// termNames lists every name of terms, longest first, as mentionedTerms
// matches them. Sorting them was most of a message's cost in this package,
// so the vocabulary keeps its two lists sorted (see names).
func termNames(terms []Term) []termName {
	var names []termName
	for i, t := range terms {
		for _, n := range append([]string{t.En}, t.AliasesEn...) {
			names = append(names, termName{strings.ToLower(n), i, false})
		}
		for _, n := range append([]string{t.Zh}, t.AliasesZh...) {
			names = append(names, termName{n, i, true})
		}
	}
	slices.SortStableFunc(names, func(a, b termName) int {
		return utf8.RuneCountInString(b.text) - utf8.RuneCountInString(a.text)
	})
	return names
}

// names returns the sorted names of the animals (all false) or of the
// animals and places (all true), built once.
func (v *Vocabulary) names(all bool) []termName {
	v.namesOnce.Do(func() {
		v.animalNames = termNames(v.Animals)
		v.allNames = termNames(append(append([]Term{}, v.Animals...), v.Places...))
	})
	if all {
		return v.allNames
	}
	return v.animalNames
}

// mentionedTerms reports which terms text names: an English name or alias
// as a whole word, any case; a Chinese one anywhere. Longer names are
// matched first and each stretch of text counts once, so "turtle skeletons"
// and "海龟骨骼" are turtle skeletons and not also turtles.
func mentionedTerms(names []termName, text string) map[int]bool {
	out := map[int]bool{}
	lower := " " + strings.ToLower(text) + " "
	for _, n := range names {
		switch {
		case n.zh && strings.Contains(lower, n.text):
		case !n.zh && containsWord(lower, n.text):
		default:
			continue
		}
		out[n.term] = true
		lower = strings.ReplaceAll(lower, n.text, " ")
	}
	return out
}

// OtherNames returns, for every animal and place text mentions by any of its
// names (English ones as whole words, any case; Chinese ones anywhere), the
// names in language lang ("en" or "zh") that text does not use: the English
// name, or every Chinese one. Search adds them to a query so that "锤头鲨"
// also finds texts that say "双髻鲨", and "hammerheads" the ones that say
// "scalloped hammerhead", without changing the query's language.
func (v *Vocabulary) OtherNames(text, lang string) []string {
	lower := " " + strings.ToLower(text) + " "
	var out []string
	seen := map[string]bool{}
	terms := append(append([]Term{}, v.Animals...), v.Places...)
	mentioned := mentionedTerms(v.names(true), text)
	for i, t := range terms {
		if !mentioned[i] {
			continue
		}
		zh := append([]string{t.Zh}, t.AliasesZh...)
		others := []string{t.En}
		if lang == "zh" {
			others = zh
		}
		for _, n := range others {
			if !seen[n] && !strings.Contains(lower, strings.ToLower(n)) {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return out
}

// containsWord reports whether padded (lower case, with a space at each
// end) holds word with no letter or digit either side.
func containsWord(padded, word string) bool {
	for i := 0; ; {
		j := strings.Index(padded[i:], word)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(word)
		before, _ := utf8.DecodeLastRuneInString(padded[:start])
		after, _ := utf8.DecodeRuneInString(padded[end:])
		if !unicode.IsLetter(before) && !unicode.IsDigit(before) && !unicode.IsLetter(after) && !unicode.IsDigit(after) {
			return true
		}
		i = start + 1
	}
}
