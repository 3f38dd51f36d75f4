package embedding

import (
	"context"
	"hash/fnv"
	"math"
	"strings"
	"unicode"
)

// Hash is a deterministic feature-hashing embedder: word unigrams and
// bigrams, each hashed to one of 768 dimensions with a hashed sign, weighted
// by 1 + ln(term frequency), then L2-normalised.
//
// It is lexical, not semantic: texts are close when they share words, so
// "hammerhead sharks" finds chunks that say "hammerhead", but not ones that
// only say "Sphyrna", and a Chinese query does not find English text. It
// needs no network and never changes, which makes it the default for
// development and tests.
type Hash struct{}

// HashModel is the model name stored beside hash vectors.
const HashModel = "hash-unigram-bigram-v1"

func (Hash) Model() string   { return HashModel }
func (Hash) Dimensions() int { return Dimensions }

func (h Hash) EmbedDocuments(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = h.embed(t)
	}
	return out, nil
}

func (h Hash) EmbedQuery(_ context.Context, text string) ([]float32, error) {
	return h.embed(text), nil
}

func (Hash) embed(text string) []float32 {
	words := Words(text)
	counts := map[string]int{}
	for i, w := range words {
		counts[w]++
		if i > 0 {
			counts[words[i-1]+" "+w]++
		}
	}
	v := make([]float32, Dimensions)
	for term, n := range counts {
		f := fnv.New64a()
		f.Write([]byte(term))
		sum := f.Sum64()
		sign := float32(1)
		if sum>>63 == 1 {
			sign = -1
		}
		v[sum%Dimensions] += sign * float32(1+math.Log(float64(n)))
	}
	Normalize(v)
	if len(counts) == 0 {
		v[0] = 1 // a text with no words still gets a valid unit vector
	}
	return v
}

// Words splits text into lower-case words: runs of letters or digits, with
// each Han character a word of its own (Chinese has no spaces).
func Words(text string) []string {
	var words []string
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			words = append(words, b.String())
			b.Reset()
		}
	}
	for _, r := range strings.ToLower(text) {
		switch {
		case unicode.Is(unicode.Han, r):
			flush()
			words = append(words, string(r))
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		default:
			flush()
		}
	}
	flush()
	return words
}
