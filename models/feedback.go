package models

import (
	"slices"
	"time"

	"github.com/google/uuid"
)

// Feedback ratings a diver gives a reply.
const (
	RatingUp   = "up"
	RatingDown = "down"
)

// Rating is a diver's rating of a reply, as clients send it.
type Rating string

// Values lists the ratings.
func (Rating) Values() []string { return []string{RatingUp, RatingDown} }

// Valid reports whether r is one of the ratings.
func (r Rating) Valid() bool { return slices.Contains(r.Values(), string(r)) }

// MaxFeedbackComment is the longest comment on a rating, in characters.
const MaxFeedbackComment = 1000

// MessageFeedback is a diver's rating of one of the planner's replies; a
// reply has at most one, which a new rating replaces.
type MessageFeedback struct {
	MessageID uuid.UUID `json:"messageId"`
	Rating    string    `json:"rating"`
	Comment   string    `json:"comment"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}
