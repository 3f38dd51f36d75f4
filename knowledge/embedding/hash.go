package embedding

import (
	"context"
	"hash/fnv"
	"math"
	"strings"
	"unicode"
)

// Hash is a deterministic feature-hashing embedder: word unigrams and
// bigrams (lower-cased, plurals folded, stop words dropped), each hashed to
// one of 768 dimensions with a hashed sign, weighted by 1 + ln(term
// frequency), then L2-normalised.
//
// It is lexical, not semantic: texts are close when they share words, so
// "hammerhead sharks" finds chunks that say "hammerhead", but not ones that
// only say "Sphyrna", and a Chinese query does not find English text. It
// needs no network and never changes, which makes it the default for
// development and tests.
type Hash struct{}

// HashModel is the model name stored beside hash vectors.
const HashModel = "hash-unigram-bigram-v2"

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
	words := terms(text)
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

// stopWords carry no topic; counting them only dilutes the words that do.
var stopWords = map[string]bool{
	"a": true, "an": true, "and": true, "are": true, "as": true, "at": true, "be": true, "by": true, "can": true,
	"for": true, "from": true, "in": true, "is": true, "it": true, "its": true, "of": true, "on": true, "or": true,
	"so": true, "that": true, "the": true, "their": true, "there": true, "this": true, "to": true, "with": true,
}

// stem folds simple English plurals: hammerheads → hammerhead, species stays.
func stem(w string) string {
	switch {
	case len(w) <= 3:
		return w
	case strings.HasSuffix(w, "ies") && len(w) > 4:
		return w[:len(w)-3] + "y"
	case strings.HasSuffix(w, "ss"), strings.HasSuffix(w, "us"), strings.HasSuffix(w, "is"), strings.HasSuffix(w, "ies"):
		return w
	case strings.HasSuffix(w, "s"):
		return w[:len(w)-1]
	}
	return w
}

// terms are the words the embedder counts: lower-case, stemmed, no stop words.
func terms(text string) []string {
	var out []string
	for _, w := range Words(text) {
		if !stopWords[w] {
			out = append(out, stem(w))
		}
	}
	return out
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
