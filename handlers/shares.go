package handlers

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/dovvydive/backend/models"
)

type shareStore interface {
	ShareConversation(ctx context.Context, sessionID, conversationID uuid.UUID, tokenHash []byte) (time.Time, error)
	RevokeShare(ctx context.Context, sessionID, conversationID uuid.UUID) error
	SharedConversationByToken(ctx context.Context, tokenHash []byte) (models.SharedConversation, error)
}

// ShareHandler serves a conversation's read-only share link: creating and
// revoking it (the owner's session) and reading through it (no session).
//
// A token is 256 random bits, unpadded base64url. The database holds only
// HMAC-SHA256(token) under a key derived from SESSION_SECRET
// (models.ShareKey, derived where the services are built), so neither a
// copy of the table nor a read-only leak of it opens a conversation, and
// the raw token exists only in the POST answer. Changing SESSION_SECRET
// ends every link (and every session).
type ShareHandler struct {
	store shareStore
	key   models.ShareKey
}

// shareTokenBytes is the random part of a token: 256 bits, beyond any
// guessing, 43 characters in base64url.
const shareTokenBytes = 32

// sharedPath is where a token is read; the link's url is relative to the API.
const sharedPath = "/api/v1/shared/"

// NewShareHandler returns a ShareHandler storing tokens hashed under key.
func NewShareHandler(store shareStore, key models.ShareKey) *ShareHandler {
	return &ShareHandler{store: store, key: key}
}

// ShareLink is a new share link. The token is shown once: only its hash
// is stored, so a lost link cannot be shown again, only replaced.
type ShareLink struct {
	Token     string    `json:"token" doc:"The link's secret (43 characters of base64url); shown only in this answer."`
	URL       string    `json:"url" doc:"Where anyone with the link reads the conversation: /api/v1/shared/{token}, relative to this API."`
	CreatedAt time.Time `json:"createdAt"`
}

type shareInput struct {
	AuthHeader
	ConversationPath
}

type shareOutput struct {
	CacheControl string `header:"Cache-Control" doc:"no-store: the answer holds the link's secret."`
	Body         DataBody[ShareLink]
}

// Create shares one of the caller's conversations read-only. Each call
// makes a new link and ends the previous one (201 every time): the old
// token cannot be shown again, since only its hash is kept, so "share"
// always answers a working link, and sharing again is how a diver cuts
// off everyone who had the old one.
func (h *ShareHandler) Create(ctx context.Context, in *shareInput) (*shareOutput, error) {
	s := sessionFrom(ctx)
	id, err := in.uuid()
	if err != nil {
		return nil, err
	}
	raw := make([]byte, shareTokenBytes)
	if _, err := rand.Read(raw); err != nil {
		loggerFrom(ctx).Error("share links: no randomness", "error", err.Error())
		return nil, internalError()
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	at, err := h.store.ShareConversation(ctx, s.ID, id, h.key.Hash(token))
	if err != nil {
		return nil, err
	}
	return &shareOutput{CacheControl: noStore,
		Body: DataBody[ShareLink]{Data: ShareLink{Token: token, URL: sharedPath + token, CreatedAt: at}}}, nil
}

// Revoke ends the conversation's share link (204 also when it had none).
func (h *ShareHandler) Revoke(ctx context.Context, in *shareInput) (*struct{}, error) {
	s := sessionFrom(ctx)
	id, err := in.uuid()
	if err != nil {
		return nil, err
	}
	if err := h.store.RevokeShare(ctx, s.ID, id); err != nil {
		return nil, err
	}
	return nil, nil
}

// SharedMessage is a message as a share link shows it: no conversation,
// session or planner state.
type SharedMessage struct {
	ID        uuid.UUID               `json:"id"`
	Role      models.Role             `json:"role"`
	Content   string                  `json:"content"`
	Citations []models.Citation       `json:"citations" doc:"The passages the reply drew on; empty for the diver's messages."`
	Sites     []models.SiteSuggestion `json:"sites" doc:"The sites the reply recommends, best first; empty for the diver's messages."`
	CreatedAt time.Time               `json:"createdAt"`
}

// SharedConversation is a conversation as its share link shows it.
type SharedConversation struct {
	Title     string          `json:"title" doc:"May be empty."`
	CreatedAt time.Time       `json:"createdAt" doc:"When the conversation began."`
	SharedAt  time.Time       `json:"sharedAt" doc:"When this link was made."`
	Messages  []SharedMessage `json:"messages" doc:"Oldest first: the latest 200."`
	Truncated bool            `json:"truncated" doc:"True when older messages exist than the 200 shown."`
}

type sharedInput struct {
	// No pattern or length here: a malformed token must cost what a
	// well-formed unknown one costs (hash, one lookup, 404), so the answer's
	// timing says nothing about which tokens exist.
	Token string `path:"token" doc:"The token of a share link."`
}

type sharedOutput struct {
	CacheControl string `header:"Cache-Control" doc:"no-store: conversation content."`
	XRobotsTag   string `header:"X-Robots-Tag" doc:"noindex: shared conversations stay out of search engines."`
	Body         DataBody[SharedConversation]
}

// Shared reads a conversation through its share link, with no session.
// An unknown, revoked or malformed token is the same 404 after the same
// work: the token is always hashed and looked up in one statement, with no
// earlier return.
func (h *ShareHandler) Shared(ctx context.Context, in *sharedInput) (*sharedOutput, error) {
	sc, err := h.store.SharedConversationByToken(ctx, h.key.Hash(in.Token))
	if err != nil {
		if errors.Is(err, models.ErrNotFound) {
			return nil, newAPIError(http.StatusNotFound, CodeNotFound, "token", "no conversation is shared under this link")
		}
		return nil, err
	}
	out := &sharedOutput{CacheControl: noStore, XRobotsTag: "noindex"}
	out.Body.Data = SharedConversation{Title: sc.Title, CreatedAt: sc.CreatedAt, SharedAt: sc.SharedAt,
		Messages: make([]SharedMessage, len(sc.Messages)), Truncated: sc.Truncated}
	for i, m := range sc.Messages {
		out.Body.Data.Messages[i] = SharedMessage{ID: m.ID, Role: models.Role(m.Role), Content: m.Content,
			Citations: nonNilSlice(m.Citations), Sites: nonNilSlice(m.Sites), CreatedAt: m.CreatedAt}
	}
	return out, nil
}

// loggedPath is the request path as the access log writes it: a share
// link's token is a bearer secret, so it is never logged.
func loggedPath(path string) string {
	// Any path naming "shared" is cut there, however it is spelled: gin
	// routes /api/v1//shared/<token> to a 404, but the token in it is live.
	if i := strings.Index(path, "/shared/"); i >= 0 {
		return path[:i] + "/shared/{token}"
	}
	return path
}
