// Package embedding turns text into the 768-dimensional vectors that the
// knowledge search compares: a deterministic feature-hashing embedder that
// needs no network, and Google's gemini-embedding-001.
package embedding

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// Dimensions is the size of every stored vector (the column is vector(768)).
const Dimensions = 768

// Embedder embeds documents in batches and queries one at a time. Documents
// and queries may be embedded differently (Gemini's task types).
type Embedder interface {
	// Model names the model; it is stored beside every vector it made.
	Model() string
	Dimensions() int
	EmbedDocuments(ctx context.Context, texts []string) ([][]float32, error)
	EmbedQuery(ctx context.Context, text string) ([]float32, error)
}

// ErrInvalidVector means a provider returned a vector that must not be stored.
var ErrInvalidVector = errors.New("invalid embedding")

// Check returns an error unless v has dims finite components and is not all zero.
func Check(v []float32, dims int) error {
	if len(v) != dims {
		return fmt.Errorf("%w: %d dimensions, want %d", ErrInvalidVector, len(v), dims)
	}
	var norm float64
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("%w: component %d is %v", ErrInvalidVector, i, x)
		}
		norm += float64(x) * float64(x)
	}
	if norm == 0 {
		return fmt.Errorf("%w: zero vector", ErrInvalidVector)
	}
	return nil
}

// Normalize scales v to unit length in place.
func Normalize(v []float32) {
	var norm float64
	for _, x := range v {
		norm += float64(x) * float64(x)
	}
	if norm == 0 {
		return
	}
	inv := 1 / math.Sqrt(norm)
	for i := range v {
		v[i] = float32(float64(v[i]) * inv)
	}
}
