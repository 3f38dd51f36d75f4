package handlers

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/dovvydive/backend/models"
)

type sessionStore interface {
	CreateGuestSession(ctx context.Context, language string, ttl time.Duration) (models.GuestSession, error)
	GetGuestSession(ctx context.Context, id uuid.UUID) (models.GuestSession, error)
}

// SessionHandler serves /api/v1/sessions: anonymous guest sessions whose
// bearer token is the session id signed with SESSION_SECRET.
type SessionHandler struct {
	store  sessionStore
	secret []byte
	ttl    time.Duration
}

// NewSessionHandler returns a SessionHandler signing tokens with secret.
func NewSessionHandler(store sessionStore, secret []byte, ttl time.Duration) *SessionHandler {
	return &SessionHandler{store: store, secret: secret, ttl: ttl}
}

type createSessionInput struct {
	Body *createSessionBody `required:"false"`
}

type createSessionBody struct {
	Language models.Language `json:"language,omitempty" default:"en" doc:"The language the guest plans in."`
}

// SessionResponse is a guest session; Token is present only in the answer
// to POST /api/v1/sessions.
type SessionResponse struct {
	models.GuestSession
	Token string `json:"token,omitempty" doc:"Bearer token for Authorization; handed out once."`
}

// noStore keeps session tokens and session data out of every cache.
const noStore = "no-store"

type sessionOutput struct {
	CacheControl string `header:"Cache-Control" doc:"no-store: the body carries a session token or session data."`
	Body         DataBody[SessionResponse]
}

// Create starts a guest session and returns it with its token.
func (h *SessionHandler) Create(ctx context.Context, in *createSessionInput) (*sessionOutput, error) {
	language := models.Language("en")
	if in.Body != nil && in.Body.Language != "" {
		language = in.Body.Language
	}
	s, err := h.store.CreateGuestSession(ctx, string(language), h.ttl)
	if err != nil {
		return nil, storeError(ctx, err)
	}
	return &sessionOutput{CacheControl: noStore,
		Body: DataBody[SessionResponse]{Data: SessionResponse{GuestSession: s, Token: h.sign(s.ID)}}}, nil
}

type currentSessionInput struct {
	Authorization string `header:"Authorization" doc:"Bearer and the token of POST /api/v1/sessions."`
}

// Current returns the session named by the Authorization bearer token.
func (h *SessionHandler) Current(ctx context.Context, in *currentSessionInput) (*sessionOutput, error) {
	token, ok := strings.CutPrefix(in.Authorization, "Bearer ")
	id, valid := h.verify(token)
	if !ok || !valid {
		return nil, newAPIError(http.StatusUnauthorized, CodeUnauthorized, "Authorization", "must be Bearer and a session token")
	}
	s, err := h.store.GetGuestSession(ctx, id)
	if err != nil {
		return nil, storeError(ctx, err)
	}
	return &sessionOutput{CacheControl: noStore, Body: DataBody[SessionResponse]{Data: SessionResponse{GuestSession: s}}}, nil
}

func (h *SessionHandler) mac(id uuid.UUID) []byte {
	m := hmac.New(sha256.New, h.secret)
	m.Write(id[:])
	return m.Sum(nil)
}

func (h *SessionHandler) sign(id uuid.UUID) string {
	return id.String() + "." + base64.RawURLEncoding.EncodeToString(h.mac(id))
}

func (h *SessionHandler) verify(token string) (uuid.UUID, bool) {
	idText, sig, ok := strings.Cut(token, ".")
	if !ok {
		return uuid.Nil, false
	}
	id, err := uuid.Parse(idText)
	if err != nil {
		return uuid.Nil, false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, h.mac(id)) {
		return uuid.Nil, false
	}
	return id, true
}
