package data

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"

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
}

// Vocabulary holds every animal and place name the site files use.
type Vocabulary struct {
	Animals []Term `yaml:"animals"`
	Places  []Term `yaml:"places"`

	zh map[string]string // lower-cased English name or alias → Chinese name
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
		for _, name := range append([]string{t.En}, t.AliasesEn...) {
			key := strings.ToLower(name)
			if prev, dup := v.zh[key]; dup && prev != t.Zh {
				return nil, fmt.Errorf("vocabulary: %q is both %s and %s", name, prev, t.Zh)
			}
			v.zh[key] = t.Zh
		}
	}
	return v, nil
}
