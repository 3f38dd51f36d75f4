package seeds_test

import (
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/data"
	"github.com/dovvydive/backend/knowledge"
	"github.com/dovvydive/backend/models"
	"github.com/dovvydive/backend/seeds"
)

var allYear = []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}

func sitesBySlug(t *testing.T) map[string]knowledge.Document {
	t.Helper()
	docs, err := seeds.Sites()
	require.NoError(t, err)
	by := map[string]knowledge.Document{}
	for _, d := range docs {
		by[d.Site.Slug] = d
	}
	return by
}

func TestCatalogue_EverySiteNamesItsSourcesAndWhenItIsOpen(t *testing.T) {
	for slug, d := range sitesBySlug(t) {
		f := d.Site.Facts
		assert.NotEmpty(t, f.Sources, "%s: every fact needs a public source", slug)
		assert.NotEmpty(t, f.OpenMonths, "%s: openMonths", slug)
		for _, sg := range f.Sightings {
			// A name is never a sighting: the animal must be in the texts.
			assert.Contains(t, strings.ToLower(d.English), strings.Fields(strings.ToLower(sg.Animal))[0],
				"%s: sighting %q is not described in the English text", slug, sg.Animal)
		}
	}
}

func TestCatalogue_EveryAnimalPlaceAndOperatorHasAChineseName(t *testing.T) {
	vocab, err := data.LoadVocabulary()
	require.NoError(t, err)
	operators, err := seeds.Operators()
	require.NoError(t, err)
	for _, o := range operators {
		assert.NotEmpty(t, o.NameZh, "operator %s", o.Slug)
	}
	for slug, d := range sitesBySlug(t) {
		names := append([]string{d.Site.Region, d.Site.State}, d.Site.MarineLife...)
		for _, sg := range d.Site.Facts.Sightings {
			names = append(names, sg.Animal)
			assert.NotEmpty(t, sg.AnimalZh, "%s: sighting %q", slug, sg.Animal)
		}
		for _, n := range names {
			_, ok := vocab.ZhName(n)
			assert.True(t, ok, "%s: %q has no Chinese name in data/vocabulary.yaml", slug, n)
		}
	}
}

func TestCatalogue_EverySiteHasAFullChineseText(t *testing.T) {
	for slug, d := range sitesBySlug(t) {
		han := 0
		for _, r := range d.Chinese {
			if unicode.Is(unicode.Han, r) {
				han++
			}
		}
		words := len(strings.Fields(d.English))
		// Chinese carries an English word's meaning in about 1.5 characters:
		// a text with fewer characters than the English has words is a summary.
		assert.GreaterOrEqual(t, han, words, "%s: %d Chinese characters for %d English words", slug, han, words)
	}
}

func TestCatalogue_HoldsTheCorrectedFacts(t *testing.T) {
	by := sitesBySlug(t)
	site := func(slug string) models.DiveSite {
		d, ok := by[slug]
		require.True(t, ok, slug)
		return d.Site
	}
	for slug, d := range by {
		if strings.HasPrefix(slug, "sipadan-") {
			// Sabah Parks: Advanced Open Water for every Sipadan site since 1 October 2022.
			assert.NotEqual(t, "open_water", d.Site.MinCertification, slug)
			assert.NotNil(t, d.Site.Facts.Requirements.Permit, "%s: the Sabah Parks permit", slug)
		}
	}
	cavern := site("sipadan-turtle-cavern").Facts.Requirements
	assert.Contains(t, cavern.Specialties, models.SpecialtyCavern, "Turtle Cavern is for cavern-trained divers only")
	assert.True(t, cavern.GuideRequired, "and with a guide")

	cement := site("labuan-cement-wreck")
	assert.Equal(t, "open_water", cement.MinCertification, "the Cement Wreck suits novices within 18 m")
	assert.LessOrEqual(t, cement.MinDepthM, 18)
	for _, slug := range []string{"labuan-american-wreck", "labuan-australian-wreck", "labuan-blue-water-wreck",
		"labuan-cement-wreck", "payar-coral-garden"} {
		assert.Equal(t, allYear, site(slug).Facts.OpenMonths, "%s is dived all year", slug)
	}
	assert.Contains(t, site("miri-siwa-reef").BestMonths, 3, "Miri is best from March")

	for _, sg := range site("mantanani-besar-reefs").Facts.Sightings {
		if sg.Animal == "dugong" {
			assert.Equal(t, models.LikelihoodRare, sg.Likelihood, "dugongs have been rare at Mantanani since about 2011")
		}
	}
	for _, slug := range []string{"kapalai-mandarin-valley", "pom-pom-mandarin-playground", "lankayan-jawfish-lair",
		"si-amil-island", "mabul-paradise-reef", "sipadan-drop-off"} {
		areas := []string{}
		for _, n := range site(slug).Facts.Safety {
			areas = append(areas, n.Area)
		}
		assert.Contains(t, areas, "ESSZone", "%s lies in the Eastern Sabah Security Zone", slug)
	}
	for _, slug := range []string{"mantabuan-island", "mantanani-besar-reefs"} {
		for _, sg := range site(slug).Facts.Sightings {
			assert.NotEqual(t, "manta ray", sg.Animal, "%s: a name is not a sighting", slug)
		}
	}
}

func TestCatalogue_SightingsKeepTheirMonths(t *testing.T) {
	months := func(slug, animal string) []int {
		for _, sg := range sitesBySlug(t)[slug].Site.Facts.Sightings {
			if strings.Contains(sg.Animal, animal) {
				return sg.Months
			}
		}
		t.Errorf("%s has no %s sighting", slug, animal)
		return nil
	}
	lankayan := months("lankayan-jawfish-lair", "whale shark")
	assert.Subset(t, lankayan, []int{3, 4, 5}, "whale sharks pass Lankayan March to May")
	assert.NotContains(t, lankayan, 8)
	assert.Subset(t, months("layang-layang-hammerhead-point", "hammerhead"), []int{3, 4, 5})
	assert.True(t, slices.Equal(months("kapalai-mandarin-valley", "mandarinfish"), allYear), "mandarinfish at dusk all year")
}
