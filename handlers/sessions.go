package handlers

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/dovvydive/backend/models"
)

type sessionStore interface {
	CreateGuestSessionCapped(ctx context.Context, n models.NewGuestSession) (models.GuestSession, error)
	AuthenticateSession(ctx context.Context, id uuid.UUID, ttl time.Duration) (models.GuestSession, error)
}

// SessionLimits bound guest sessions.
type SessionLimits struct {
	TTL             time.Duration // sliding: idle time after which a session expires; 0 takes models.DefaultSessionTTL
	MaxAge          time.Duration // absolute cap from creation; 0 takes models.DefaultSessionMaxAge
	CreatePerIPHour int           // sessions one client address may create per rolling hour; 0 takes models.DefaultSessionCreationLimit
}

// SessionHandler serves /api/v1/sessions: anonymous guest sessions whose
// bearer token is the session id signed with SESSION_SECRET.
type SessionHandler struct {
	store  sessionStore
	auth   *sessionAuth
	limits SessionLimits
}

// NewSessionHandler returns a SessionHandler signing tokens with secret.
func NewSessionHandler(store sessionStore, secret []byte, limits SessionLimits) *SessionHandler {
	if limits.CreatePerIPHour <= 0 {
		limits.CreatePerIPHour = models.DefaultSessionCreationLimit
	}
	if limits.MaxAge <= 0 {
		limits.MaxAge = models.DefaultSessionMaxAge
	}
	if limits.TTL <= 0 { // a zero TTL would expire every session at once
		limits.TTL = models.DefaultSessionTTL
	}
	return &SessionHandler{store: store, limits: limits, auth: &sessionAuth{secret: secret, ttl: limits.TTL, store: store}}
}

type createSessionInput struct {
	Body *createSessionBody `required:"false"`
}

type createSessionBody struct {
	Language models.Language `json:"language,omitempty" doc:"The language the guest plans in; en when absent. (No schema default: openapi-typescript would make a field with one required.)"`
}

// SessionResponse is a guest session (GET /api/v1/sessions/current: no
// token).
type SessionResponse struct {
	models.GuestSession
	// Language shadows the stored string with the API's enum.
	Language models.Language `json:"language" doc:"The language the guest plans in."`
}

// CreatedSession is a new guest session with its token, which only the
// answer to POST /api/v1/sessions holds (so the schema requires it there).
type CreatedSession struct {
	SessionResponse
	Token string `json:"token" doc:"Bearer token for Authorization; handed out once."`
}

// noStore keeps session tokens, session data and conversations out of
// every cache.
const noStore = "no-store"

type sessionOutput struct {
	CacheControl string `header:"Cache-Control" doc:"no-store: the body carries session data."`
	Body         DataBody[SessionResponse]
}

type createdSessionOutput struct {
	CacheControl string `header:"Cache-Control" doc:"no-store: the body carries the session's token."`
	Body         DataBody[CreatedSession]
}

// Create starts a guest session and returns it with its token, unless the
// client (by ClientIP, which honours only the trusted proxies) has created
// its hourly allowance already.
func (h *SessionHandler) Create(ctx context.Context, in *createSessionInput) (*createdSessionOutput, error) {
	language := models.Language("en")
	if in.Body != nil && in.Body.Language != "" {
		language = in.Body.Language
	}
	s, err := h.store.CreateGuestSessionCapped(ctx, models.NewGuestSession{
		Language: string(language), TTL: h.limits.TTL, MaxAge: h.limits.MaxAge,
		ClientKey: models.ClientKey(h.auth.secret, clientIPFrom(ctx)),
		Limit:     h.limits.CreatePerIPHour, Window: time.Hour,
	})
	if err != nil {
		return nil, err
	}
	return &createdSessionOutput{CacheControl: noStore, Body: DataBody[CreatedSession]{Data: CreatedSession{
		SessionResponse: SessionResponse{GuestSession: s, Language: models.Language(s.Language)}, Token: h.auth.token(s.ID)}}}, nil
}

// AuthHeader is the header every session-scoped operation reads.
type AuthHeader struct {
	Authorization string `header:"Authorization" doc:"Bearer and the token of POST /api/v1/sessions (the scheme in any case)."`
}

// Current returns the session named by the Authorization bearer token.
func (h *SessionHandler) Current(ctx context.Context, _ *AuthHeader) (*sessionOutput, error) {
	s := sessionFrom(ctx)
	return &sessionOutput{CacheControl: noStore, Body: DataBody[SessionResponse]{Data: SessionResponse{GuestSession: s, Language: models.Language(s.Language)}}}, nil
}
