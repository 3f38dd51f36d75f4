package handlers

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
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

type createSessionRequest struct {
	Language string `json:"language" validate:"oneof=en zh"`
}

type sessionResponse struct {
	models.GuestSession
	Token string `json:"token,omitempty"`
}

// Create starts a guest session and returns it with its token.
func (h *SessionHandler) Create(c *gin.Context) {
	req := createSessionRequest{Language: "en"}
	if e := bindJSON(c, &req); e != nil {
		writeError(c, e)
		return
	}
	s, err := h.store.CreateGuestSession(c.Request.Context(), req.Language, h.ttl)
	if err != nil {
		writeStoreError(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"data": sessionResponse{GuestSession: s, Token: h.sign(s.ID)}})
}

// Current returns the session named by the Authorization bearer token.
func (h *SessionHandler) Current(c *gin.Context) {
	id, ok := h.verify(strings.TrimPrefix(c.GetHeader("Authorization"), "Bearer "))
	if !ok {
		writeError(c, &APIError{Status: http.StatusUnauthorized, Code: "unauthorized", Field: "Authorization",
			Message: "Authorization: must be Bearer and a session token"})
		return
	}
	s, err := h.store.GetGuestSession(c.Request.Context(), id)
	if err != nil {
		writeStoreError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"data": sessionResponse{GuestSession: s}})
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
