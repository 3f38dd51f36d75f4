package planner

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/dovvydive/backend/models"
)

// Operator is a dive centre that serves a site.
type Operator struct {
	Name   string `json:"name"`
	NameZh string `json:"nameZh"`
}

// Site holds the facts about a dive site the planner reasons with.
type Site struct {
	ID               uuid.UUID          `json:"id"`
	Slug             string             `json:"slug"`
	NameEn           string             `json:"nameEn"`
	NameZh           string             `json:"nameZh"`
	Region           string             `json:"region"`
	State            string             `json:"state"`
	MinDepthM        int                `json:"minDepthM"`
	MaxDepthM        int                `json:"maxDepthM"`
	Difficulty       string             `json:"difficulty"`
	MinCertification string             `json:"minCertification"`
	BestSeason       string             `json:"bestSeason"`  // free text, e.g. "Year-round; calmest April to August"
	BestMonths       []int              `json:"bestMonths"`  // empty means unknown, never "closed"
	OpenMonths       []int              `json:"openMonths"`  // months boats run (models.DiveSite.DivedIn)
	RoughMonths      []int              `json:"roughMonths"` // open months with rougher seas: a caveat
	Sightings        []models.Sighting  `json:"sightings"`
	Specialties      []models.Specialty `json:"specialties"` // training needed to dive the site at all
	GuideRequired    bool               `json:"guideRequired"`
	MarineLife       []string           `json:"marineLife"`
	Operators        []Operator         `json:"operators"`
}

// SiteFromModel converts a stored site (with its operators preloaded).
func SiteFromModel(m models.DiveSite) Site {
	s := Site{ID: m.ID, Slug: m.Slug, NameEn: m.NameEn, NameZh: m.NameZh, Region: m.Region, State: m.State,
		MinDepthM: m.MinDepthM, MaxDepthM: m.MaxDepthM, Difficulty: m.Difficulty, MinCertification: m.MinCertification,
		BestSeason: m.BestSeason, BestMonths: m.BestMonths, MarineLife: m.MarineLife,
		RoughMonths: m.Facts.RoughMonths, Sightings: m.Facts.Sightings,
		Specialties: m.Facts.Requirements.Specialties, GuideRequired: m.Facts.Requirements.GuideRequired}
	if len(m.Facts.OpenMonths) > 0 || len(m.BestMonths) > 0 { // nil: when boats run is not known
		s.OpenMonths = []int{}
		for month := 1; month <= 12; month++ {
			if m.DivedIn(month) {
				s.OpenMonths = append(s.OpenMonths, month)
			}
		}
	}
	for _, o := range m.Operators {
		s.Operators = append(s.Operators, Operator{Name: o.Name, NameZh: o.NameZh})
	}
	return s
}

// Candidate is a site being considered, with its retrieval score and passages.
type Candidate struct {
	Site     Site
	Score    float64   // retrieval score; Select adds boosts for wishes and season
	Passages []Passage // this site's retrieved passages, best first
	Reason   string    // set by Select, in the diver's language
	Unmet    []string  // for alternatives: the constraints it does not meet (UnmetPlace)
	Wishes   []string  // set by Select: the diver's wishes this site offers
}

// Selection is what Select chose.
type Selection struct {
	Fits         []Candidate // sites meeting every constraint, best first
	Alternatives []Candidate // only when Fits is empty: the nearest safe sites, with what differs
	Why          string      // only when Fits is empty: why nothing fits, in the diver's language
}

// UnmetPlace in Candidate.Unmet marks an alternative outside the named places.
const UnmetPlace = "place"

// Boosts added to a candidate's retrieval score. A chunk's fused score is at
// most 2/61 ≈ 0.033 and a site sums its best three, so a wish named in a
// site's facts outweighs a middling retrieval rank, as a guide would weigh it.
const (
	boostWishFact    = 0.04
	boostWishPassage = 0.015
	boostFullSeason  = 0.01
	boostBeginner    = 0.01
)

// Select filters and ranks candidates by the diver's constraints and keeps
// at most n. Certification, the beginner rule and the depth limit are never
// relaxed: a site above the diver's certification, deeper than their limit
// or (for beginners) above Open Water or rated advanced is never returned,
// not even as an alternative; nor is a site out of season when months are
// given. Places narrow the fits; when nothing fits, the alternatives are the
// best safe sites in season elsewhere, and Why says what excluded the rest
// (for the named places, when they are in season).
func Select(cands []Candidate, c Constraints, n int) Selection {
	if n < 1 {
		n = 3
	}
	var fits, elsewhere []Candidate
	var safeCount int
	for _, cand := range cands {
		cand.Unmet = nil
		if !safe(cand.Site, c) {
			continue
		}
		safeCount++
		cand.Wishes = wishesOffered(cand, c.Wishes, c.Months)
		cand.Score += boost(cand, c)
		placeOK, seasonOK := matchesPlace(cand.Site, c.Places), inSeason(cand.Site, c.Months)
		switch {
		case placeOK && seasonOK:
			cand.Reason = reason(cand, c)
			fits = append(fits, cand)
		case seasonOK:
			cand.Unmet = []string{UnmetPlace}
			elsewhere = append(elsewhere, cand)
		}
	}
	for _, list := range [][]Candidate{fits, elsewhere} {
		slices.SortStableFunc(list, byScore)
	}
	if len(fits) > 0 {
		return Selection{Fits: fits[:min(n, len(fits))]}
	}

	// Nothing fits: offer the best safe sites in season elsewhere. Sites of
	// the named places out of season are not offered (that would recommend a
	// site out of its season); why() says when they are in season instead.
	var alts []Candidate
	for _, cand := range elsewhere[:min(n, len(elsewhere))] {
		cand.Reason = alternativeReason(cand, c)
		alts = append(alts, cand)
	}
	return Selection{Alternatives: alts, Why: why(cands, c, safeCount)}
}

func byScore(a, b Candidate) int {
	return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(a.Site.Slug, b.Site.Slug))
}

// safe reports whether the diver may dive the site at all: certification,
// beginner rule, the specialty training the site requires (Turtle Cavern's
// cavern training) which the diver must have stated, and a depth limit
// that reaches at least the site's shallowest part (a site deeper in places
// is dived within the limit: the answer says so).
func safe(s Site, c Constraints) bool {
	return withinCertification(s, c.Certification) && beginnerOK(s, c.Experience) && holdsSpecialties(s, c.Specialties) &&
		(c.MaxDepthM <= 0 || s.MinDepthM <= c.MaxDepthM)
}

// holdsSpecialties: the diver has said they hold every specialty the site
// requires (an unstated one is not held).
func holdsSpecialties(s Site, held []string) bool {
	for _, sp := range s.Specialties {
		if !slices.Contains(held, string(sp)) {
			return false
		}
	}
	return true
}

// withinCertification: a site whose minimum level is not in the levels up to
// the diver's is excluded. An unknown diver level filters nothing here (the
// answer states each site's requirement); an unknown site level is excluded
// when the diver's level is known, since it cannot be shown to be safe.
func withinCertification(s Site, level string) bool {
	if level == "" {
		return true
	}
	allowed, ok := models.CertificationsUpTo(level)
	if !ok {
		return true
	}
	return slices.Contains(allowed, s.MinCertification)
}

func beginnerOK(s Site, experience string) bool {
	if experience != ExperienceBeginner {
		return true
	}
	return s.MinCertification == models.CertificationLevels[0] && s.Difficulty != models.DifficultyAdvanced
}

// inSeason: with travel months given, boats must run to the site in at
// least one of them (its open months; a site built without them, as in
// tests, falls back to its best months). Best months only rank.
func inSeason(s Site, months []int) bool {
	open := openMonths(s)
	if len(months) == 0 || open == nil {
		return true
	}
	for _, m := range months {
		if slices.Contains(open, m) {
			return true
		}
	}
	return false
}

func fullSeason(s Site, months []int) bool {
	for _, m := range months {
		if !slices.Contains(s.BestMonths, m) {
			return false
		}
	}
	return len(months) > 0 && len(s.BestMonths) > 0
}

// placeGroups are places made of states.
var placeGroups = map[string][]string{
	"east-coast": {"terengganu", "pahang", "johor"},
	"borneo":     {"sabah", "sarawak", "labuan"},
}

func slugify(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(strings.ReplaceAll(s, "-", " "))), "-")
}

// matchesPlace: a place key names the site's region or state, or an island
// its slug starts with or its English name contains.
func matchesPlace(s Site, places []string) bool {
	if len(places) == 0 {
		return true
	}
	region, state, name := slugify(s.Region), slugify(s.State), slugify(s.NameEn)
	for _, p := range places {
		if p == region || p == state || strings.HasPrefix(s.Slug, p+"-") || s.Slug == p ||
			strings.Contains("-"+name+"-", "-"+p+"-") || slices.Contains(placeGroups[p], state) {
			return true
		}
	}
	return false
}

// wishFactWords find a wish in a site's marine life, name and slug.
var wishFactWords = map[string][]string{
	"turtles":      {"turtle"},
	"hammerheads":  {"hammerhead"},
	"whale_sharks": {"whale shark"},
	"sharks":       {"shark"},
	"manta":        {"manta"},
	"nudibranchs":  {"nudibranch"},
	"macro":        {"frogfish", "mandarinfish", "pipefish", "seahorse", "jawfish", "pygmy", "mimic octopus", "nudibranch", "blue-ringed", "leaf scorpionfish", "flamboyant cuttlefish"},
	"wrecks":       {"wreck"},
	"walls":        {"wall", "drop-off", "drop off"},
	"drift":        {"drift"},
	"barracuda":    {"barracuda"},
	"jacks":        {"trevally", "jack"},
	"reef":         {"coral", "reef"},
	"pelagics":     {"shark", "hammerhead", "manta", "barracuda", "trevally", "tuna", "eagle ray"},
}

// animalWishes are wishes for animals: a site offers one only when its facts
// record the animal (a sighting in the months asked, or its marine life),
// never because of its name ("Mantabuan" has no mantas) or a passage that
// mentions it (one says when whale sharks pass, not that they do in August).
var animalWishes = map[string]bool{"turtles": true, "hammerheads": true, "whale_sharks": true, "sharks": true,
	"manta": true, "nudibranchs": true, "macro": true, "barracuda": true, "jacks": true, "pelagics": true}

// notTheAnimal are recorded life that share a wish word but not the wish:
// bones are not turtles, and a diver asking for sharks does not mean the
// bamboo sharks resting under ledges.
var notTheAnimal = []string{"turtle skeletons", "bamboo shark"}

// siteFactsText is what wishFactWords are looked for in: the animals seen at
// the site in the months asked (all of them when none are) and its other
// marine life, and for wishes that are kinds of dive (wrecks, walls, drift,
// reef), its name too.
func siteFactsText(s Site, wish string, months []int) string {
	var parts []string
	if !animalWishes[wish] {
		parts = append(parts, s.NameEn, s.Slug)
	}
	for _, sg := range s.Sightings {
		if len(months) == 0 || len(sg.Months) == 0 || slices.ContainsFunc(months, func(m int) bool { return slices.Contains(sg.Months, m) }) {
			parts = append(parts, sg.Animal)
		}
	}
	for _, l := range s.MarineLife {
		if !slices.Contains(notTheAnimal, l) {
			parts = append(parts, l)
		}
	}
	text := strings.ToLower(strings.Join(parts, " | "))
	for _, not := range notTheAnimal {
		text = strings.ReplaceAll(text, not, "")
	}
	return text
}

func wishInFacts(s Site, wish string, months []int) bool {
	facts := siteFactsText(s, wish, months)
	for _, w := range wishFactWords[wish] {
		if strings.Contains(facts, w) {
			return true
		}
	}
	return false
}

// wishSeason returns the months the site's sightings of a wished-for animal
// are recorded in, for an answer given without months.
func wishSeason(s Site, wish string) []int {
	var out []int
	for _, sg := range s.Sightings {
		for _, w := range wishFactWords[wish] {
			if strings.Contains(strings.ToLower(sg.Animal), w) && !slices.Contains(notTheAnimal, strings.ToLower(sg.Animal)) {
				out = append(out, sg.Months...)
			}
		}
	}
	return sortedUnique(out)
}

// wishesOffered lists the diver's wishes the site offers in the months
// asked: animals from its facts only, kinds of dive from its facts, name or
// passages.
func wishesOffered(cand Candidate, wishes []string, months []int) []string {
	var out []string
	var lower string
	for _, w := range wishes {
		if wishInFacts(cand.Site, w, months) {
			out = append(out, w)
			continue
		}
		if animalWishes[w] {
			continue
		}
		if lower == "" {
			texts := make([]string, len(cand.Passages))
			for i, p := range cand.Passages {
				texts[i] = p.Text
			}
			lower = strings.ToLower(strings.Join(texts, "\n"))
		}
		if mentions(lower, wishTerms, w) {
			out = append(out, w)
		}
	}
	return out
}

func boost(cand Candidate, c Constraints) float64 {
	var b float64
	for _, w := range cand.Wishes {
		if wishInFacts(cand.Site, w, c.Months) {
			b += boostWishFact
		} else {
			b += boostWishPassage
		}
	}
	if fullSeason(cand.Site, c.Months) {
		b += boostFullSeason
	}
	if c.Experience == ExperienceBeginner && cand.Site.Difficulty == models.DifficultyBeginner {
		b += boostBeginner
	}
	return b
}

// depthRange writes "5–40 m" / "5–40米".
func depthRange(lang string, s Site) string {
	return fmt.Sprintf(tr(lang, "%d–%d m", "%d–%d米"), s.MinDepthM, s.MaxDepthM)
}

// reason says briefly why a fitting site was chosen.
func reason(cand Candidate, c Constraints) string {
	lang, s := c.Language, cand.Site
	var parts []string
	open := openMonths(s)
	switch {
	case open == nil: // not known: say nothing rather than guess
	case len(sortedUnique(open)) >= 12:
		parts = append(parts, tr(lang, "dived all year", "全年可潜"))
	case len(c.Months) > 0 && len(open) > 0:
		parts = append(parts, fmt.Sprintf(tr(lang, "open in %s", "%s开放"), formatMonths(lang, inSeasonMonths(s, c.Months))))
	case len(open) > 0:
		parts = append(parts, fmt.Sprintf(tr(lang, "dived %s", "%s可潜"), formatMonths(lang, open)))
	}
	if open != nil && len(s.BestMonths) > 0 && !slices.Equal(sortedUnique(s.BestMonths), sortedUnique(open)) {
		parts[len(parts)-1] += fmt.Sprintf(tr(lang, " (best %s)", "（最佳%s）"), formatMonths(lang, s.BestMonths))
	}
	if rough := intersect(c.Months, s.RoughMonths); len(rough) > 0 {
		parts = append(parts, fmt.Sprintf(tr(lang, "rougher seas in %s", "%s海况较差"), formatMonths(lang, rough)))
	}
	parts = append(parts, depthRange(lang, s))
	if c.MaxDepthM > 0 && s.MaxDepthM > c.MaxDepthM {
		parts = append(parts, fmt.Sprintf(tr(lang, "stay within your %d m", "请保持在%d米以内"), c.MaxDepthM))
	}
	if s.MinCertification != "" {
		parts = append(parts, fmt.Sprintf(tr(lang, "%s and above", "%s及以上"), certName(lang, s.MinCertification)))
	}
	if len(cand.Wishes) > 0 {
		names := make([]string, len(cand.Wishes))
		for i, w := range cand.Wishes {
			names[i] = wishName(lang, w)
		}
		parts = append(parts, fmt.Sprintf(tr(lang, "for %s", "可看%s"), joinList(lang, names)))
		if len(c.Months) == 0 {
			for _, w := range cand.Wishes {
				if ms := wishSeason(s, w); len(ms) > 0 && len(ms) < 12 {
					parts = append(parts, fmt.Sprintf(tr(lang, "%s seen %s", "%s出现于%s"), wishName(lang, w), formatMonths(lang, ms)))
				}
			}
		}
	}
	if s.GuideRequired {
		parts = append(parts, tr(lang, "only with a guide", "须由向导带领"))
	}
	return strings.Join(parts, tr(lang, "; ", "；"))
}

// inSeasonMonths are the asked months boats run to the site.
func inSeasonMonths(s Site, months []int) []int {
	return intersect(months, openMonths(s))
}

// openMonths are the months boats run to the site: its computed open months
// (empty when closures cover them all), or for a site built without them
// (tests), its best months; nil when not known, never treated as closed.
func openMonths(s Site) []int {
	if s.OpenMonths != nil {
		return s.OpenMonths
	}
	if len(s.BestMonths) > 0 {
		return s.BestMonths
	}
	return nil
}

// intersect returns the elements of a that b holds, in a's order.
func intersect(a, b []int) []int {
	var out []int
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// alternativeReason says what an alternative changes and why it is offered.
func alternativeReason(cand Candidate, c Constraints) string {
	lang, s := c.Language, cand.Site
	head := fmt.Sprintf(tr(lang, "not in %s", "不在%s"), placeNames(lang, c.Places))
	if len(c.Places) == 0 {
		head = tr(lang, "the nearest safe choice", "最接近的安全选择")
	}
	if len(c.Months) > 0 {
		head += fmt.Sprintf(tr(lang, ", but open in %s", "，但%s开放"), formatMonths(lang, inSeasonMonths(s, c.Months)))
	}
	rest := reason(Candidate{Site: s, Wishes: cand.Wishes}, Constraints{Language: lang})
	return head + tr(lang, "; ", "；") + rest
}

// monsoonMonths close the east coast (placeGroups["east-coast"]): the
// north-east monsoon of northern winter.
var monsoonMonths = []int{11, 12, 1, 2}

// why explains, in the diver's language, what excluded every site.
func why(cands []Candidate, c Constraints, safeCount int) string {
	lang := c.Language
	if len(cands) == 0 {
		return tr(lang, "I have no dive sites to recommend yet.", "我目前还没有可推荐的潜点。")
	}
	if safeCount == 0 {
		var limits []string
		if c.Certification != "" {
			name := certName(lang, c.Certification)
			limits = append(limits, fmt.Sprintf(tr(lang, "%s %s diver", "%s潜水员"), article(name), name))
		}
		if c.Experience == ExperienceBeginner {
			limits = append(limits, tr(lang, "a beginner", "新手"))
		}
		if c.MaxDepthM > 0 {
			limits = append(limits, fmt.Sprintf(tr(lang, "a limit of %d m", "最深%d米的限制"), c.MaxDepthM))
		}
		msg := fmt.Sprintf(tr(lang, "No site I know is safe for %s, so I cannot recommend one.",
			"我掌握的潜点里没有适合%s的，所以无法推荐。"), joinList(lang, limits))
		if s, ok := shallowest(cands, c); ok {
			msg += fmt.Sprintf(tr(lang, " The shallowest that suits you otherwise is %s, which starts at %d m.",
				"除深度外最浅的合适潜点是%s，从%d米起。"), siteName(lang, s), s.MinDepthM)
		}
		return msg
	}
	var placeSites, placeSafe int
	var placeMonths []int
	monsoon := false
	for _, cand := range cands {
		if len(c.Places) > 0 && matchesPlace(cand.Site, c.Places) {
			placeSites++
			if safe(cand.Site, c) {
				placeSafe++
				placeMonths = append(placeMonths, cand.Site.BestMonths...)
			}
			if slices.Contains(placeGroups["east-coast"], slugify(cand.Site.State)) {
				monsoon = true
			}
		}
	}
	inMonsoon := slices.ContainsFunc(c.Months, func(m int) bool { return slices.Contains(monsoonMonths, m) })
	switch {
	case len(c.Places) > 0 && placeSites == 0:
		return fmt.Sprintf(tr(lang, "I have no dive sites for %s yet.", "我还没有%s的潜点资料。"), placeNames(lang, c.Places))
	case len(c.Places) > 0 && placeSafe == 0:
		return fmt.Sprintf(tr(lang, "None of the sites in %s suits your certification, experience or depth limit.",
			"%s的潜点都不符合你的证书、经验或深度限制。"), placeNames(lang, c.Places))
	case monsoon && inMonsoon:
		return fmt.Sprintf(tr(lang,
			"%s is out of season in %s: the north-east monsoon closes most resorts and boats on the peninsula's east coast from about November to February, and its sites are best in %s.",
			"%s在%s不是潜水季：东北季风期间（约11月至次年2月）半岛东海岸的大多数度假村和船停运，那里最佳季节是%s。"),
			placeNames(lang, c.Places), formatMonths(lang, c.Months), formatMonths(lang, placeMonths))
	case len(c.Places) > 0 && len(c.Months) > 0:
		return fmt.Sprintf(tr(lang, "The sites in %s that suit you are out of season in %s; they are best in %s.",
			"%s适合你的潜点在%s都不当季，最佳季节是%s。"), placeNames(lang, c.Places), formatMonths(lang, c.Months),
			formatMonths(lang, placeMonths))
	case len(c.Months) > 0:
		return fmt.Sprintf(tr(lang, "No site that suits you is in season in %s.", "在%s没有适合你的当季潜点。"),
			formatMonths(lang, c.Months))
	}
	return tr(lang, "No site fits everything you asked for.", "没有完全符合你要求的潜点。")
}

func sortedUnique(xs []int) []int { return slices.Compact(sortedCopy(xs)) }

func article(word string) string {
	if word != "" && strings.ContainsRune("AEIOU", rune(word[0])) {
		return "an"
	}
	return "a"
}

// shallowest finds, when a depth limit excluded everything, the site that
// would suit the diver but for depth and reaches the least depth.
func shallowest(cands []Candidate, c Constraints) (Site, bool) {
	if c.MaxDepthM <= 0 {
		return Site{}, false
	}
	relaxed := c
	relaxed.MaxDepthM = 0
	var best Site
	found := false
	for _, cand := range cands {
		s := cand.Site
		if !safe(s, relaxed) || !inSeason(s, c.Months) || s.MinDepthM <= 0 {
			continue
		}
		if !found || s.MinDepthM < best.MinDepthM || (s.MinDepthM == best.MinDepthM && s.Slug < best.Slug) {
			best, found = s, true
		}
	}
	return best, found
}
