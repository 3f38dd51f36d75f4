package handlers

import (
	"slices"

	"github.com/dovvydive/backend/models"
	"github.com/dovvydive/backend/planner"
)

// Constraints are planner.Constraints as the API shows them. The planner
// keeps "unknown" as a zero value ("" or 0) and stores its own struct as
// JSON in messages.constraints, old rows included; here an unknown field is
// absent, and every vocabulary is its named enum, so a client can pass a
// value straight back as a filter (certification, maxDepth) without ever
// sending "" or 0, which the filters refuse.
type Constraints struct {
	Months        []int                `json:"months" doc:"Travel months, 1-12, ascending; empty when none was stated."`
	Season        planner.Season       `json:"season,omitempty" doc:"The named time of travel the months came from; absent when the diver named months or nothing."`
	Certification models.Certification `json:"certification,omitempty" doc:"The diver's own certification level; absent while unknown."`
	Experience    planner.Experience   `json:"experience,omitempty" doc:"The diver's experience; absent while unknown."`
	Places        []string             `json:"places" doc:"Canonical place keys, in the order the diver named them."`
	AvoidPlaces   []string             `json:"avoidPlaces" doc:"Place keys the diver ruled out."`
	Wishes        []string             `json:"wishes" doc:"Canonical wishes (animals, wrecks, night dives...), in the order the diver named them."`
	MaxDepthM     int                  `json:"maxDepthM,omitempty" minimum:"1" doc:"The deepest the diver wants to go, in metres; absent when no limit was stated."`
	Specialties   []models.Specialty   `json:"specialties" doc:"Specialty training the diver holds, ascending."`
	Language      models.Language      `json:"language" doc:"The language of the latest message (en until the diver writes)."`
	Age           int                  `json:"age,omitempty" minimum:"1" doc:"The youngest diver's age when a child was mentioned; absent otherwise."`
}

// constraintsView is c as the API shows it. A value outside its vocabulary
// (a row written by an older planner) is treated as unknown rather than
// answered against the document.
func constraintsView(c planner.Constraints) Constraints {
	v := Constraints{
		Months: nonNilSlice(c.Months), Places: nonNilSlice(c.Places), AvoidPlaces: nonNilSlice(c.AvoidPlaces),
		Wishes: nonNilSlice(c.Wishes), Specialties: []models.Specialty{},
		Season: known[planner.Season](c.Season), Certification: known[models.Certification](c.Certification),
		Experience: known[planner.Experience](c.Experience), Language: known[models.Language](c.Language),
		MaxDepthM: max(c.MaxDepthM, 0), Age: max(c.Age, 0),
	}
	for _, s := range c.Specialties {
		if sp := known[models.Specialty](s); sp != "" {
			v.Specialties = append(v.Specialties, sp)
		}
	}
	if v.Language == "" {
		// Only when known blanked a language outside the vocabulary:
		// normalized has already set the planner's default otherwise.
		v.Language = planner.LangEn
	}
	return v
}

// known is s as T when it is one of T's values, else "".
func known[T interface {
	~string
	Values() []string
}](s string) T {
	var zero T
	if slices.Contains(zero.Values(), s) {
		return T(s)
	}
	return zero
}

func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
