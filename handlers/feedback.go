package handlers

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dovvydive/backend/models"
)

type feedbackStore interface {
	PutFeedback(ctx context.Context, sessionID, conversationID, messageID uuid.UUID, rating, comment string) (models.MessageFeedback, error)
	DeleteFeedback(ctx context.Context, sessionID, conversationID, messageID uuid.UUID) error
	ConversationFeedback(ctx context.Context, sessionID, conversationID uuid.UUID) ([]models.MessageFeedback, error)
}

// FeedbackHandler serves .../messages/{messageId}/feedback: a diver's
// rating of one of the planner's replies in their own conversation.
type FeedbackHandler struct {
	store   feedbackStore
	metrics *HTTPMetrics // nil: ratings are not counted
}

// NewFeedbackHandler returns a FeedbackHandler counting ratings in metrics
// (which may be nil).
func NewFeedbackHandler(store feedbackStore, metrics *HTTPMetrics) *FeedbackHandler {
	return &FeedbackHandler{store: store, metrics: metrics}
}

// FeedbackInput is a rating of a reply.
type FeedbackInput struct {
	Rating  models.Rating `json:"rating" doc:"up or down."`
	Comment string        `json:"comment,omitempty" maxLength:"1000" doc:"Optional, at most 1,000 characters: what was good or wrong. A new rating without one clears the old comment."`
}

// MessageFeedback is the stored rating of a reply.
type MessageFeedback struct {
	MessageID uuid.UUID     `json:"messageId" doc:"The rated reply."`
	Rating    models.Rating `json:"rating"`
	Comment   string        `json:"comment" doc:"Empty when none was given."`
	CreatedAt time.Time     `json:"createdAt" doc:"When the reply was first rated."`
	UpdatedAt time.Time     `json:"updatedAt" doc:"When the rating was last replaced."`
}

// MessagePath is the {id}/{messageId} of a message's routes.
type MessagePath struct {
	ConversationPath
	MessageID string `path:"messageId" format:"uuid" doc:"The reply's id."`
}

func (p MessagePath) uuids() (conv, msg uuid.UUID, err error) {
	if conv, err = p.uuid(); err != nil {
		return uuid.Nil, uuid.Nil, err
	}
	if msg, err = uuid.Parse(p.MessageID); err != nil { // huma has checked the format
		return uuid.Nil, uuid.Nil, invalid("messageId", "must be a UUID")
	}
	return conv, msg, nil
}

type putFeedbackInput struct {
	AuthHeader
	MessagePath
	Body FeedbackInput
}

type feedbackOutput struct {
	CacheControl string `header:"Cache-Control" doc:"no-store: feedback is private."`
	Body         DataBody[MessageFeedback]
}

// Put stores the caller's rating of one of the planner's replies in their
// conversation, replacing any earlier one. Anything but an assistant
// message of the caller's own conversation is a 404.
func (h *FeedbackHandler) Put(ctx context.Context, in *putFeedbackInput) (*feedbackOutput, error) {
	s := sessionFrom(ctx)
	conv, msg, err := in.uuids()
	if err != nil {
		return nil, err
	}
	f, err := h.store.PutFeedback(ctx, s.ID, conv, msg, string(in.Body.Rating), strings.TrimSpace(in.Body.Comment))
	if err != nil {
		return nil, inField(err, "comment", "must be printable text of at most 1,000 characters")
	}
	h.metrics.countFeedback(f.Rating)
	return &feedbackOutput{CacheControl: noStore, Body: DataBody[MessageFeedback]{Data: feedbackView(f)}}, nil
}

type deleteFeedbackInput struct {
	AuthHeader
	MessagePath
}

// Delete removes the caller's rating of a reply (204 also when it had none).
func (h *FeedbackHandler) Delete(ctx context.Context, in *deleteFeedbackInput) (*struct{}, error) {
	s := sessionFrom(ctx)
	conv, msg, err := in.uuids()
	if err != nil {
		return nil, err
	}
	if err := h.store.DeleteFeedback(ctx, s.ID, conv, msg); err != nil {
		return nil, err
	}
	return nil, nil
}

type listFeedbackInput struct {
	AuthHeader
	ConversationPath
}

type listFeedbackOutput struct {
	CacheControl string `header:"Cache-Control" doc:"no-store: feedback is private."`
	Body         struct {
		Data []MessageFeedback `json:"data" doc:"The rated replies, oldest first; a reply without a rating is not listed."`
	}
}

// List returns the caller's ratings of the replies in one of their
// conversations, so a client can show them again after a reload.
func (h *FeedbackHandler) List(ctx context.Context, in *listFeedbackInput) (*listFeedbackOutput, error) {
	s := sessionFrom(ctx)
	conv, err := in.uuid()
	if err != nil {
		return nil, err
	}
	list, err := h.store.ConversationFeedback(ctx, s.ID, conv)
	if err != nil {
		return nil, err
	}
	out := &listFeedbackOutput{CacheControl: noStore}
	out.Body.Data = make([]MessageFeedback, len(list))
	for i, f := range list {
		out.Body.Data[i] = feedbackView(f)
	}
	return out, nil
}

func feedbackView(f models.MessageFeedback) MessageFeedback {
	return MessageFeedback{MessageID: f.MessageID, Rating: models.Rating(f.Rating), Comment: f.Comment,
		CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt}
}

// newFeedbackCounter counts stored ratings by rating; HTTPMetrics registers it.
func newFeedbackCounter() *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dovvydive_feedback_total", Help: "Ratings divers stored on replies (each PUT), by rating.",
	}, []string{"rating"})
	// Both series exist from the start, so a rate() over them never misses
	// the first rating.
	c.WithLabelValues(models.RatingUp)
	c.WithLabelValues(models.RatingDown)
	return c
}

// countFeedback counts a stored rating; a nil HTTPMetrics counts nothing.
func (m *HTTPMetrics) countFeedback(rating string) {
	if m == nil || !models.Rating(rating).Valid() {
		return
	}
	m.feedback.WithLabelValues(rating).Inc()
}
