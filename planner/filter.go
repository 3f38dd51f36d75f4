package planner

import (
	"cmp"
	"math"
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
	ID               uuid.UUID           `json:"id"`
	Slug             string              `json:"slug"`
	NameEn           string              `json:"nameEn"`
	NameZh           string              `json:"nameZh"`
	Region           string              `json:"region"`
	State            string              `json:"state"`
	MinDepthM        int                 `json:"minDepthM"`
	MaxDepthM        int                 `json:"maxDepthM"`
	Latitude         float64             `json:"latitude"`
	Longitude        float64             `json:"longitude"`
	Difficulty       string              `json:"difficulty"`
	MinCertification string              `json:"minCertification"`
	BestSeason       string              `json:"bestSeason"`  // free text, e.g. "Year-round; calmest April to August"
	BestMonths       []int               `json:"bestMonths"`  // empty means unknown, never "closed"
	OpenMonths       []int               `json:"openMonths"`  // months boats run (models.DiveSite.DivedIn)
	RoughMonths      []int               `json:"roughMonths"` // open months with rougher seas: a caveat
	Sightings        []models.Sighting   `json:"sightings"`
	Specialties      []models.Specialty  `json:"specialties"` // training needed to dive the site at all
	GuideRequired    bool                `json:"guideRequired"`
	DaylightOnly     bool                `json:"daylightOnly"`
	MinAge           int                 `json:"minAge"` // 0 when no source gives one
	Permit           *models.Permit      `json:"permit,omitempty"`
	Safety           []models.SafetyNote `json:"safety"`
	Closures         []models.Closure    `json:"closures"` // dated closures are for the answer to mention
	MarineLife       []string            `json:"marineLife"`
	Operators        []Operator          `json:"operators"`
}

// SiteFromModel converts a stored site (with its operators preloaded).
func SiteFromModel(m models.DiveSite) Site {
	s := Site{ID: m.ID, Slug: m.Slug, NameEn: m.NameEn, NameZh: m.NameZh, Region: m.Region, State: m.State,
		MinDepthM: m.MinDepthM, MaxDepthM: m.MaxDepthM, Latitude: m.Latitude, Longitude: m.Longitude, Difficulty: m.Difficulty, MinCertification: m.MinCertification,
		BestSeason: m.BestSeason, BestMonths: m.BestMonths, MarineLife: m.MarineLife,
		RoughMonths: m.Facts.RoughMonths, Sightings: m.Facts.Sightings,
		Specialties: m.Facts.Requirements.Specialties, GuideRequired: m.Facts.Requirements.GuideRequired,
		MinAge: m.Facts.Requirements.MinAge, DaylightOnly: m.Facts.Requirements.DaylightOnly, Permit: m.Facts.Requirements.Permit, Safety: m.Facts.Safety,
		Closures: m.Facts.Closures}
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
	Wishes   []string  // set by Select: the diver's wishes this site offers in the months asked
	Outside  bool      // set by Select for an alternative: it is outside the places asked for
}

// Rule kinds: why a diver may not dive a site (a Block) in a Selection.
const (
	RuleCertification = "certification" // Level: the site's minimum certification
	RuleBeginner      = "beginner"      // a beginner and a site above Open Water or rated advanced
	RuleSpecialty     = "specialty"     // Specialties: training the site needs that the diver has not stated
	RuleDepth         = "depth"         // Depth: the site's shallowest depth, below the diver's limit
	RuleClosed        = "closed"        // Months: asked months in which boats do not run to it
	RuleAge           = "age"           // Age: the site's minimum age, above the youngest diver's
	RuleAvoided       = "avoided"       // it lies in a place the diver ruled out
)

// Block is one rule that keeps a diver from a site.
type Block struct {
	Kind        string
	Level       string   // RuleCertification
	Specialties []string // RuleSpecialty
	Depth       int      // RuleDepth
	Months      []int    // RuleClosed
	Age         int      // RuleAge
}

// SiteCheck is a site the diver asked about by name (or in a place they
// named), with what keeps them from it; no blocks means they may dive it.
type SiteCheck struct {
	Site   Site
	Blocks []Block
	Wishes []string // the diver's wishes it offers in the months asked
}

// WishPlace is a site where a wish is recorded: the months it is seen there
// (nil for a kind of dive, which has no season) and what keeps this diver
// from the site.
type WishPlace struct {
	Site       Site
	Months     []int
	Likelihood models.Likelihood // the likeliest sighting's; "" for a kind of dive
	Blocks     []Block
}

// WishFinding is one of the diver's wishes: whether a presented site offers
// it in the months asked, and where it is recorded.
type WishFinding struct {
	Wish    string
	Offered bool
	Found   []WishPlace // best first: sites the diver may dive, then the fewest blocks
}

// NoFit kinds: why nothing fitted.
const (
	NoFitNoSites      = "no_sites"      // the catalogue is empty
	NoFitNothingSafe  = "nothing_safe"  // no site is safe for the diver's level, training, age or depth limit
	NoFitPlaceUnknown = "place_unknown" // no site in the places asked for
	NoFitPlaceUnsafe  = "place_unsafe"  // the places' sites are all unsafe for the diver
	NoFitMonsoon      = "monsoon"       // the places are on the east coast and the months are its monsoon
	NoFitPlaceClosed  = "place_closed"  // the places' safe sites are closed in the months
	NoFitClosed       = "closed"        // no safe site is open in the months
	NoFitOther        = "other"
)

// NoFit says, without words, why no site fits.
type NoFit struct {
	Kind        string
	PlaceMonths []int   // the months the places' safe sites are open (monsoon, place_closed)
	Shallowest  *Site   // nothing_safe under a depth limit: the shallowest site otherwise suitable
	PlaceBlocks []Block // place_unsafe: what keeps the diver from the places' sites
}

// Selection is what Select decided: the sites to present and everything an
// answer must explain about them. It holds no words: render.go writes them,
// in either language, for both generators.
type Selection struct {
	Fits []Candidate // sites meeting every constraint, best first
	// Alternatives, only when Fits is empty: the best safe sites open in
	// the months, outside the places asked for.
	Alternatives []Candidate
	// Elsewhere, beside Fits, are sites outside the places asked for that
	// offer a wish none of the places' sites does.
	Elsewhere []Candidate
	NoFit     NoFit // set when Fits is empty
	// WishesUnmet is true when the diver wished for something and none of the
	// presented sites offers any of it: they are alternatives too.
	WishesUnmet bool
	Wishes      []WishFinding // each wish, in the diver's order
	Checks      []SiteCheck   // sites the diver named, with what keeps them from each
	// DaylightOnly are the sites asked about where night dives were wished
	// for and the park allows diving only in daylight.
	DaylightOnly []Site
	// Monsoon: the months asked fall in the east coast's monsoon and the
	// diver named (or ruled out) a place there.
	Monsoon bool
}

// Presented are the sites an answer presents: the fits (and the sites
// elsewhere with the wish), or the alternatives.
func (s Selection) Presented() []Candidate {
	if len(s.Fits) > 0 {
		return append(slices.Clone(s.Fits), s.Elsewhere...)
	}
	return s.Alternatives
}

// Boosts added to a candidate's retrieval score. A chunk's fused score is at
// most 2/61 ≈ 0.033 and a site sums its best three, so a wish named in a
// site's facts outweighs a middling retrieval rank, as a guide would weigh it.
const (
	boostWishFact    = 0.04
	boostWishPassage = 0.015
	boostFullSeason  = 0.01
	boostBeginner    = 0.01
	boostNamed       = 0.05
	boostOpenToAll   = 0.005
)

// Select filters and ranks candidates by the diver's constraints and keeps
// at most n. A site the diver may not dive (certification, beginner rule,
// specialty training, minimum age, a shallowest depth below their limit, a
// month asked in which boats do not run, a place ruled out) is never
// returned, not even as an alternative. Places narrow the fits; when nothing
// fits, the alternatives are the best safe sites elsewhere. named are the
// sites the message names (their checks say whether the diver may dive them).
func Select(cands []Candidate, c Constraints, n int, named ...string) Selection {
	if n < 1 {
		n = 3
	}
	var fits, elsewhere []Candidate
	var sel Selection
	for _, cand := range cands {
		cand.Outside = false
		blocks := Blocks(cand.Site, c)
		if slices.Contains(named, cand.Site.Slug) {
			sel.Checks = append(sel.Checks, SiteCheck{Site: cand.Site, Blocks: blocks, Wishes: wishesOffered(cand, c.Wishes, c.Months)})
			cand.Score += boostNamed
		}
		if cand.Site.DaylightOnly && slices.Contains(c.Wishes, wishNightDives) &&
			(slices.Contains(named, cand.Site.Slug) || len(c.Places) > 0 && matchesPlace(cand.Site, c.Places)) {
			sel.DaylightOnly = append(sel.DaylightOnly, cand.Site)
		}
		if len(blocks) > 0 {
			continue
		}
		cand.Wishes = wishesOffered(cand, c.Wishes, c.Months)
		cand.Score += boost(cand, c)
		if matchesPlace(cand.Site, c.Places) {
			fits = append(fits, cand)
		} else {
			cand.Outside = true
			elsewhere = append(elsewhere, cand)
		}
	}
	for _, list := range [][]Candidate{fits, elsewhere} {
		slices.SortStableFunc(list, byScore)
		if slices.Contains(c.Wishes, wishNightDives) {
			// Where night dives are asked for, a daylight-only park comes
			// last: it is offered only when it is the place asked about.
			slices.SortStableFunc(list, func(a, b Candidate) int { return boolInt(a.Site.DaylightOnly) - boolInt(b.Site.DaylightOnly) })
		}
	}
	wishedElsewhere := slices.DeleteFunc(slices.Clone(elsewhere), func(c Candidate) bool { return len(c.Wishes) == 0 })
	switch {
	case len(fits) > 0 && len(c.Wishes) > 0 && !slices.ContainsFunc(fits, func(c Candidate) bool { return len(c.Wishes) > 0 }) && len(wishedElsewhere) > 0:
		// The places have nothing the diver wished for, and other sites do:
		// a guide gives the places' best and says where the wish is.
		k := max(1, min(len(fits), n-1)) // with one site to show, the place's own
		sel.Fits = fits[:k]
		nearFirst(wishedElsewhere, cands, c.Places)
		sel.Elsewhere = slices.Clone(wishedElsewhere[:min(n-k, len(wishedElsewhere))])
	case len(fits) > 0:
		if len(c.Wishes) > 0 && len(c.Places) == 0 && !slices.ContainsFunc(fits, func(c Candidate) bool { return len(c.Wishes) > 0 }) {
			// Nothing offers the wish: the nearest likes of where it is found.
			var anchors []Site
			for _, w := range c.Wishes {
				for _, wp := range wishPlaces(cands, w, c) {
					anchors = append(anchors, wp.Site)
				}
			}
			nearSites(fits, anchors)
		}
		sel.Fits = preferWished(fits, c.Wishes, n)
	default:
		nearFirst(elsewhere, cands, c.Places)
		sel.Alternatives = preferWished(elsewhere, c.Wishes, n)
		sel.NoFit = noFit(cands, c)
	}
	presented := sel.Presented()
	offered := map[string]bool{}
	for _, p := range presented {
		for _, w := range p.Wishes {
			offered[w] = true
		}
	}
	for _, w := range c.Wishes {
		sel.Wishes = append(sel.Wishes, WishFinding{Wish: w, Offered: offered[w], Found: wishPlaces(cands, w, c)})
	}
	sel.WishesUnmet = len(c.Wishes) > 0 && len(offered) == 0 && len(presented) > 0
	sel.Monsoon = inMonsoon(c.Months) && slices.ContainsFunc(cands, func(cand Candidate) bool {
		named := matchesPlace(cand.Site, c.Places) && len(c.Places) > 0 || len(c.AvoidPlaces) > 0 && matchesPlace(cand.Site, c.AvoidPlaces)
		return named && onEastCoast(cand.Site)
	})
	return sel
}

// preferWished keeps the n best; when some offer a wish, only those.
func preferWished(list []Candidate, wishes []string, n int) []Candidate {
	if len(wishes) > 0 && slices.ContainsFunc(list, func(c Candidate) bool { return len(c.Wishes) > 0 }) {
		// A site offering nothing the diver wished for is not listed beside
		// ones that do ("Jawfish Lair" without jawfish on record).
		list = slices.DeleteFunc(slices.Clone(list), func(c Candidate) bool { return len(c.Wishes) == 0 })
	}
	return slices.Clone(list[:min(n, len(list))])
}

// nearFirst orders alternatives for the places asked for as a guide would:
// the sites most like them (sharing the most kinds of diving and life) and
// nearest (Mabul for Sipadan), by a score of kilometres less 250 per shared
// wish, keeping score order for ties. With no place asked, a wish no site
// the diver may dive offers is the anchor: its sites' likes come first.
func nearFirst(list, all []Candidate, places []string) {
	if len(places) == 0 {
		return
	}
	var asked []Site
	for _, c := range all {
		if matchesPlace(c.Site, places) {
			asked = append(asked, c.Site)
		}
	}
	nearSites(list, asked)
}

// nearSites orders list by likeness and distance to the anchor sites.
func nearSites(list []Candidate, asked []Site) {
	if len(asked) == 0 {
		return
	}
	offers := map[string]bool{}
	for _, a := range asked {
		for _, w := range explicitWishes() {
			if wishInFacts(a, w, nil) {
				offers[w] = true
			}
		}
	}
	rank := func(s Site) float64 {
		km := math.Inf(1)
		for _, a := range asked {
			km = min(km, distanceKm(a, s))
		}
		for w := range offers {
			if wishInFacts(s, w, nil) {
				km -= 250
			}
		}
		return km
	}
	ranks := make(map[string]float64, len(list))
	for _, c := range list {
		ranks[c.Site.Slug] = rank(c.Site)
	}
	slices.SortStableFunc(list, func(a, b Candidate) int { return cmp.Compare(ranks[a.Site.Slug], ranks[b.Site.Slug]) })
}

// distanceKm is the great-circle distance between two sites.
func distanceKm(a, b Site) float64 {
	const r = 6371
	rad := math.Pi / 180
	dLat, dLon := (b.Latitude-a.Latitude)*rad, (b.Longitude-a.Longitude)*rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(a.Latitude*rad)*math.Cos(b.Latitude*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * r * math.Asin(math.Sqrt(h))
}

func byScore(a, b Candidate) int {
	return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(a.Site.Slug, b.Site.Slug))
}

// Blocks lists what keeps the diver from the site: certification, beginner
// rule, the specialty training the site requires (Turtle Cavern's cavern
// training), which the diver must have stated, the site's minimum age, a
// depth limit above the site's shallowest part (a site deeper in places is
// dived within the limit: the answer says so), a month asked in which boats
// do not run, and a place the diver ruled out. None means they may dive it.
func Blocks(s Site, c Constraints) []Block {
	var out []Block
	if !withinCertification(s, c.Certification) {
		out = append(out, Block{Kind: RuleCertification, Level: s.MinCertification})
	}
	if !beginnerOK(s, c.Experience) {
		out = append(out, Block{Kind: RuleBeginner})
	}
	if missing := missingSpecialties(s, c.Specialties); len(missing) > 0 {
		out = append(out, Block{Kind: RuleSpecialty, Specialties: missing})
	}
	if c.Age > 0 && s.MinAge > c.Age {
		out = append(out, Block{Kind: RuleAge, Age: s.MinAge})
	}
	if c.MaxDepthM > 0 && s.MinDepthM > c.MaxDepthM {
		out = append(out, Block{Kind: RuleDepth, Depth: s.MinDepthM})
	}
	if closed := closedMonths(s, c.Months); len(closed) > 0 {
		out = append(out, Block{Kind: RuleClosed, Months: closed})
	}
	if len(c.AvoidPlaces) > 0 && matchesPlace(s, c.AvoidPlaces) {
		out = append(out, Block{Kind: RuleAvoided})
	}
	return out
}

// wishNightDives is the wish a daylight-only site cannot offer.
const wishNightDives = "night_dives"

// safe reports whether the diver may dive the site at all, whatever the
// months and places.
func safe(s Site, c Constraints) bool {
	c.Months, c.AvoidPlaces = nil, nil
	return len(Blocks(s, c)) == 0
}

// missingSpecialties are the specialties the site requires that the diver
// has not said they hold (an unstated one is not held).
func missingSpecialties(s Site, held []string) []string {
	var out []string
	for _, sp := range s.Specialties {
		if !slices.Contains(held, string(sp)) {
			out = append(out, string(sp))
		}
	}
	return out
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

// closedMonths are the months asked in which boats do not run to the site
// (its open months; a site built without them, as in tests, falls back to
// its best months, and one with neither is never treated as closed). A trip
// is in every month it names, so each must be open.
func closedMonths(s Site, months []int) []int {
	open := openMonths(s)
	if open == nil {
		return nil
	}
	var out []int
	for _, m := range months {
		if !slices.Contains(open, m) {
			out = append(out, m)
		}
	}
	return out
}

// inSeason: boats run to the site in every month asked.
func inSeason(s Site, months []int) bool { return len(closedMonths(s, months)) == 0 }

func fullSeason(s Site, months []int) bool {
	for _, m := range months {
		if !slices.Contains(s.BestMonths, m) {
			return false
		}
	}
	return len(months) > 0 && len(s.BestMonths) > 0
}

func slugify(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(strings.ReplaceAll(s, "-", " "))), "-")
}

// matchesPlace: a place key names the site's region or state, or an island
// its slug starts with or its English name contains, or a place made of
// states (the vocabulary's states: the east coast, the peninsula) holds the
// site's state.
func matchesPlace(s Site, places []string) bool {
	if len(places) == 0 {
		return true
	}
	region, state, name := slugify(s.Region), slugify(s.State), slugify(s.NameEn)
	for _, p := range places {
		if p == region || p == state || strings.HasPrefix(s.Slug, p+"-") || s.Slug == p ||
			strings.Contains("-"+name+"-", "-"+p+"-") || slices.Contains(vocab().states[p], state) {
			return true
		}
	}
	return false
}

// wishInFacts reports whether the site's facts offer the wish: its fact
// words are looked for in the animals
// seen at the site in the months asked (all of them when none are) and its
// other marine life, and for wishes that are kinds of dive (wrecks, walls,
// drift, reef), its name too. An animal wish never matches a site's name
// ("Mantabuan" has no mantas) or a passage that mentions it (one says when
// whale sharks pass, not that they do in August).
func wishInFacts(s Site, wish string, months []int) bool {
	if wish == wishNightDives && s.DaylightOnly {
		return false
	}
	if limit := vocab().wishes[wish].ShallowerThan; limit > 0 {
		return s.MinDepthM <= 5 && s.MaxDepthM > 0 && s.MaxDepthM <= limit
	}
	has := func(text string) bool { return isTheWish(wish, text) }
	if !isAnimalWish(wish) && (has(s.NameEn) || has(s.Slug)) {
		return true
	}
	for _, sg := range s.Sightings {
		if (len(months) == 0 || len(sg.Months) == 0 || len(intersect(months, sg.Months)) > 0) && has(sg.Animal) {
			return true
		}
	}
	for _, l := range s.MarineLife {
		if has(l) && !sightingOutOfMonths(s, l, months) {
			return true
		}
	}
	return false
}

// wishSeason returns the months the site's sightings of a wished-for animal
// are recorded in; nil when it has none (a kind of dive, or life listed
// without months).
func wishSeason(s Site, wish string) []int {
	var out []int
	for _, sg := range s.Sightings {
		if isTheWish(wish, sg.Animal) {
			out = append(out, sg.Months...)
		}
	}
	return sortedUnique(out)
}

// wishLikelihood is the likeliest of the site's sightings of the wish.
func wishLikelihood(s Site, wish string) models.Likelihood {
	best := models.Likelihood("")
	order := models.Likelihood("").Values()
	for _, sg := range s.Sightings {
		if !sightingOffers(sg, wish, nil) {
			continue
		}
		if best == "" || slices.Index(order, string(sg.Likelihood)) < slices.Index(order, string(best)) {
			best = sg.Likelihood
		}
	}
	return best
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
		if isAnimalWish(w) || vocab().wishes[w].FactsOnly {
			continue
		}
		if lower == "" {
			texts := make([]string, len(cand.Passages))
			for i, p := range cand.Passages {
				texts[i] = p.Text
			}
			lower = strings.ToLower(strings.Join(texts, "\n"))
		}
		if mentions(lower, vocab().wishTerms, w) {
			out = append(out, w)
		}
	}
	return out
}

// wishPlaces lists up to five sites whose facts record the wish in any
// month, with its months there and what keeps this diver from each: those
// in the places asked for first, then the fewest blocks, the longest season.
func wishPlaces(cands []Candidate, wish string, c Constraints) []WishPlace {
	var out []WishPlace
	for _, cand := range cands {
		if !wishInFacts(cand.Site, wish, nil) {
			continue
		}
		out = append(out, WishPlace{Site: cand.Site, Months: wishSeason(cand.Site, wish), Likelihood: wishLikelihood(cand.Site, wish),
			Blocks: Blocks(cand.Site, c)})
	}
	slices.SortStableFunc(out, func(a, b WishPlace) int {
		return cmp.Or(boolInt(!matchesPlace(a.Site, c.Places))-boolInt(!matchesPlace(b.Site, c.Places)),
			cmp.Compare(len(a.Blocks), len(b.Blocks)), cmp.Compare(len(b.Months), len(a.Months)), cmp.Compare(a.Site.Slug, b.Site.Slug))
	})
	return out[:min(5, len(out))]
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
	if c.Certification == "" && cand.Site.MinCertification == models.CertificationLevels[0] {
		b += boostOpenToAll // a guide not knowing the card suggests what every diver may dive first
	}
	return b
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

// monsoonMonths close the east coast: the north-east monsoon of northern
// winter.
var monsoonMonths = []int{11, 12, 1, 2}

func inMonsoon(months []int) bool {
	return slices.ContainsFunc(months, func(m int) bool { return slices.Contains(monsoonMonths, m) })
}

func onEastCoast(s Site) bool { return slices.Contains(vocab().states["east-coast"], slugify(s.State)) }

// placeBlocks are the rules (months and places aside) that keep the diver
// from every site of the places asked for: the ones they all share.
func placeBlocks(cands []Candidate, c Constraints) []Block {
	c.Months, c.AvoidPlaces = nil, nil
	same := func(a, b Block) bool {
		return a.Kind == b.Kind && a.Level == b.Level && slices.Equal(a.Specialties, b.Specialties) && a.Depth == b.Depth
	}
	var out []Block
	first := true
	for _, cand := range cands {
		if !matchesPlace(cand.Site, c.Places) {
			continue
		}
		bs := Blocks(cand.Site, c)
		if first {
			out, first = bs, false
			continue
		}
		out = slices.DeleteFunc(out, func(o Block) bool { return !slices.ContainsFunc(bs, func(b Block) bool { return same(o, b) }) })
	}
	return out
}

// noFit decides why nothing fits.
func noFit(cands []Candidate, c Constraints) NoFit {
	if len(cands) == 0 {
		return NoFit{Kind: NoFitNoSites}
	}
	safeCount := 0
	for _, cand := range cands {
		if safe(cand.Site, c) {
			safeCount++
		}
	}
	if safeCount == 0 {
		nf := NoFit{Kind: NoFitNothingSafe}
		if s, ok := shallowest(cands, c); ok {
			nf.Shallowest = &s
		}
		return nf
	}
	var placeSites, placeSafe int
	var placeMonths []int
	monsoon := false
	for _, cand := range cands {
		if len(c.Places) > 0 && matchesPlace(cand.Site, c.Places) {
			placeSites++
			if safe(cand.Site, c) {
				placeSafe++
				placeMonths = append(placeMonths, openMonths(cand.Site)...)
			}
			if onEastCoast(cand.Site) {
				monsoon = true
			}
		}
	}
	switch {
	case len(c.Places) > 0 && placeSites == 0:
		return NoFit{Kind: NoFitPlaceUnknown}
	case len(c.Places) > 0 && placeSafe == 0:
		return NoFit{Kind: NoFitPlaceUnsafe, PlaceBlocks: placeBlocks(cands, c)}
	case monsoon && inMonsoon(c.Months):
		return NoFit{Kind: NoFitMonsoon, PlaceMonths: sortedUnique(placeMonths)}
	case len(c.Places) > 0 && len(c.Months) > 0:
		return NoFit{Kind: NoFitPlaceClosed, PlaceMonths: sortedUnique(placeMonths)}
	case len(c.Months) > 0:
		return NoFit{Kind: NoFitClosed}
	}
	return NoFit{Kind: NoFitOther}
}

func sortedUnique(xs []int) []int { return slices.Compact(sortedCopy(xs)) }

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

// sightingOutOfMonths: the marine-life entry is an animal with a recorded
// sighting season that misses every month asked, so the list does not
// offer it either (Lankayan lists whale sharks; they pass March–May).
func sightingOutOfMonths(s Site, life string, months []int) bool {
	if len(months) == 0 {
		return false
	}
	for _, sg := range s.Sightings {
		if strings.EqualFold(sg.Animal, life) && len(sg.Months) > 0 {
			return !slices.ContainsFunc(months, func(m int) bool { return slices.Contains(sg.Months, m) })
		}
	}
	return false
}
