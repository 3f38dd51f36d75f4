package dbtest

import (
	"math/rand/v2"

	"github.com/dovvydive/backend/knowledge/embedding"
)

// RandomUnit returns a random unit vector of the stored dimension.
func RandomUnit(r *rand.Rand) []float32 {
	v := make([]float32, embedding.Dimensions)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	embedding.Normalize(v)
	return v
}

// Near returns a unit vector drawn around centre with per-component noise
// spread: the clustered structure real embeddings have, unlike uniform noise,
// on which every point is nearly equidistant and any approximate index looks
// broken.
func Near(r *rand.Rand, centre []float32, spread float32) []float32 {
	v := make([]float32, len(centre))
	for i := range v {
		v[i] = centre[i] + spread*float32(r.NormFloat64())
	}
	embedding.Normalize(v)
	return v
}
