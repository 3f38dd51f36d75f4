package handlers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/dovvydive/backend/database"
	"github.com/dovvydive/backend/models"
	"github.com/dovvydive/backend/planner"
)

// historyTurns is how many earlier messages the planner is given: the
// constraints carry the conversation's facts, the turns its wording.
const historyTurns = 10

type conversationStore interface {
	CreateConversation(ctx context.Context, sessionID uuid.UUID, title string) (models.Conversation, error)
	ListConversations(ctx context.Context, sessionID uuid.UUID, limit int, cursor string) ([]models.Conversation, string, error)
	GetConversation(ctx context.Context, sessionID, id uuid.UUID, messageLimit int, cursor string) (database.ConversationPage, error)
	DeleteConversation(ctx context.Context, sessionID, id uuid.UUID) error
	AdmitUserMessage(ctx context.Context, sessionID, conversationID uuid.UUID, content string, q database.Quota,
		idem *database.IdempotencyRequest, history int) (database.Admission, error)
	AddAssistantMessage(ctx context.Context, sessionID, conversationID uuid.UUID, r database.AssistantReply) (models.Message, error)
	FailIdempotencyKey(ctx context.Context, sessionID uuid.UUID, key string) error
	ConversationTurns(ctx context.Context, sessionID, conversationID, exclude uuid.UUID, n int) (json.RawMessage, []database.Turn, error)
}

// Planner answers a diver's message; *planner.Planner implements it.
type Planner interface {
	Plan(ctx context.Context, turn planner.Turn, emit func(delta string) error) (planner.Reply, error)
}

// ConversationHandler serves /api/v1/conversations: a guest session's
// planning conversations and the planner's replies.
type ConversationHandler struct {
	store   conversationStore
	auth    *sessionAuth
	planner Planner
	quota   database.Quota
}

// NewConversationHandler returns a ConversationHandler allowing each session
// quotaPerHour messages per rolling hour.
func NewConversationHandler(store conversationStore, auth *sessionAuth, p Planner, quotaPerHour int) *ConversationHandler {
	if quotaPerHour <= 0 {
		quotaPerHour = database.DefaultMessageQuota.Limit
	}
	return &ConversationHandler{store: store, auth: auth, planner: p, quota: database.Quota{Limit: quotaPerHour, Window: time.Hour}}
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
	Role           string                  `json:"role" enum:"user,assistant"`
	Content        string                  `json:"content"`
	Citations      []models.Citation       `json:"citations" doc:"The passages the reply drew on."`
	Sites          []models.SiteSuggestion `json:"sites" doc:"The sites the reply recommends, best first."`
	Constraints    *planner.Constraints    `json:"constraints,omitempty" doc:"Replies only: the trip as understood after this turn (it persists until the diver changes it)."`
	Model          string                  `json:"model,omitempty" doc:"Replies only: the generator (extractive, or the Gemini model)."`
	CreatedAt      time.Time               `json:"createdAt"`
}

func messageView(m models.Message) MessageView {
	v := MessageView{ID: m.ID, ConversationID: m.ConversationID, Role: m.Role, Content: m.Content,
		Citations: m.Citations, Sites: m.Sites, Model: m.Model, CreatedAt: m.CreatedAt}
	if v.Citations == nil {
		v.Citations = []models.Citation{}
	}
	if v.Sites == nil {
		v.Sites = []models.SiteSuggestion{}
	}
	if m.Role == models.RoleAssistant {
		c := decodeConstraints(m.Constraints)
		v.Constraints = &c
	}
	return v
}

// decodeConstraints reads stored constraints; anything unreadable is the
// empty set (the planner then starts afresh), never an error for the diver.
func decodeConstraints(raw json.RawMessage) planner.Constraints {
	var c planner.Constraints
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &c)
	}
	for _, s := range []*[]string{&c.Places, &c.AvoidPlaces, &c.Wishes, &c.Specialties} {
		if *s == nil {
			*s = []string{}
		}
	}
	if c.Months == nil {
		c.Months = []int{}
	}
	return c
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
	s, err := h.auth.authenticate(ctx, in.Authorization)
	if err != nil {
		return nil, err
	}
	title := ""
	if in.Body != nil {
		title = strings.TrimSpace(in.Body.Title)
	}
	c, err := h.store.CreateConversation(ctx, s.ID, title)
	if err != nil {
		return nil, conversationError(ctx, err, "title")
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
	s, err := h.auth.authenticate(ctx, in.Authorization)
	if err != nil {
		return nil, err
	}
	list, next, err := h.store.ListConversations(ctx, s.ID, in.Limit, in.Cursor)
	if err != nil {
		return nil, conversationError(ctx, err, "cursor")
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
	Constraints planner.Constraints `json:"constraints" doc:"The trip as the planner understands it now (the latest reply's constraints)."`
	Messages    []MessageView       `json:"messages" doc:"Oldest first: the latest page, or the one before the cursor."`
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
	s, err := h.auth.authenticate(ctx, in.Authorization)
	if err != nil {
		return nil, err
	}
	id, err := in.uuid()
	if err != nil {
		return nil, err
	}
	page, err := h.store.GetConversation(ctx, s.ID, id, in.Limit, in.Cursor)
	if err != nil {
		return nil, conversationError(ctx, err, "cursor")
	}
	out := &getConversationOutput{CacheControl: noStore}
	out.Body.Data = ConversationDetail{ConversationView: conversationView(page.Conversation),
		Constraints: decodeConstraints(page.Conversation.Constraints), Messages: make([]MessageView, len(page.Messages))}
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
	s, err := h.auth.authenticate(ctx, in.Authorization)
	if err != nil {
		return nil, err
	}
	id, err := in.uuid()
	if err != nil {
		return nil, err
	}
	if err := h.store.DeleteConversation(ctx, s.ID, id); err != nil {
		return nil, conversationError(ctx, err, "")
	}
	return nil, nil
}

// conversationError maps the conversation store's errors: another session's
// conversation is a 404 like a missing one, never a 403; ErrInvalid is the
// caller's field.
func conversationError(ctx context.Context, err error, field string) error {
	switch {
	case errors.Is(err, database.ErrInvalid) && field == "cursor":
		return invalid("cursor", "is not one this list returned")
	case errors.Is(err, database.ErrInvalid) && field != "":
		return invalid(field, "must be printable text of at most the allowed length")
	case errors.Is(err, database.ErrSessionExpired):
		return sessionExpired()
	}
	return storeError(ctx, err)
}

// PostMessageBody is a diver's message.
type PostMessageBody struct {
	Content string `json:"content" minLength:"1" maxLength:"4000" doc:"The diver's message, in English or Chinese: 1-4000 characters, not only whitespace."`
}

type postMessageInput struct {
	AuthHeader
	ConversationPath
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Optional, 1-255 printable characters: a retry with the same key and body replays the first answer (or regenerates it if generation failed) without storing a second message."`
	Accept         string `header:"Accept" doc:"text/event-stream streams the reply as Server-Sent Events."`
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

// checkContent refuses what the schema cannot express: a message of only
// whitespace. (Length, 1-4000 characters, is the schema's; NUL is strictJSON's.)
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

// fingerprint identifies a message request for its Idempotency-Key: the
// conversation and the exact content.
func fingerprint(conversationID uuid.UUID, content string) string {
	h := sha256.New()
	h.Write(conversationID[:])
	h.Write([]byte(content))
	return hex.EncodeToString(h.Sum(nil))
}

// rateLimitHeaders are the RateLimit-* headers (draft-ietf-httpapi-
// ratelimit-headers, the widely deployed form) of a session's quota.
func rateLimitHeaders(rl database.RateLimit) http.Header {
	h := http.Header{}
	h.Set("RateLimit-Limit", strconv.Itoa(rl.Limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(rl.Remaining))
	h.Set("RateLimit-Reset", strconv.Itoa(database.Seconds(rl.Reset)))
	return h
}

func withHeaders(err error, h http.Header) error {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		for k, v := range h {
			if apiErr.header == nil {
				apiErr.header = http.Header{}
			}
			apiErr.header[k] = v
		}
	}
	return err
}

// admitError maps AddUserMessage's refusals.
func (h *ConversationHandler) admitError(ctx context.Context, err error, rl database.RateLimit) error {
	var quota *database.QuotaError
	switch {
	case errors.As(err, &quota):
		return withHeaders(newAPIError(http.StatusTooManyRequests, CodeQuotaExceeded, "",
			"this session has sent its "+strconv.Itoa(quota.Limit)+" messages for the hour; retry after Retry-After seconds").
			withHeader("Retry-After", strconv.Itoa(database.Seconds(quota.RetryAfter))),
			rateLimitHeaders(database.RateLimit{Limit: quota.Limit, Reset: quota.RetryAfter}))
	case errors.Is(err, database.ErrIdempotencyInFlight):
		return withHeaders(newAPIError(http.StatusConflict, CodeIdempotencyConflict, "Idempotency-Key",
			"a request with this key is still being answered; retry shortly").withHeader("Retry-After", "1"), rateLimitHeaders(rl))
	case errors.Is(err, database.ErrIdempotencyMismatch):
		return withHeaders(newAPIError(http.StatusUnprocessableEntity, CodeIdempotencyMismatch, "Idempotency-Key",
			"was already used for a different message; use a new key"), rateLimitHeaders(rl))
	case errors.Is(err, database.ErrInvalid):
		return invalid("content", "must be printable text")
	}
	return conversationError(ctx, err, "")
}

// admit authenticates, validates and stores the diver's message under the
// session's quota (committed before any generation).
func (h *ConversationHandler) admit(ctx context.Context, in *postMessageInput) (models.GuestSession, uuid.UUID, database.Admission, error) {
	var res database.Admission
	s, err := h.auth.authenticate(ctx, in.Authorization)
	if err != nil {
		return s, uuid.Nil, res, err
	}
	id, err := in.uuid()
	if err != nil {
		return s, id, res, err
	}
	if err := checkContent(in.Body.Content); err != nil {
		return s, id, res, err
	}
	var idem *database.IdempotencyRequest
	if in.IdempotencyKey != "" {
		if err := checkIdempotencyKey(in.IdempotencyKey); err != nil {
			return s, id, res, err
		}
		idem = &database.IdempotencyRequest{Key: in.IdempotencyKey, Fingerprint: fingerprint(id, in.Body.Content)}
	}
	res, err = h.store.AdmitUserMessage(ctx, s.ID, id, in.Body.Content, h.quota, idem, historyTurns)
	if err != nil {
		return s, id, res, h.admitError(ctx, err, res.RateLimit)
	}
	return s, id, res, nil
}

// answer has the planner reply to the stored message res.Message and stores
// the reply. On failure the message stays, no reply is stored, and the
// Idempotency-Key (if any) is marked failed so that a retry regenerates.
func (h *ConversationHandler) answer(ctx context.Context, sessionID, conversationID uuid.UUID, res database.Admission,
	key string, emit func(string) error) (ExchangeBody, error) {
	fail := func(err error) (ExchangeBody, error) {
		if key != "" {
			// The client may be gone: record the failure regardless.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if ferr := h.store.FailIdempotencyKey(fctx, sessionID, key); ferr != nil {
				loggerFrom(ctx).Warn("idempotency key: could not mark failed", "error", ferr.Error())
			}
		}
		return ExchangeBody{}, err
	}
	rawCons, turns := res.Constraints, res.History
	if !res.HasHistory { // a regeneration: read them now
		var err error
		rawCons, turns, err = h.store.ConversationTurns(ctx, sessionID, conversationID, res.Message.ID, historyTurns)
		if err != nil {
			return fail(conversationError(ctx, err, ""))
		}
	}
	history := make([]planner.Message, len(turns))
	for i, t := range turns {
		history[i] = planner.Message{Role: t.Role, Content: t.Content}
	}
	reply, err := h.planner.Plan(ctx, planner.Turn{Message: res.Message.Content, History: history,
		PrevConstraints: decodeConstraints(rawCons)}, emit)
	if err != nil {
		return fail(planError(ctx, err))
	}
	cons, err := json.Marshal(reply.Constraints)
	if err != nil {
		return fail(internalError())
	}
	stored, err := h.store.AddAssistantMessage(ctx, sessionID, conversationID, database.AssistantReply{
		Content: reply.Content, Citations: reply.Citations, Sites: suggestions(reply.Sites),
		Constraints: cons, Model: reply.Model, IdempotencyKey: key,
		Title: planner.Title(res.Message.Content, reply.Constraints)}) // used only while the conversation has no title
	if err != nil {
		return fail(conversationError(ctx, err, ""))
	}
	return ExchangeBody{Data: Exchange{Message: messageView(res.Message), Reply: messageView(stored)}}, nil
}

// planError maps the planner's failures. Upstream names (gemini, embedding)
// are told to the client; their error text, which may quote the request,
// goes to the log only at warn level, never the message.
func planError(ctx context.Context, err error) error {
	if clientGone(ctx) {
		return clientClosed{} // whatever failed, failed because the client left
	}
	var up *planner.ErrUpstream
	switch {
	case errors.As(err, &up):
		loggerFrom(ctx).Warn("planner: upstream failed", "upstream", up.Name)
		code := CodeGeneratorUnavailable
		if up.Name == "embedding" {
			code = CodeEmbeddingUnavailable
		}
		e := newAPIError(http.StatusServiceUnavailable, code, "", up.Name+" is not available right now; your message is saved, retry shortly (with the same Idempotency-Key to avoid a second copy)")
		if up.RetryAfter > 0 {
			e.withHeader("Retry-After", strconv.Itoa(database.Seconds(up.RetryAfter)))
		}
		return e
	case err == context.DeadlineExceeded:
		// Plan returns the bare context error only when generation itself
		// ran out of time (a retrieval timeout comes wrapped, and is the
		// database's): the request deadline cut the answer short.
		loggerFrom(ctx).Warn("planner: generation exceeded the request timeout")
		return newAPIError(http.StatusServiceUnavailable, CodeGeneratorUnavailable, "",
			"the answer took longer than the request timeout; your message is saved, retry shortly")
	}
	return storeError(ctx, err)
}

func suggestions(ss []planner.SiteRef) []models.SiteSuggestion {
	out := make([]models.SiteSuggestion, len(ss))
	for i, s := range ss {
		out[i] = models.SiteSuggestion{ID: s.ID, Slug: s.Slug, NameEn: s.NameEn, NameZh: s.NameZh, Reason: s.Reason}
	}
	return out
}
