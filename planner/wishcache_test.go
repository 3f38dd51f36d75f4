package planner

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPassageWishes_AnswersAsMatchTermsAndStaysBounded(t *testing.T) {
	text := "Green turtles rest on the ledges; hammerheads pass in the blue, but not whale sharks."
	assert.Equal(t, matchTerms(text, wishTerms), passageWishes(text))
	assert.Equal(t, matchTerms(text, wishTerms), passageWishes(text), "the remembered answer is the same")
	for i := range maxCachedPassages + 10 {
		passageWishes(fmt.Sprintf("passage %d about turtles", i))
	}
	wishCache.mu.Lock()
	n := wishCache.n
	wishCache.mu.Unlock()
	assert.LessOrEqual(t, n, maxCachedPassages)
}
