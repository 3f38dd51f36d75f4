package planner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/dovvydive/backend/models"
)

// ChatStore is what a conversation needs from storage, in domain types;
// *database.DB implements it.
type ChatStore interface {
	// AdmitUserMessage stores a diver's message under the session's quota
	// and Idempotency-Key, and reads up to history earlier turns with it.
	AdmitUserMessage(ctx context.Context, sessionID, conversationID uuid.UUID, content string, q models.Quota,
		idem *models.IdempotencyRequest, history int) (models.Admission, error)
	// ConversationTurns reads the conversation's constraints and its latest
	// n messages but exclude, oldest first.
	ConversationTurns(ctx context.Context, sessionID, conversationID, exclude uuid.UUID, n int) (json.RawMessage, []models.Turn, error)
	// AddAssistantMessage stores a reply and completes its Idempotency-Key.
	AddAssistantMessage(ctx context.Context, sessionID, conversationID uuid.UUID, r models.AssistantReply) (models.Message, error)
	// FailIdempotencyKey marks a key's generation failed, so that a retry
	// regenerates.
	FailIdempotencyKey(ctx context.Context, sessionID uuid.UUID, key string) error
}

// Answerer answers one turn of a conversation; *Planner implements it.
type Answerer interface {
	Plan(ctx context.Context, turn Turn, emit func(delta string) error) (Reply, error)
}

// ErrAnswerTimeout means generation itself ran out of the request's time
// (a retrieval timeout is the database's, and comes as models.ErrUnavailable).
var ErrAnswerTimeout = errors.New("the answer took longer than the request timeout")

// Chat is the conversation use case, its one owner: a diver's message is
// admitted (stored under the session's quota, committed before any
// generation), then answered (the planner's reply stored); a failed answer
// leaves the message and marks its Idempotency-Key failed, so that a retry
// regenerates without storing a second message.
type Chat struct {
	store   ChatStore
	planner Answerer
	quota   models.Quota
	log     *slog.Logger
}

// NewChat returns a Chat allowing each session quotaPerHour messages per
// rolling hour (0 or less: models.DefaultMessageQuota). log takes what the
// caller never sees (a key that could not be marked failed); nil discards it.
func NewChat(store ChatStore, p Answerer, quotaPerHour int, log *slog.Logger) *Chat {
	q := models.DefaultMessageQuota
	if quotaPerHour > 0 {
		q.Limit = quotaPerHour
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Chat{store: store, planner: p, quota: q, log: log}
}

// Admit stores content as the diver's message in a session's conversation.
// idempotencyKey ("" for none) makes a retry with the same content replay
// or regenerate the first answer. Refusals are domain errors: a
// *models.QuotaError, models.ErrIdempotencyInFlight or
// models.ErrIdempotencyMismatch (the Admission's RateLimit is still set
// for those two), models.ErrSessionExpired, models.ErrNotFound,
// models.ErrInvalid.
func (c *Chat) Admit(ctx context.Context, sessionID, conversationID uuid.UUID, content, idempotencyKey string) (models.Admission, error) {
	var idem *models.IdempotencyRequest
	if idempotencyKey != "" {
		idem = &models.IdempotencyRequest{Key: idempotencyKey, Fingerprint: fingerprint(conversationID, content)}
	}
	return c.store.AdmitUserMessage(ctx, sessionID, conversationID, content, c.quota, idem, models.HistoryTurns)
}

// fingerprint identifies a message request for its Idempotency-Key: the
// conversation and the exact content.
func fingerprint(conversationID uuid.UUID, content string) string {
	h := sha256.New()
	h.Write(conversationID[:])
	h.Write([]byte(content))
	return hex.EncodeToString(h.Sum(nil))
}

// Answer has the planner reply to the admitted message (streaming pieces
// through emit when it is not nil) and stores the reply, which it returns.
// A replayed admission is answered with its stored reply, without
// generating. On failure the message stays, no reply is stored, and the
// Idempotency-Key (if any) is marked failed. The planner's errors come as
// they are (*ErrUpstream, models.ErrUnavailable…), a generation timeout as
// ErrAnswerTimeout.
func (c *Chat) Answer(ctx context.Context, sessionID, conversationID uuid.UUID, adm models.Admission, key string,
	emit func(string) error) (models.Message, error) {
	if adm.Replayed && adm.Reply != nil {
		return *adm.Reply, nil
	}
	fail := func(err error) (models.Message, error) {
		if key != "" {
			// The client may be gone: record the failure regardless.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if ferr := c.store.FailIdempotencyKey(fctx, sessionID, key); ferr != nil {
				// Retries get 409 until the key's lease runs out.
				c.log.WarnContext(ctx, "idempotency key: could not mark failed", "conversation_id", conversationID.String(),
					"error", ferr.Error())
			}
		}
		return models.Message{}, err
	}
	rawCons, turns := adm.Constraints, adm.History
	if !adm.HasHistory { // a regeneration: read them now
		var err error
		rawCons, turns, err = c.store.ConversationTurns(ctx, sessionID, conversationID, adm.Message.ID, models.HistoryTurns)
		if err != nil {
			return fail(err)
		}
	}
	history := make([]Message, len(turns))
	for i, t := range turns {
		history[i] = Message{Role: t.Role, Content: t.Content}
	}
	reply, err := c.planner.Plan(ctx, Turn{Message: adm.Message.Content, History: history,
		PrevConstraints: DecodeConstraints(rawCons)}, emit)
	if err == context.DeadlineExceeded {
		// Plan returns the bare context error only when generation itself
		// ran out of time (a retrieval timeout comes wrapped).
		err = ErrAnswerTimeout
	}
	if err != nil {
		return fail(err)
	}
	cons, err := json.Marshal(reply.Constraints)
	if err != nil {
		return fail(fmt.Errorf("encode constraints: %w", err))
	}
	stored, err := c.store.AddAssistantMessage(ctx, sessionID, conversationID, models.AssistantReply{
		Content: reply.Content, Citations: reply.Citations, Sites: suggestions(reply.Sites),
		Constraints: cons, Model: reply.Model, IdempotencyKey: key,
		Title: Title(adm.Message.Content, reply.Constraints)}) // used only while the conversation has no title
	if err != nil {
		return fail(err)
	}
	return stored, nil
}

// DecodeConstraints reads stored constraints; anything unreadable is the
// empty set (the planner then starts afresh), never an error for the diver.
func DecodeConstraints(raw json.RawMessage) Constraints {
	var c Constraints
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &c)
	}
	return c.normalized()
}

func suggestions(ss []SiteRef) []models.SiteSuggestion {
	out := make([]models.SiteSuggestion, len(ss))
	for i, s := range ss {
		out[i] = models.SiteSuggestion{ID: s.ID, Slug: s.Slug, NameEn: s.NameEn, NameZh: s.NameZh, Reason: s.Reason}
	}
	return out
}
