package planner

import (
	"context"
	"fmt"
	"time"

	"github.com/dovvydive/backend/models"
)

// Message is one earlier turn of the conversation.
type Message struct {
	Role    string `json:"role"` // RoleUser or RoleAssistant
	Content string `json:"content"`
}

// Roles of a Message.
const (
	RoleUser      = models.RoleUser
	RoleAssistant = models.RoleAssistant
)

// ChosenSite is a site the answer should present.
type ChosenSite struct {
	Site        Site
	Reason      string   // why it was chosen, in the diver's language (SiteReason)
	Wishes      []string // the diver's wishes it offers in the months asked
	Alternative bool     // nothing fitted, or it offers none of the wishes: the nearest alternative
}

// Request is everything a Generator may use. It holds only this
// conversation's data: no session token, no other session's turns.
type Request struct {
	Language    string   // en or zh
	Message     string   // the diver's message being answered
	Intents     []string // what the message asks (IntentWhere, IntentCan, …)
	Constraints Constraints
	History     []Message    // recent turns of this conversation, oldest first, without Message
	Selection   Selection    // what Select decided: the generators explain it
	Sites       []ChosenSite // the presented sites: up to three fits, or alternatives
	Passages    []Passage    // retrieved passages of the chosen sites, best first
}

// Citation names a passage an answer drew on; its Score is the passage's
// fused retrieval score. It is the stored message's citation as it stands.
type Citation = models.Citation

// Answer is a generated reply.
type Answer struct {
	Content   string
	Citations []Citation
	Model     string
	// Refused is true when the model declined on safety grounds; Content then
	// holds a polite stored refusal that may be saved like any reply.
	Refused bool
}

// Generator writes the answer. emit, when not nil, receives the answer in
// pieces as it is produced (for Server-Sent Events); an error from emit (the
// client went away) stops generation and is returned. The returned Answer's
// Content is authoritative: it is what should be stored.
type Generator interface {
	Generate(ctx context.Context, req Request, emit func(delta string) error) (Answer, error)
}

// ErrUpstream means a service the planner depends on (named by Name, e.g.
// "gemini" or "embedding") failed or timed out. A handler answers 503 naming
// it, with Retry-After when RetryAfter > 0.
type ErrUpstream struct {
	Name       string
	RetryAfter time.Duration
	Err        error
}

func (e *ErrUpstream) Error() string {
	return fmt.Sprintf("%s unavailable: %v", e.Name, e.Err)
}

func (e *ErrUpstream) Unwrap() error { return e.Err }

// citationFor builds the citation of passage p of site s.
func citationFor(s Site, p Passage) Citation {
	return Citation{SiteID: s.ID, Slug: s.Slug, NameEn: s.NameEn, NameZh: s.NameZh, ChunkIndex: p.ChunkIndex, Score: p.Score}
}
