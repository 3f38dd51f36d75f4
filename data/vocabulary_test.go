package data_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/data"
)

func TestOtherNames_GivesEachMentionedTermsOtherNamesInTheAskedLanguage(t *testing.T) {
	v, err := data.LoadVocabulary()
	require.NoError(t, err)
	assert.Equal(t, []string{"路氏双髻鲨", "双髻鲨"}, v.OtherNames("哪里可以看到锤头鲨？", "zh"))
	assert.Equal(t, []string{"scalloped hammerhead"}, v.OtherNames("Where are the Hammerheads?", "en"))
	assert.Contains(t, v.OtherNames("七彩麒麟鱼在哪里", "zh"), "五彩青蛙鱼")
	assert.Empty(t, v.OtherNames("scalloped hammerhead", "en"), "a name the text uses is not repeated")
	assert.NotContains(t, v.OtherNames("a hammerheadless reef", "en"), "scalloped hammerhead", "whole words only")
}

func TestAnimalsIn_FindsAnimalsByAnyNameInEitherLanguage(t *testing.T) {
	v, err := data.LoadVocabulary()
	require.NoError(t, err)
	assert.Equal(t, []string{"scalloped hammerhead"}, v.AnimalsIn("哪里可以看到成群的锤头鲨？"))
	assert.ElementsMatch(t, []string{"whale shark", "mandarinfish"}, v.AnimalsIn("Whale sharks or mandarin fish?"))
	assert.Empty(t, v.AnimalsIn("Sipadan in May"))
	assert.ElementsMatch(t, []string{"sea turtle", "green turtle", "hawksbill turtle"}, v.AnimalsIn("turtles at Redang"),
		"a kind counts for the animal asked for")
	assert.Equal(t, []string{"turtle skeletons"}, v.AnimalsIn("洞里的海龟骨骼"), "the longest Chinese name wins its stretch")
	assert.Empty(t, v.AnimalsIn("Any Mandarin-speaking dive shops?"), "a language is not a fish")
}

func TestParseVocabulary_RefusesATermWithoutBothNamesAndANameWithTwoMeanings(t *testing.T) {
	_, err := data.ParseVocabulary([]byte("animals:\n  - en: \"turtle\"\n"))
	assert.ErrorContains(t, err, "en and zh are both required")
	_, err = data.ParseVocabulary([]byte("animals:\n  - en: \"turtle\"\n    zh: \"海龟\"\n  - en: \"Turtle\"\n    zh: \"龟\"\n"))
	assert.ErrorContains(t, err, "is both")
	_, err = data.ParseVocabulary([]byte("animals:\n  - en: \"turtle\"\n    zh: \"海龟\"\n    aliasesEn: [\"\"]\n"))
	assert.ErrorContains(t, err, "empty alias", "an empty alias would match every text")
}
