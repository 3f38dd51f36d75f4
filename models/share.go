package models

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"
)

// ShareKey keys the hashes under which share links' tokens are stored:
// the database holds only HMAC-SHA256(token) under it, so neither a copy
// of the table nor a read-only leak of it opens a conversation. It is
// derived (HKDF-SHA256) from the session secret, so the key that signs
// session tokens is never used for anything else; changing the secret
// ends every link (and every session).
type ShareKey struct{ key []byte }

// shareKeyInfo names what the derived key is for.
const shareKeyInfo = "dovvydive share-link token hash v1"

// NewShareKey derives the share-link key from the session secret.
func NewShareKey(secret []byte) (ShareKey, error) {
	if len(secret) == 0 {
		return ShareKey{}, errors.New("share links: no session secret to derive the key from")
	}
	key, err := hkdf.Key(sha256.New, secret, nil, shareKeyInfo, sha256.Size)
	if err != nil {
		return ShareKey{}, fmt.Errorf("share links: derive key: %w", err)
	}
	return ShareKey{key: key}, nil
}

// IsZero reports a key that was never derived.
func (k ShareKey) IsZero() bool { return len(k.key) == 0 }

// Hash is the stored form of a token: whatever string arrives is hashed,
// whatever its length or alphabet, so every lookup does the same work.
func (k ShareKey) Hash(token string) []byte {
	m := hmac.New(sha256.New, k.key)
	m.Write([]byte(token))
	return m.Sum(nil)
}

// SharedConversation is what a share link shows: the conversation's title
// and latest messages, nothing that names its session.
type SharedConversation struct {
	Title     string
	CreatedAt time.Time // the conversation's
	SharedAt  time.Time // the link's
	Messages  []Message // oldest first; only ID, Role, Content, Citations, Sites, CreatedAt are set
	Truncated bool      // older messages exist than Messages holds
}
