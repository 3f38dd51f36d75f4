package handlers

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/dovvydive/backend/models"
	"github.com/dovvydive/backend/planner"
)

type conversationStore interface {
	CreateConversation(ctx context.Context, sessionID uuid.UUID, title string) (models.Conversation, error)
	ListConversations(ctx context.Context, sessionID uuid.UUID, limit int, cursor string) ([]models.Conversation, string, error)
	GetConversation(ctx context.Context, sessionID, id uuid.UUID, messageLimit int, cursor string) (models.ConversationPage, error)
	DeleteConversation(ctx context.Context, sessionID, id uuid.UUID) error
}

// Chat is the conversation use case the message routes call;
// *planner.Chat implements it.
type Chat interface {
	Admit(ctx context.Context, sessionID, conversationID uuid.UUID, content, idempotencyKey string) (models.Admission, error)
	Answer(ctx context.Context, sessionID, conversationID uuid.UUID, adm models.Admission, idempotencyKey string,
		emit func(delta string) error) (models.Message, error)
}

// ConversationHandler serves /api/v1/conversations: a guest session's
// planning conversations and the planner's replies.
type ConversationHandler struct {
	store conversationStore
	chat  Chat
}

// NewConversationHandler returns a ConversationHandler reading
// conversations from store and answering messages through chat.
func NewConversationHandler(store conversationStore, chat Chat) *ConversationHandler {
	return &ConversationHandler{store: store, chat: chat}
}

// ConversationView is a conversation without its messages.
type ConversationView struct {
	ID        uuid.UUID `json:"id"`
	Title     string    `json:"title"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt" doc:"When the last message was added."`
}

func conversationView(c models.Conversation) ConversationView {
	return ConversationView{ID: c.ID, Title: c.Title, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

// MessageView is a diver's message or a planner's reply. Citations and sites
// are empty for the diver's messages; constraints and model are set on
// replies only.
type MessageView struct {
	ID             uuid.UUID               `json:"id"`
	ConversationID uuid.UUID               `json:"conversationId"`
	Role           models.Role             `json:"role"`
	Content        string                  `json:"content"`
	Citations      []models.Citation       `json:"citations" doc:"The passages the reply drew on."`
	Sites          []models.SiteSuggestion `json:"sites" doc:"The sites the reply recommends, best first."`
	Constraints    *Constraints            `json:"constraints,omitempty" doc:"Replies only: the trip as understood after this turn (it persists until the diver changes it)."`
	Model          string                  `json:"model,omitempty" doc:"Replies only: the generator (extractive, or the Gemini model)."`
	CreatedAt      time.Time               `json:"createdAt"`
}

func messageView(m models.Message) MessageView {
	v := MessageView{ID: m.ID, ConversationID: m.ConversationID, Role: models.Role(m.Role), Content: m.Content,
		Citations: nonNilSlice(m.Citations), Sites: nonNilSlice(m.Sites), Model: m.Model, CreatedAt: m.CreatedAt}
	if m.Role == models.RoleAssistant {
		c := constraintsView(planner.DecodeConstraints(m.Constraints))
		v.Constraints = &c
	}
	return v
}

// ConversationPath is the {id} of every /api/v1/conversations/{id} route.
type ConversationPath struct {
	ID string `path:"id" format:"uuid" doc:"The conversation's id."`
}

func (p ConversationPath) uuid() (uuid.UUID, error) {
	id, err := uuid.Parse(p.ID)
	if err != nil { // huma has checked the format; belt and braces
		return uuid.Nil, invalid("id", "must be a UUID")
	}
	return id, nil
}

type conversationOutput struct {
	CacheControl string `header:"Cache-Control" doc:"no-store: conversations are private."`
	Body         DataBody[ConversationView]
}

type createConversationInput struct {
	AuthHeader
	Body *struct {
		Title string `json:"title,omitempty" maxLength:"200" doc:"A title the client chooses; may be empty."`
	} `required:"false"`
}

// Create starts a conversation in the caller's session.
func (h *ConversationHandler) Create(ctx context.Context, in *createConversationInput) (*conversationOutput, error) {
	s := sessionFrom(ctx)
	title := ""
	if in.Body != nil {
		title = strings.TrimSpace(in.Body.Title)
	}
	c, err := h.store.CreateConversation(ctx, s.ID, title)
	if err != nil {
		return nil, inField(err, "title", "must be printable text of at most the allowed length")
	}
	return &conversationOutput{CacheControl: noStore, Body: DataBody[ConversationView]{Data: conversationView(c)}}, nil
}

// CursorPage is the pagination block of a cursor-paginated list.
type CursorPage struct {
	Limit      int     `json:"limit"`
	NextCursor *string `json:"nextCursor" nullable:"true" doc:"Pass as cursor for the next page; null on the last page."`
}

func cursorPage(limit int, next string) CursorPage {
	p := CursorPage{Limit: limit}
	if next != "" {
		p.NextCursor = &next
	}
	return p
}

type listConversationsInput struct {
	AuthHeader
	Limit  int    `query:"limit" default:"20" minimum:"1" maximum:"100" doc:"Page size."`
	Cursor string `query:"cursor" maxLength:"200" doc:"page.nextCursor of the previous page."`
}

type listConversationsOutput struct {
	CacheControl string `header:"Cache-Control" doc:"no-store: conversations are private."`
	Body         struct {
		Data []ConversationView `json:"data"`
		Page CursorPage         `json:"page"`
	}
}

// List returns the caller's conversations, most recently active first.
func (h *ConversationHandler) List(ctx context.Context, in *listConversationsInput) (*listConversationsOutput, error) {
	s := sessionFrom(ctx)
	list, next, err := h.store.ListConversations(ctx, s.ID, in.Limit, in.Cursor)
	if err != nil {
		return nil, inField(err, "cursor", "is not one this list returned")
	}
	out := &listConversationsOutput{CacheControl: noStore}
	out.Body.Data = make([]ConversationView, len(list))
	for i, c := range list {
		out.Body.Data[i] = conversationView(c)
	}
	out.Body.Page = cursorPage(in.Limit, next)
	return out, nil
}

// ConversationDetail is a conversation with a page of its messages.
type ConversationDetail struct {
	ConversationView
	Constraints Constraints   `json:"constraints" doc:"The trip as the planner understands it now (the latest reply's constraints)."`
	Messages    []MessageView `json:"messages" doc:"Oldest first: the latest page, or the one before the cursor."`
}

type getConversationInput struct {
	AuthHeader
	ConversationPath
	Limit  int    `query:"limit" default:"50" minimum:"1" maximum:"200" doc:"Messages per page."`
	Cursor string `query:"cursor" maxLength:"200" doc:"page.nextCursor of the previous answer: the messages before those."`
}

type getConversationOutput struct {
	CacheControl string `header:"Cache-Control" doc:"no-store: conversations are private."`
	Body         struct {
		Data ConversationDetail `json:"data"`
		Page CursorPage         `json:"page" doc:"nextCursor fetches older messages; null when there are none."`
	}
}

// Get returns one of the caller's conversations with its latest messages.
func (h *ConversationHandler) Get(ctx context.Context, in *getConversationInput) (*getConversationOutput, error) {
	s := sessionFrom(ctx)
	id, err := in.uuid()
	if err != nil {
		return nil, err
	}
	page, err := h.store.GetConversation(ctx, s.ID, id, in.Limit, in.Cursor)
	if err != nil {
		return nil, inField(err, "cursor", "is not one this list returned")
	}
	out := &getConversationOutput{CacheControl: noStore}
	out.Body.Data = ConversationDetail{ConversationView: conversationView(page.Conversation),
		Constraints: constraintsView(planner.DecodeConstraints(page.Conversation.Constraints)), Messages: make([]MessageView, len(page.Messages))}
	for i, m := range page.Messages {
		out.Body.Data.Messages[i] = messageView(m)
	}
	out.Body.Page = cursorPage(in.Limit, page.OlderCursor)
	return out, nil
}

type deleteConversationInput struct {
	AuthHeader
	ConversationPath
}

// Delete deletes one of the caller's conversations with its messages.
func (h *ConversationHandler) Delete(ctx context.Context, in *deleteConversationInput) (*struct{}, error) {
	s := sessionFrom(ctx)
	id, err := in.uuid()
	if err != nil {
		return nil, err
	}
	if err := h.store.DeleteConversation(ctx, s.ID, id); err != nil {
		return nil, err
	}
	return nil, nil
}

// PostMessageBody is a diver's message.
type PostMessageBody struct {
	Content string `json:"content" minLength:"1" maxLength:"4000" pattern:"[^\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]" patternDescription:"not only whitespace" doc:"The diver's message, in English or Chinese: 1-4000 characters, not only whitespace."`
}

type postMessageInput struct {
	AuthHeader
	ConversationPath
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Optional, 1-255 printable characters: a retry with the same key and body replays the first answer (or regenerates it if generation failed) without storing a second message."`
	Accept         string `header:"Accept" deprecated:"true" doc:"Deprecated: text/event-stream streams the reply as Server-Sent Events, as POST .../messages/stream does (without event ids); kept for existing callers."`
	Body           PostMessageBody
}

// streamMessageInput is postMessageInput without Accept: the stream
// operation answers text/event-stream whatever the client accepts.
type streamMessageInput struct {
	AuthHeader
	ConversationPath
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Optional, 1-255 printable characters: a retry with the same key and body replays the first answer (or regenerates it if generation failed) without storing a second message. Send one to reconnect safely."`
	Body           PostMessageBody
}

// Exchange is a diver's message with the planner's reply.
type Exchange struct {
	Message MessageView `json:"message"`
	Reply   MessageView `json:"reply"`
}

// ExchangeBody is the body of a posted message's answer, and the data of
// the final Server-Sent Event.
type ExchangeBody = DataBody[Exchange]

// checkContent refuses a message of only whitespace. The schema says so too
// (the notOnlySpace pattern), but huma's validation is the document's
// reading of it; this check is the server's own, in Go's terms.
// (Length, 1-4000 characters, is the schema's; NUL is strictJSON's.)
func checkContent(content string) error {
	if strings.TrimSpace(content) == "" {
		return invalid("content", "must not be empty or only whitespace")
	}
	return nil
}

// checkIdempotencyKey keeps keys to printable ASCII, so a key can be logged
// or echoed safely.
func checkIdempotencyKey(key string) error {
	if strings.ContainsFunc(key, func(r rune) bool { return r > unicode.MaxASCII || !unicode.IsPrint(r) }) {
		return invalid("Idempotency-Key", "must be printable ASCII")
	}
	return nil
}

// rateLimitHeaders are the RateLimit-* headers (draft-ietf-httpapi-
// ratelimit-headers, the widely deployed form) of a session's quota.
func rateLimitHeaders(rl models.RateLimit) http.Header {
	h := http.Header{}
	h.Set("RateLimit-Limit", strconv.Itoa(rl.Limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(rl.Remaining))
	h.Set("RateLimit-Reset", strconv.Itoa(models.Seconds(rl.Reset)))
	return h
}

// admit validates and stores the diver's message under the session's quota
// (committed before any generation). Its errors are answers (errorFor has
// mapped them), a refused Idempotency-Key's with the RateLimit headers.
func (h *ConversationHandler) admit(ctx context.Context, in *streamMessageInput) (models.GuestSession, uuid.UUID, models.Admission, error) {
	var res models.Admission
	s := sessionFrom(ctx)
	id, err := in.uuid()
	if err != nil {
		return s, id, res, err
	}
	if err := checkContent(in.Body.Content); err != nil {
		return s, id, res, err
	}
	if in.IdempotencyKey != "" {
		if err := checkIdempotencyKey(in.IdempotencyKey); err != nil {
			return s, id, res, err
		}
	}
	res, err = h.chat.Admit(ctx, s.ID, id, in.Body.Content, in.IdempotencyKey)
	if err != nil {
		answer := errorFor(ctx, inField(err, "content", "must be printable text"))
		if errors.Is(err, models.ErrIdempotencyInFlight) || errors.Is(err, models.ErrIdempotencyMismatch) {
			withHeaders(answer, rateLimitHeaders(res.RateLimit))
		}
		return s, id, res, answer
	}
	return s, id, res, nil
}

// answer has the chat answer the admitted message and encodes the exchange.
func (h *ConversationHandler) answer(ctx context.Context, sessionID, conversationID uuid.UUID, res models.Admission,
	key string, emit func(string) error) (ExchangeBody, error) {
	reply, err := h.chat.Answer(ctx, sessionID, conversationID, res, key, emit)
	if err != nil {
		return ExchangeBody{}, errorFor(ctx, err)
	}
	return ExchangeBody{Data: Exchange{Message: messageView(res.Message), Reply: messageView(reply)}}, nil
}
