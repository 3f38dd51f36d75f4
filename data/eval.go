package data

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/dovvydive/backend/models"
)

//go:embed eval/questions.jsonl
var evalQuestions []byte

// EvalQuestion is one diver question of the planner evaluation, with the sites
// a local guide would recommend (a hit is any of them), the sites no good
// answer offers, what any good answer must say, and the constraints a
// correct answer must respect. The format is described in eval/README.md.
type EvalQuestion struct {
	ID       string `json:"id"`
	Lang     string `json:"lang"` // "en" or "zh"
	Question string `json:"question"`
	// FollowUps are later messages of the same conversation, sent one by
	// one after Question; the answer to the last one is judged.
	FollowUps []string `json:"followUps,omitempty"`
	Expected  []string `json:"expected"`
	// Never are sites the answer must not offer, not even as alternatives:
	// unsafe for this diver, closed, or wrong for what was asked.
	Never []string `json:"never,omitempty"`
	// MustSay are groups of phrases: the answer contains at least one phrase
	// of every group (case-insensitive), e.g. [["Advanced Open Water", "AOW"],
	// ["Layang-Layang"]].
	MustSay [][]string `json:"mustSay,omitempty"`
	// Contradictions are wish claims that would be false: the answer must
	// not offer Site for Wish (e.g. Lankayan for whale sharks in August).
	Contradictions []EvalClaim     `json:"contradictions,omitempty"`
	Constraints    EvalConstraints `json:"constraints"`
	Note           string          `json:"note,omitempty"`
}

// EvalClaim is a site offered for a wish (a planner wish key, see
// data/vocabulary.yaml's wishes).
type EvalClaim struct {
	Site string `json:"site"`
	Wish string `json:"wish"`
}

// EvalConstraints are what the question states; an empty field states nothing.
// For a conversation they are what stands after the last message: a planner
// that understood the follow-ups holds them ("follow-ups honoured").
type EvalConstraints struct {
	Months        []int    `json:"months,omitempty"`        // travel months, 1-12
	Certification string   `json:"certification,omitempty"` // highest level the diver holds
	MaxDepthM     int      `json:"maxDepthM,omitempty"`     // deepest the diver will go
	Places        []string `json:"places,omitempty"`        // place keys the diver asked for (vocabulary places)
	AvoidPlaces   []string `json:"avoidPlaces,omitempty"`   // place keys the diver ruled out ("not Sabah")
	Specialties   []string `json:"specialties,omitempty"`   // specialty training the diver holds
	Age           int      `json:"age,omitempty"`           // the youngest diver's age, when a child dives
}

// Violations lists why recommending site breaks c: a certification above the
// diver's, a stated month boats do not run to the site (models.DiveSite.DivedIn), or a site whose
// shallowest diving is below the diver's depth limit. Nil means none.
func (c EvalConstraints) Violations(site models.DiveSite) []string {
	var out []string
	if c.Certification != "" {
		allowed, _ := models.CertificationsUpTo(c.Certification)
		if !slices.Contains(allowed, site.MinCertification) {
			out = append(out, fmt.Sprintf("needs %s, diver holds %s", site.MinCertification, c.Certification))
		}
	}
	for _, m := range c.Months {
		if !site.DivedIn(m) {
			out = append(out, fmt.Sprintf("closed in month %d", m))
		}
	}
	if c.MaxDepthM > 0 && site.MinDepthM > c.MaxDepthM {
		out = append(out, fmt.Sprintf("starts at %d m, diver stops at %d m", site.MinDepthM, c.MaxDepthM))
	}
	return out
}

// EvalQuestions decodes the embedded evaluation set, refusing unknown fields
// and malformed lines so a typo cannot silently drop a constraint.
func EvalQuestions() ([]EvalQuestion, error) {
	var out []EvalQuestion
	sc := bufio.NewScanner(bytes.NewReader(evalQuestions))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for line := 1; sc.Scan(); line++ {
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		var q EvalQuestion
		if err := dec.Decode(&q); err != nil {
			return nil, fmt.Errorf("eval/questions.jsonl:%d: %w", line, err)
		}
		out = append(out, q)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read eval questions: %w", err)
	}
	return out, nil
}
