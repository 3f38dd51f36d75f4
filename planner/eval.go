package planner

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/dovvydive/backend/models"
)

// EvalQuestion is one line of data/eval/questions.jsonl: a diver's question,
// the sites a local guide would recommend, and the constraints it states.
type EvalQuestion struct {
	ID          string          `json:"id"`
	Lang        string          `json:"lang"`
	Question    string          `json:"question"`
	Expected    []string        `json:"expected"` // site slugs
	Constraints EvalConstraints `json:"constraints"`
}

// EvalConstraints are the constraints a question states, used to count
// violations independently of what the extractor understood.
type EvalConstraints struct {
	Months        []int  `json:"months,omitempty"`
	Certification string `json:"certification,omitempty"`
	MaxDepthM     int    `json:"maxDepthM,omitempty"`
}

// evalLine accepts the shapes people write by hand: a numeric id, a single
// slug or month instead of a list, "text" for "question", certification
// aliases such as "AOW".
type evalLine struct {
	ID          json.RawMessage `json:"id"`
	Lang        string          `json:"lang"`
	Language    string          `json:"language"`
	Question    string          `json:"question"`
	Text        string          `json:"text"`
	Expected    json.RawMessage `json:"expected"`
	Constraints struct {
		Months        json.RawMessage `json:"months"`
		Month         json.RawMessage `json:"month"`
		Certification string          `json:"certification"`
		MaxDepthM     json.RawMessage `json:"maxDepthM"`
		MaxDepth      json.RawMessage `json:"maxDepth"`
	} `json:"constraints"`
}

// LoadEvalQuestions reads JSON Lines. Blank lines and lines starting with #
// or // are skipped; unknown fields are ignored; a malformed line is an error
// naming its line number.
func LoadEvalQuestions(r io.Reader) ([]EvalQuestion, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 4<<20)
	var out []EvalQuestion
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' || bytes.HasPrefix(line, []byte("//")) {
			continue
		}
		var l evalLine
		if err := json.Unmarshal(line, &l); err != nil {
			return nil, fmt.Errorf("eval questions line %d: %w", n, err)
		}
		q := EvalQuestion{ID: strings.Trim(string(l.ID), `"`), Lang: cmpOr(l.Lang, l.Language), Question: cmpOr(l.Question, l.Text)}
		if q.ID == "" || q.ID == "null" {
			q.ID = strconv.Itoa(n)
		}
		if strings.TrimSpace(q.Question) == "" {
			return nil, fmt.Errorf("eval questions line %d: no question", n)
		}
		if q.Lang == "" {
			q.Lang = textLanguage(q.Question)
		}
		var err error
		if q.Expected, err = stringOrList(l.Expected); err != nil {
			return nil, fmt.Errorf("eval questions line %d: expected: %w", n, err)
		}
		months := l.Constraints.Months
		if len(months) == 0 {
			months = l.Constraints.Month
		}
		if q.Constraints.Months, err = intOrList(months); err != nil {
			return nil, fmt.Errorf("eval questions line %d: months: %w", n, err)
		}
		depth := l.Constraints.MaxDepthM
		if len(depth) == 0 {
			depth = l.Constraints.MaxDepth
		}
		if ds, err := intOrList(depth); err != nil || len(ds) > 1 {
			return nil, fmt.Errorf("eval questions line %d: maxDepthM is not a number", n)
		} else if len(ds) == 1 {
			q.Constraints.MaxDepthM = ds[0]
		}
		if cert := strings.TrimSpace(l.Constraints.Certification); cert != "" {
			q.Constraints.Certification = normalizeCertification(cert)
			if q.Constraints.Certification == "" {
				return nil, fmt.Errorf("eval questions line %d: unknown certification %q", n, cert)
			}
		}
		out = append(out, q)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read eval questions: %w", err)
	}
	return out, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func stringOrList(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err == nil {
		return list, nil
	}
	var one string
	if err := json.Unmarshal(raw, &one); err != nil {
		return nil, err
	}
	return []string{one}, nil
}

func intOrList(raw json.RawMessage) ([]int, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var list []int
	if err := json.Unmarshal(raw, &list); err == nil {
		return list, nil
	}
	var one int
	if err := json.Unmarshal(raw, &one); err == nil {
		return []int{one}, nil
	}
	var s string // "7" or "July"
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	if n, err := strconv.Atoi(s); err == nil {
		return []int{n}, nil
	}
	if months, _, ok := extractMonths(s); ok && len(months) > 0 {
		return months, nil
	}
	return nil, fmt.Errorf("%q is not a number", s)
}

// normalizeCertification maps "AOW", "Advanced Open Water", "advanced_open_water"… to a level.
func normalizeCertification(s string) string {
	if slices.Contains(models.CertificationLevels, s) {
		return s
	}
	if level := extractCertification(s); level != "" {
		return level
	}
	switch strings.ToLower(strings.ReplaceAll(s, " ", "_")) {
	case "advanced", "adv":
		return "advanced_open_water"
	case "ow":
		return "open_water"
	}
	return ""
}

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
// out of season in every stated month, or deeper than the stated limit. A
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
		out = append(out, fmt.Sprintf("%s: best months %v, trip in %v", s.Slug, s.BestMonths, c.Months))
	}
	if c.MaxDepthM > 0 && s.MaxDepthM > c.MaxDepthM {
		out = append(out, fmt.Sprintf("%s: reaches %d m, limit %d m", s.Slug, s.MaxDepthM, c.MaxDepthM))
	}
	return out
}
