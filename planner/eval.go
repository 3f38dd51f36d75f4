package planner

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/dovvydive/backend/data"
)

// EvalQuestion is one question of the planner evaluation (data/eval): a
// message (and follow-ups), the sites a local guide would recommend, the
// sites no good answer offers, what any good answer says, the wish claims
// that would be false, and the constraints it states.
type (
	EvalQuestion    = data.EvalQuestion
	EvalConstraints = data.EvalConstraints
	EvalClaim       = data.EvalClaim
)

// EvalResult is one question's outcome.
type EvalResult struct {
	ID          string   `json:"id"`
	Lang        string   `json:"lang"`
	Question    string   `json:"question"`
	FollowUps   []string `json:"followUps,omitempty"`
	Expected    []string `json:"expected"`
	Recommended []string `json:"recommended"` // slugs, in the reply's order
	Hit         bool     `json:"hit"`         // an expected site is among the first three recommended
	// Unsafe are recommended sites the diver may not dive by the stated
	// constraints, or that the question says must never be offered.
	Unsafe []string `json:"unsafe"`
	// Missing are the mustSay groups the answer says none of.
	Missing [][]string `json:"missing"`
	// Contradictions are sites offered for a wish they do not offer then.
	Contradictions []string `json:"contradictions"`
	// EnglishRuns are runs of four or more English words in a Chinese answer
	// (operator names aside).
	EnglishRuns []string `json:"englishRuns"`
	// FollowUpsHonoured, for a conversation, says whether the constraints
	// after the last message hold what the question states; nil otherwise.
	FollowUpsHonoured *bool  `json:"followUpsHonoured,omitempty"`
	NotHonoured       string `json:"notHonoured,omitempty"`
	Answer            string `json:"answer"`
	Error             string `json:"error,omitempty"`
}

// EvalTotals sum results, overall or for one language.
type EvalTotals struct {
	Questions         int     `json:"questions"`
	Scored            int     `json:"scored"` // questions with expected sites
	Hits              int     `json:"hits"`
	HitAt3            float64 `json:"hitAt3"`
	Unsafe            int     `json:"unsafe"`         // unsafe picks
	Missing           int     `json:"missing"`        // required explanations absent
	Explanations      int     `json:"explanations"`   // required explanations asked for
	Contradictions    int     `json:"contradictions"` // false wish claims
	EnglishRuns       int     `json:"englishRuns"`    // Chinese answers with an English run
	Conversations     int     `json:"conversations"`  // multi-turn questions
	FollowUpsHonoured int     `json:"followUpsHonoured"`
	Errors            int     `json:"errors"`
}

// EvalReport sums up an evaluation.
type EvalReport struct {
	EvalTotals
	ByLang  map[string]EvalTotals `json:"byLang"`
	Results []EvalResult          `json:"results"`
}

// Evaluate asks the planner each question as a new conversation (with its
// follow-ups, one message after another) and judges the last answer: hit@3,
// unsafe picks (a site the diver may not dive by the question's stated
// constraints, by Blocks, or one of its never sites), the required
// explanations (mustSay), contradictions (a site offered for a wish the
// question says it does not offer), English runs in Chinese answers, and
// for conversations whether the constraints after the last message hold.
func Evaluate(ctx context.Context, p *Planner, questions []EvalQuestion) EvalReport {
	rep := EvalReport{ByLang: map[string]EvalTotals{}}
	for _, q := range questions {
		res := evaluateOne(ctx, p, q)
		rep.Results = append(rep.Results, res)
		lang := rep.ByLang[q.Lang]
		for _, t := range []*EvalTotals{&rep.EvalTotals, &lang} {
			t.add(q, res)
		}
		rep.ByLang[q.Lang] = lang
	}
	rep.finish()
	for k, t := range rep.ByLang {
		t.finish()
		rep.ByLang[k] = t
	}
	return rep
}

func (t *EvalTotals) add(q EvalQuestion, r EvalResult) {
	t.Questions++
	if len(q.Expected) > 0 {
		t.Scored++
		if r.Hit {
			t.Hits++
		}
	}
	t.Unsafe += len(r.Unsafe)
	t.Missing += len(r.Missing)
	t.Explanations += len(q.MustSay)
	t.Contradictions += len(r.Contradictions)
	if len(r.EnglishRuns) > 0 {
		t.EnglishRuns++
	}
	if r.FollowUpsHonoured != nil {
		t.Conversations++
		if *r.FollowUpsHonoured {
			t.FollowUpsHonoured++
		}
	}
	if r.Error != "" {
		t.Errors++
	}
}

func (t *EvalTotals) finish() {
	if t.Scored > 0 {
		t.HitAt3 = float64(t.Hits) / float64(t.Scored)
	}
}

func evaluateOne(ctx context.Context, p *Planner, q EvalQuestion) EvalResult {
	res := EvalResult{ID: q.ID, Lang: q.Lang, Question: q.Question, FollowUps: q.FollowUps, Expected: q.Expected,
		Recommended: []string{}, Unsafe: []string{}, Missing: [][]string{}, Contradictions: []string{}, EnglishRuns: []string{}}
	var history []Message
	var prev Constraints
	var reply Reply
	for _, msg := range append([]string{q.Question}, q.FollowUps...) {
		var err error
		reply, err = p.Plan(ctx, Turn{Message: msg, History: history, PrevConstraints: prev}, nil)
		if err != nil {
			res.Error = err.Error()
			return res
		}
		history = append(history, Message{Role: RoleUser, Content: msg}, Message{Role: RoleAssistant, Content: reply.Content})
		prev = reply.Constraints
	}
	sites, err := p.catalog(ctx)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	bySlug := map[string]Site{}
	var operators []string
	for _, s := range sites {
		bySlug[s.Slug] = s
		for _, o := range s.Operators {
			operators = append(operators, o.Name)
		}
	}
	res.Answer = reply.Content
	if !utf8.ValidString(reply.Content) {
		res.Error = "the answer is not valid UTF-8"
	}
	stated := statedConstraints(q.Constraints)
	for i, ref := range reply.Sites {
		res.Recommended = append(res.Recommended, ref.Slug)
		if i < 3 && slices.Contains(q.Expected, ref.Slug) {
			res.Hit = true
		}
		if slices.Contains(q.Never, ref.Slug) {
			res.Unsafe = append(res.Unsafe, ref.Slug+": never to be offered for this question")
		}
		for _, b := range Blocks(bySlug[ref.Slug], stated) {
			res.Unsafe = append(res.Unsafe, ref.Slug+": "+blockText(LangEn, b, stated, false))
		}
		for _, claim := range q.Contradictions {
			if claim.Site == ref.Slug && slices.Contains(ref.Wishes, claim.Wish) {
				res.Contradictions = append(res.Contradictions, fmt.Sprintf("%s offered for %s", ref.Slug, claim.Wish))
			}
		}
	}
	lower := strings.ToLower(reply.Content)
	for _, group := range q.MustSay {
		if !slices.ContainsFunc(group, func(p string) bool { return strings.Contains(lower, strings.ToLower(p)) }) {
			res.Missing = append(res.Missing, group)
		}
	}
	if q.Lang == LangZh {
		res.EnglishRuns = EnglishRuns(reply.Content, operators)
	}
	if len(q.FollowUps) > 0 {
		ok, why := holds(reply.Constraints, q.Constraints)
		res.FollowUpsHonoured, res.NotHonoured = &ok, why
	}
	return res
}

// statedConstraints are the question's constraints as the planner's.
func statedConstraints(e EvalConstraints) Constraints {
	return Constraints{Months: e.Months, Certification: e.Certification, MaxDepthM: e.MaxDepthM,
		AvoidPlaces: e.AvoidPlaces, Specialties: e.Specialties, Age: e.Age}
}

// holds reports whether the planner's constraints hold what the question
// states, and if not, which field differs.
func holds(got Constraints, want EvalConstraints) (bool, string) {
	switch {
	case len(want.Months) > 0 && !slices.Equal(sortedUnique(got.Months), sortedUnique(want.Months)):
		return false, fmt.Sprintf("months %v, want %v", got.Months, want.Months)
	case want.Certification != "" && got.Certification != want.Certification:
		return false, fmt.Sprintf("certification %q, want %q", got.Certification, want.Certification)
	case want.MaxDepthM > 0 && got.MaxDepthM != want.MaxDepthM:
		return false, fmt.Sprintf("maxDepthM %d, want %d", got.MaxDepthM, want.MaxDepthM)
	case want.Age > 0 && got.Age != want.Age:
		return false, fmt.Sprintf("age %d, want %d", got.Age, want.Age)
	}
	for _, pair := range []struct {
		name      string
		got, want []string
	}{{"places", got.Places, want.Places}, {"avoidPlaces", got.AvoidPlaces, want.AvoidPlaces}, {"specialties", got.Specialties, want.Specialties}} {
		for _, w := range pair.want {
			if !slices.Contains(pair.got, w) {
				return false, fmt.Sprintf("%s %v, want %v", pair.name, pair.got, pair.want)
			}
		}
	}
	return true, ""
}

// englishRunRe is four or more Latin words in a row.
var englishRunRe = regexp.MustCompile(`[A-Za-z][A-Za-z'’.&-]*(?:[ ,]+[A-Za-z][A-Za-z'’.&-]*){3,}`)

// EnglishRuns lists the runs of four or more English words in text, after
// removing the names (operators') that stay in English.
func EnglishRuns(text string, names []string) []string {
	names = slices.Clone(names)
	slices.SortFunc(names, func(a, b string) int { return len(b) - len(a) })
	for _, n := range names {
		if n != "" {
			text = strings.ReplaceAll(text, n, " ")
		}
	}
	return englishRunRe.FindAllString(text, -1)
}
