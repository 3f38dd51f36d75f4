package knowledge_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/dovvydive/backend/knowledge"
)

func fill(x float64) []float64 {
	v := make([]float64, 768)
	for i := range v {
		v[i] = x
	}
	return v
}

func TestQueryVector_RefusesVectorsCosineCannotRank(t *testing.T) {
	oneTiny := make([]float64, 768)
	oneTiny[0] = 1e-30
	for name, v := range map[string][]float64{
		"3.4e38 everywhere (norm overflows)": fill(3.4e38),
		"1e38 everywhere (norm overflows)":   fill(1e38),
		"1e-45 everywhere (subnormal)":       fill(1e-45),
		"1e-30 everywhere (norm underflows)": fill(1e-30),
		"one 1e-30 (norm underflows)":        oneTiny,
		"all zeros":                          fill(0),
		"beyond float32":                     fill(1e39),
		"infinite":                           fill(math.Inf(1)),
		"short":                              fill(1)[:767],
	} {
		_, err := knowledge.QueryVector(v)
		var inputErr *knowledge.InputError
		if assert.ErrorAs(t, err, &inputErr, name) {
			assert.Equal(t, "embedding", inputErr.Field, name)
		}
	}
}

func TestQueryVector_AcceptsOrdinaryVectorsAtAnyReasonableScale(t *testing.T) {
	for _, x := range []float64{1, 1e-3, 1e-15, 1e15} {
		v, err := knowledge.QueryVector(fill(x))
		assert.NoError(t, err, x)
		assert.Len(t, v, 768)
	}
}
