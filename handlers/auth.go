package handlers

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/dovvydive/backend/models"
)

// sessionAuth turns an Authorization header into a live guest session.
// Tokens are the session id in its canonical text form (lower-case
// hyphenated, as uuid.UUID.String writes it) and an HMAC-SHA256 of the id
// under SESSION_SECRET, unpadded base64url; any other spelling of the same
// id ({braces}, urn:uuid:, upper case) is refused, so one session has one
// token.
type sessionAuth struct {
	secret []byte
	ttl    time.Duration // the sliding TTL each authenticated request renews
	store  interface {
		AuthenticateSession(ctx context.Context, id uuid.UUID, ttl time.Duration) (models.GuestSession, error)
	}
}

// wwwAuthenticate is RFC 6750's challenge for a missing, malformed or
// no-longer-valid token.
const wwwAuthenticate = `Bearer error="invalid_token"`

func unauthorized(why string) *APIError {
	return newAPIError(http.StatusUnauthorized, CodeUnauthorized, "Authorization", why).
		withHeader("WWW-Authenticate", wwwAuthenticate)
}

func sessionExpired() *APIError {
	return newAPIError(http.StatusUnauthorized, CodeSessionExpired, "Authorization",
		"the session has expired; start a new one with POST /api/v1/sessions").
		withHeader("WWW-Authenticate", wwwAuthenticate)
}

// authenticate returns the session named by header and slides its expiry
// (at most one write a minute per session, in the same round trip).
func (a *sessionAuth) authenticate(ctx context.Context, header string) (models.GuestSession, error) {
	id, ok := a.parse(header)
	if !ok {
		return models.GuestSession{}, unauthorized("must be Bearer and a session token")
	}
	s, err := a.store.AuthenticateSession(ctx, id, a.ttl)
	// A validly signed token for a row that is gone was issued by us: its
	// session expired and was purged since.
	if errors.Is(err, models.ErrNotFound) {
		return models.GuestSession{}, models.ErrSessionExpired
	}
	return s, err
}

// sessionKey is the context key of the authenticated session.
const sessionKey ctxKey = requestInfoKey + 1

// withSession returns ctx carrying the authenticated session.
func withSession(ctx context.Context, s models.GuestSession) context.Context {
	return context.WithValue(ctx, sessionKey, s)
}

// sessionFrom returns the session registerSecured authenticated for this
// request: a secured operation's handler always has one.
func sessionFrom(ctx context.Context) models.GuestSession {
	s, _ := ctx.Value(sessionKey).(models.GuestSession)
	return s
}

// authorizer is the input of a secured operation (it embeds AuthHeader).
type authorizer interface{ authorization() string }

func (h AuthHeader) authorization() string { return h.Authorization }

// parse reads "Bearer <token>" (the scheme in any case, RFC 9110 §11.1) and
// verifies the token's signature.
func (a *sessionAuth) parse(header string) (uuid.UUID, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return uuid.Nil, false
	}
	idText, sig, ok := strings.Cut(strings.TrimLeft(token, " "), ".")
	if !ok {
		return uuid.Nil, false
	}
	id, err := uuid.Parse(idText)
	if err != nil || id.String() != idText {
		return uuid.Nil, false
	}
	// Comparing the encoded text (not decoded bytes) refuses every other
	// encoding of the same MAC, such as non-zero trailing bits.
	if !hmac.Equal([]byte(sig), []byte(a.signature(id))) {
		return uuid.Nil, false
	}
	return id, true
}

func (a *sessionAuth) signature(id uuid.UUID) string {
	m := hmac.New(sha256.New, a.secret)
	m.Write(id[:])
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (a *sessionAuth) token(id uuid.UUID) string {
	return id.String() + "." + a.signature(id)
}
