package planner

import (
	"context"
	"fmt"
	"slices"

	"github.com/dovvydive/backend/data"
)

// EvalQuestion is one question of the planner evaluation (data/eval), with
// the sites a local guide would recommend and the constraints it states; the
// constraints count violations independently of what the extractor understood.
type (
	EvalQuestion    = data.EvalQuestion
	EvalConstraints = data.EvalConstraints
)

// EvalResult is one question's outcome.
type EvalResult struct {
	ID          string   `json:"id"`
	Lang        string   `json:"lang"`
	Question    string   `json:"question"`
	Expected    []string `json:"expected"`
	Recommended []string `json:"recommended"` // slugs, in the reply's order
	Hit         bool     `json:"hit"`         // an expected site is among the first three recommended
	Violations  []string `json:"violations"`  // e.g. "sipadan-barracuda-point: needs advanced_open_water"
	Error       string   `json:"error,omitempty"`
}

// EvalReport sums up an evaluation.
type EvalReport struct {
	Questions  int          `json:"questions"`
	Hits       int          `json:"hits"`
	HitAt3     float64      `json:"hitAt3"`     // hits / questions with expected sites
	Violations int          `json:"violations"` // recommended sites breaking a stated constraint, over all questions
	Errors     int          `json:"errors"`
	Results    []EvalResult `json:"results"`
}

// Evaluate asks the planner each question as a new conversation and scores
// hit@3 (an expected slug among the first three recommended sites) and
// constraint violations: a recommended site above the stated certification,
// closed in every stated month, needing specialty training the diver has not stated, or starting deeper than the stated limit. A
// constraint the question states wins over what the extractor understood;
// when the question states none, the extracted one is checked. Questions
// without expected sites count for violations only.
func Evaluate(ctx context.Context, p *Planner, questions []EvalQuestion) EvalReport {
	var rep EvalReport
	scored := 0
	for _, q := range questions {
		res := EvalResult{ID: q.ID, Lang: q.Lang, Question: q.Question, Expected: q.Expected, Recommended: []string{}, Violations: []string{}}
		rep.Questions++
		reply, err := p.Plan(ctx, Turn{Message: q.Question}, nil)
		if err != nil {
			res.Error = err.Error()
			rep.Errors++
			if len(q.Expected) > 0 {
				scored++
			}
			rep.Results = append(rep.Results, res)
			continue
		}
		sites, err := p.catalog(ctx)
		if err != nil {
			res.Error = err.Error()
			rep.Errors++
			rep.Results = append(rep.Results, res)
			continue
		}
		bySlug := map[string]Site{}
		for _, s := range sites {
			bySlug[s.Slug] = s
		}
		want := reply.Constraints
		if len(q.Constraints.Months) > 0 {
			want.Months = q.Constraints.Months
		}
		if q.Constraints.Certification != "" {
			want.Certification = q.Constraints.Certification
		}
		if q.Constraints.MaxDepthM > 0 {
			want.MaxDepthM = q.Constraints.MaxDepthM
		}
		for i, ref := range reply.Sites {
			res.Recommended = append(res.Recommended, ref.Slug)
			if i < 3 && slices.Contains(q.Expected, ref.Slug) {
				res.Hit = true
			}
			res.Violations = append(res.Violations, violations(bySlug[ref.Slug], want)...)
		}
		if len(q.Expected) > 0 {
			scored++
			if res.Hit {
				rep.Hits++
			}
		}
		rep.Violations += len(res.Violations)
		rep.Results = append(rep.Results, res)
	}
	if scored > 0 {
		rep.HitAt3 = float64(rep.Hits) / float64(scored)
	}
	return rep
}

// violations lists how site s breaks the stated constraints.
func violations(s Site, c Constraints) []string {
	var out []string
	if !withinCertification(s, c.Certification) {
		out = append(out, fmt.Sprintf("%s: needs %s, diver has %s", s.Slug, s.MinCertification, c.Certification))
	}
	if !inSeason(s, c.Months) {
		out = append(out, fmt.Sprintf("%s: open months %v, trip in %v", s.Slug, openMonths(s), c.Months))
	}
	if !holdsSpecialties(s, c.Specialties) {
		out = append(out, fmt.Sprintf("%s: needs %v training, diver holds %v", s.Slug, s.Specialties, c.Specialties))
	}
	if c.MaxDepthM > 0 && s.MinDepthM > c.MaxDepthM {
		out = append(out, fmt.Sprintf("%s: starts at %d m, limit %d m", s.Slug, s.MinDepthM, c.MaxDepthM))
	}
	return out
}
