package models

import (
	"encoding/json"
	"slices"
)

// Likelihood says how likely an animal is to be seen at a site in its months.
type Likelihood string

// Likelihoods, most likely first.
const (
	LikelihoodCommon   Likelihood = "common"
	LikelihoodSeasonal Likelihood = "seasonal"
	LikelihoodRare     Likelihood = "rare"
)

// Values lists the valid likelihoods, most likely first.
func (Likelihood) Values() []string {
	return []string{string(LikelihoodCommon), string(LikelihoodSeasonal), string(LikelihoodRare)}
}

// Specialty is training beyond a certification level that a site requires.
type Specialty string

// Specialties a site may require.
const (
	SpecialtyCavern           Specialty = "cavern"
	SpecialtyDeep             Specialty = "deep"
	SpecialtyWreckPenetration Specialty = "wreck_penetration"
)

// Values lists the valid specialties.
func (Specialty) Values() []string {
	return []string{string(SpecialtyCavern), string(SpecialtyDeep), string(SpecialtyWreckPenetration)}
}

// The site files' YAML keys are the lower-cased field names (yaml.v3's
// default) except where a yaml tag says otherwise.

// SiteFacts are what a dive guide knows about a site beyond its card: when it
// is open versus at its best, what a diver needs, which animals are seen in
// which months, safety notes, and the public pages every fact comes from.
type SiteFacts struct {
	// OpenMonths are the months (1-12) boats and resorts run to the site.
	OpenMonths []int `json:"openMonths"`
	// RoughMonths are open months with rougher seas or poorer visibility: a
	// caveat, not a closure.
	RoughMonths  []int        `json:"roughMonths"`
	Closures     []Closure    `json:"closures"`
	Requirements Requirements `json:"requirements"`
	Sightings    []Sighting   `json:"sightings"`
	Safety       []SafetyNote `json:"safety"`
	Sources      []Source     `json:"sources"`
}

// Closure is a recurring (Months) or dated (From, To) closure of a site.
type Closure struct {
	Months []int  `json:"months,omitempty" doc:"Months closed every year"`
	From   string `json:"from,omitempty" format:"date" doc:"First day of a dated closure"`
	To     string `json:"to,omitempty" format:"date" doc:"Last day of a dated closure"`
	En     string `json:"en"`
	Zh     string `json:"zh"`
	Source string `json:"source" doc:"URL of the source, one of the site's sources"`
}

// Requirements are what a diver needs beyond the site's minimum certification.
type Requirements struct {
	Specialties   []Specialty `json:"specialties"`
	GuideRequired bool        `json:"guideRequired"`
	// DaylightOnly: diving is allowed only in daylight hours (a park rule),
	// so there are no night dives.
	DaylightOnly bool `json:"daylightOnly" yaml:"daylightOnly"`
	// MinAge is 0 when no source gives one.
	MinAge int     `json:"minAge" minimum:"0"`
	Permit *Permit `json:"permit,omitempty"`
}

// Permit is a park permit a site needs: who issues it and its rules.
type Permit struct {
	Issuer   string `json:"issuer"`
	IssuerZh string `json:"issuerZh" yaml:"issuerZh"`
	En       string `json:"en"`
	Zh       string `json:"zh"`
}

// Sighting is a notable animal at a site, with the months it is seen.
type Sighting struct {
	Animal     string     `json:"animal" doc:"English name, as in the vocabulary"`
	AnimalZh   string     `json:"animalZh" yaml:"-" doc:"Chinese name, from the vocabulary"`
	Months     []int      `json:"months"`
	Likelihood Likelihood `json:"likelihood"`
	En         string     `json:"en,omitempty"`
	Zh         string     `json:"zh,omitempty"`
}

// SafetyNote is advice a guide would give, for an area or the site itself.
type SafetyNote struct {
	Area string `json:"area,omitempty"`
	En   string `json:"en"`
	Zh   string `json:"zh"`
}

// Source is a public page facts in the catalogue come from.
type Source struct {
	URL       string `json:"url" format:"uri"`
	Title     string `json:"title"`
	Publisher string `json:"publisher"`
	Published string `json:"published,omitempty" doc:"Publication date, when the page gives one"`
	Accessed  string `json:"accessed" format:"date"`
}

// MarshalJSON writes absent lists as [] rather than null: sites seeded before
// their facts were known, and sites built in code, have nil lists, and the
// API's schema promises arrays.
func (f SiteFacts) MarshalJSON() ([]byte, error) {
	type plain SiteFacts // without this method
	p := plain(f)
	p.OpenMonths, p.RoughMonths = orEmpty(p.OpenMonths), orEmpty(p.RoughMonths)
	p.Closures, p.Sightings, p.Safety, p.Sources = orEmpty(p.Closures), orEmpty(p.Sightings), orEmpty(p.Safety), orEmpty(p.Sources)
	p.Requirements.Specialties = orEmpty(p.Requirements.Specialties)
	return json.Marshal(p)
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// DivedIn reports whether boats run to the site in month (1-12): it is one
// of the open months and no recurring closure covers it. A site whose open
// months were never recorded falls back to its best months, and one with
// neither is not treated as closed. Dated closures are for the answer to
// mention; they do not close a month of every year.
func (s DiveSite) DivedIn(month int) bool {
	open := s.Facts.OpenMonths
	if len(open) == 0 {
		open = s.BestMonths
	}
	if len(open) > 0 && !slices.Contains(open, month) {
		return false
	}
	for _, c := range s.Facts.Closures {
		if slices.Contains(c.Months, month) {
			return false
		}
	}
	return true
}
