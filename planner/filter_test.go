package planner

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/models"
)

func site(slug, region, state, difficulty, cert string, minD, maxD int, months []int, life ...string) Site {
	return Site{ID: models.SiteID(slug), Slug: slug, NameEn: slug, NameZh: slug + "（中）", Region: region, State: state,
		MinDepthM: minD, MaxDepthM: maxD, Difficulty: difficulty, MinCertification: cert, BestMonths: months, MarineLife: life,
		Operators: []Operator{{Name: "Op " + slug}}}
}

var (
	allYear  = []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	eastDry  = []int{3, 4, 5, 6, 7, 8, 9, 10}
	testSite = []Site{
		site("sipadan-barracuda-point", "Semporna", "Sabah", "advanced", "advanced_open_water", 5, 40, []int{4, 5, 6, 7, 8}, "chevron barracuda", "green turtle", "grey reef shark"),
		site("mabul-paradise-reef", "Semporna", "Sabah", "beginner", "open_water", 5, 22, allYear, "frogfish", "green turtle", "nudibranchs"),
		site("kapalai-mandarin-valley", "Semporna", "Sabah", "intermediate", "open_water", 3, 18, allYear, "mandarinfish", "frogfish"),
		site("layang-layang-hammerhead-point", "Layang-Layang", "Sabah", "advanced", "advanced_open_water", 10, 40, []int{3, 4, 5, 6, 7, 8}, "scalloped hammerhead", "manta ray"),
		site("tioman-renggis-island", "Tioman", "Pahang", "beginner", "open_water", 3, 18, eastDry, "green turtle", "blacktip reef shark"),
		site("redang-tanjung-tokong", "Redang", "Terengganu", "intermediate", "open_water", 5, 25, eastDry, "barracuda", "trevally"),
		site("labuan-american-wreck", "Labuan", "Labuan", "advanced", "rescue_diver", 25, 35, []int{3, 4, 5, 6, 7, 8, 9, 10}, "batfish", "wreck fish"),
	}
)

func cands(scores map[string]float64) []Candidate {
	out := make([]Candidate, len(testSite))
	for i, s := range testSite {
		out[i] = Candidate{Site: s, Score: scores[s.Slug]}
	}
	return out
}

func slugsOf(cs []Candidate) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Site.Slug
	}
	return out
}

func TestSelect_NeverAboveTheDiversCertification(t *testing.T) {
	c := Constraints{Certification: "open_water", Language: "en"}
	sel := Select(cands(map[string]float64{"sipadan-barracuda-point": 1, "layang-layang-hammerhead-point": 0.9}), c, 3)
	require.NotEmpty(t, sel.Fits)
	for _, f := range sel.Fits {
		assert.Equal(t, "open_water", f.Site.MinCertification, f.Site.Slug)
	}
	aow := Select(cands(map[string]float64{"sipadan-barracuda-point": 1}), Constraints{Certification: "advanced_open_water"}, 3)
	assert.Equal(t, "sipadan-barracuda-point", aow.Fits[0].Site.Slug, "an AOW diver may dive AOW sites")
	assert.NotContains(t, slugsOf(Select(cands(map[string]float64{"labuan-american-wreck": 5}), Constraints{Certification: "advanced_open_water"}, 7).Fits),
		"labuan-american-wreck", "a rescue-diver site is above AOW")
}

func TestSelect_NeverOutOfSeasonWhenMonthsAreGiven(t *testing.T) {
	sel := Select(cands(map[string]float64{"tioman-renggis-island": 1, "redang-tanjung-tokong": 1}), Constraints{Months: []int{12}}, 7)
	for _, f := range sel.Fits {
		assert.Contains(t, f.Site.BestMonths, 12, f.Site.Slug)
	}
	assert.NotContains(t, slugsOf(sel.Fits), "tioman-renggis-island")
}

func TestSelect_UnderADepthLimitOffersSitesThatStartWithinItAndSaysToStayThere(t *testing.T) {
	sel := Select(cands(nil), Constraints{MaxDepthM: 12, Language: "en"}, 7)
	require.NotEmpty(t, sel.Fits)
	deeper := 0
	for _, f := range sel.Fits {
		assert.LessOrEqual(t, f.Site.MinDepthM, 12, f.Site.Slug)
		if f.Site.MaxDepthM > 12 {
			deeper++
			assert.Contains(t, SiteReason("en", f, Constraints{MaxDepthM: 12}, false), "can be dived within your 12 m", f.Site.Slug)
		}
	}
	assert.Positive(t, deeper, "sites deeper in places are offered, dived within the limit")
}

func TestSelect_ASiteNeedingASpecialtyOnlyForADiverWhoHoldsIt(t *testing.T) {
	all := cands(nil)
	for i := range all {
		if all[i].Site.Slug == "sipadan-barracuda-point" {
			all[i].Site.Specialties = []models.Specialty{models.SpecialtyCavern}
			all[i].Score = 10
		}
	}
	without := Select(all, Constraints{Certification: "advanced_open_water"}, 7)
	assert.NotContains(t, slugsOf(without.Fits), "sipadan-barracuda-point", "cavern training not stated")
	with := Select(all, Extract("I'm AOW and cavern trained", Constraints{}), 7)
	assert.Contains(t, slugsOf(with.Fits), "sipadan-barracuda-point")
	for text, want := range map[string][]string{
		"I'm AOW with cavern training. Can I dive the turtle tomb at Sipadan?": {"cavern"},
		"诗巴丹的海龟洞能进去吗？我有进阶和洞穴证书。":                                               {"cavern"},
		"Do I need cavern training for Turtle Cavern?":                         {},
		"I don't have cavern training":                                         {},
		"I'm not a cave diver":                                                 {},
		"我没有洞穴证书":                                                              {},
		"需要洞穴潜水证书吗？":                                                           {},
		"诗巴丹有洞穴吗？":                                                             {},
		"Is wreck penetration allowed at the Sugar Wreck?":                     {},
		"Should I take the deep specialty?":                                    {},
	} {
		assert.Equal(t, want, Extract(text, Constraints{}).Specialties, text)
	}
	held := Extract("I'm cavern certified", Constraints{})
	assert.Empty(t, Extract("sorry, I don't have cavern certification after all", held).Specialties, "a later denial removes the claim")
}

func TestSelect_BeginnersGetOnlyOpenWaterSitesThatAreNotAdvanced(t *testing.T) {
	sel := Select(cands(map[string]float64{"sipadan-barracuda-point": 1}), Constraints{Experience: ExperienceBeginner}, 7)
	require.NotEmpty(t, sel.Fits)
	for _, f := range sel.Fits {
		assert.Equal(t, "open_water", f.Site.MinCertification)
		assert.NotEqual(t, "advanced", f.Site.Difficulty)
	}
	assert.Contains(t, []string{"mabul-paradise-reef", "tioman-renggis-island"}, sel.Fits[0].Site.Slug,
		"beginner-rated sites rank first for beginners")
}

func TestSelect_PlacesNarrow(t *testing.T) {
	sel := Select(cands(map[string]float64{"tioman-renggis-island": 1}), Constraints{Places: []string{"semporna"}}, 7)
	assert.ElementsMatch(t, []string{"sipadan-barracuda-point", "mabul-paradise-reef", "kapalai-mandarin-valley"}, slugsOf(sel.Fits))

	sel = Select(cands(nil), Constraints{Places: []string{"east-coast"}}, 7)
	assert.ElementsMatch(t, []string{"tioman-renggis-island", "redang-tanjung-tokong"}, slugsOf(sel.Fits))

	sel = Select(cands(nil), Constraints{Places: []string{"layang-layang"}}, 7)
	assert.Equal(t, []string{"layang-layang-hammerhead-point"}, slugsOf(sel.Fits))

	sel = Select(cands(nil), Constraints{Places: []string{"sipadan", "tioman"}}, 7)
	assert.ElementsMatch(t, []string{"sipadan-barracuda-point", "tioman-renggis-island"}, slugsOf(sel.Fits))
}

func TestSelect_WishesOutrankRetrieval(t *testing.T) {
	sel := Select(cands(map[string]float64{"sipadan-barracuda-point": 0.03}), Constraints{Wishes: []string{"hammerheads"}, Certification: "advanced_open_water"}, 3)
	require.NotEmpty(t, sel.Fits)
	assert.Equal(t, "layang-layang-hammerhead-point", sel.Fits[0].Site.Slug)
	assert.Equal(t, []string{"hammerheads"}, sel.Fits[0].Wishes)
	assert.Contains(t, SiteReason("en", sel.Fits[0], Constraints{}, false), "hammerheads")

	// A wish found only in a retrieved passage counts too, for less.
	withPassage := cands(nil)
	for i := range withPassage {
		if withPassage[i].Site.Slug == "redang-tanjung-tokong" {
			withPassage[i].Passages = []Passage{{Text: "Drift along the wall with the current."}}
		}
	}
	sel = Select(withPassage, Constraints{Wishes: []string{"drift"}}, 1)
	assert.Equal(t, "redang-tanjung-tokong", sel.Fits[0].Site.Slug)
}

func TestSelect_EastCoastInDecemberOffersSabahAndExplainsTheMonsoon(t *testing.T) {
	for _, lang := range []string{"en", "zh"} {
		c := Constraints{Months: []int{12}, Places: []string{"tioman"}, Certification: "open_water", Language: lang}
		sel := Select(cands(nil), c, 3)
		assert.Empty(t, sel.Fits, lang)
		require.NotEmpty(t, sel.Alternatives, lang)
		for _, a := range sel.Alternatives {
			assert.Equal(t, "open_water", a.Site.MinCertification, "alternatives never relax certification")
			assert.True(t, a.Outside, "outside the place asked for")
			assert.Equal(t, "Sabah", a.Site.State)
			assert.Contains(t, a.Site.BestMonths, 12, "alternatives are never out of season")
			assert.Contains(t, SiteReason(lang, a, c, true), tr(lang, "not in Tioman", "不在刁曼岛"))
		}
		why := noFitText(lang, sel.NoFit, c)
		assert.Len(t, sel.Alternatives, 2, "the two safe Sabah sites open in December")
		if lang == "en" {
			assert.Contains(t, why, "north-east monsoon")
			assert.NotContains(t, why, "all year", "no claim about other states' seasons: the alternatives carry their own")
			assert.Contains(t, why, "December")
			assert.Contains(t, why, "March–October", "when the named place is in season")
		} else {
			assert.Contains(t, why, "东北季风")
			assert.NotContains(t, why, "全年")
			assert.Contains(t, why, "12月")
		}
	}
}

func TestSelect_NothingSafeSaysSoAndOffersNothing(t *testing.T) {
	c := Constraints{Certification: "open_water", MaxDepthM: 2, Language: "en"}
	sel := Select(cands(nil), c, 3)
	assert.Empty(t, sel.Fits)
	assert.Empty(t, sel.Alternatives)
	why := noFitText("en", sel.NoFit, c)
	assert.Contains(t, why, "an Open Water diver")
	assert.Contains(t, why, "2 m")
	assert.Contains(t, why, "kapalai-mandarin-valley, which starts at 3 m", "names the shallowest site that fits otherwise")
}

func TestSelect_UnknownPlaceOffersSitesElsewhere(t *testing.T) {
	c := Constraints{Places: []string{"miri"}, Language: "en"}
	sel := Select(cands(nil), c, 3)
	assert.Empty(t, sel.Fits)
	assert.Len(t, sel.Alternatives, 3)
	assert.Contains(t, noFitText("en", sel.NoFit, c), "Miri")
}

// Every combination of constraints: nothing returned, fit or alternative,
// ever breaks certification, depth or the beginner rule, and no fit is out of
// season or outside the named places.
func TestSelect_HardConstraintsHoldForEveryCombination(t *testing.T) {
	certs := append([]string{""}, models.CertificationLevels...)
	months := [][]int{nil, {1}, {4}, {7}, {12}, {11, 12, 1, 2}}
	depths := []int{0, 12, 18, 30}
	exps := []string{"", ExperienceBeginner}
	places := [][]string{nil, {"semporna"}, {"east-coast"}, {"labuan"}, {"miri"}}
	checked := 0
	for _, cert := range certs {
		for _, m := range months {
			for _, d := range depths {
				for _, e := range exps {
					for _, p := range places {
						c := Constraints{Certification: cert, Months: m, MaxDepthM: d, Experience: e, Places: p, Language: "en"}
						sel := Select(cands(map[string]float64{"labuan-american-wreck": 1, "sipadan-barracuda-point": 0.5}), c, 3)
						assert.LessOrEqual(t, len(sel.Fits)+len(sel.Alternatives), 3)
						for _, x := range append(slices.Clone(sel.Fits), sel.Alternatives...) {
							checked++
							assert.True(t, safe(x.Site, c), "%s unsafe for %+v", x.Site.Slug, c)
							assert.True(t, inSeason(x.Site, c.Months), "%s out of season for %+v", x.Site.Slug, c)
						}
						for _, f := range sel.Fits {
							assert.True(t, inSeason(f.Site, c.Months) && matchesPlace(f.Site, c.Places), "%s for %+v", f.Site.Slug, c)
						}
						if len(sel.Fits) == 0 {
							assert.NotEmpty(t, sel.NoFit.Kind, "%+v", c)
						}
					}
				}
			}
		}
	}
	assert.Greater(t, checked, 500, "the combinations returned sites to check")
}

func TestFormatMonths_WritesRunsForPeople(t *testing.T) {
	assert.Equal(t, "April–August", formatMonths("en", []int{4, 5, 6, 7, 8}))
	assert.Equal(t, "November–February", formatMonths("en", []int{1, 2, 11, 12}))
	assert.Equal(t, "July", formatMonths("en", []int{7}))
	assert.Equal(t, "March, May–June", formatMonths("en", []int{3, 5, 6}))
	assert.Equal(t, "all year", formatMonths("en", allYear))
	assert.Equal(t, "4月至8月", formatMonths("zh", []int{4, 5, 6, 7, 8}))
	assert.Equal(t, "全年", formatMonths("zh", allYear))
}

func TestSelect_EmptyCatalogSaysSo(t *testing.T) {
	sel := Select(nil, Constraints{Language: "en"}, 3)
	assert.Empty(t, sel.Fits)
	assert.Empty(t, sel.Alternatives)
	assert.Contains(t, noFitText("en", sel.NoFit, Constraints{}), "no dive sites")
}
