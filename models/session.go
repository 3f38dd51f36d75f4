package models

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/google/uuid"
)

// Languages a guest may plan in.
var Languages = []string{"en", "zh"}

// Language is a language a guest may plan in, as clients send it.
type Language string

// Values lists the valid languages.
func (Language) Values() []string { return Languages }

// GuestSession is an anonymous planning session. ExpiresAt is its effective
// expiry: LastSeenAt plus the idle TTL, never later than AbsoluteExpiresAt.
type GuestSession struct {
	ID                uuid.UUID `gorm:"type:uuid;primaryKey" json:"id"`
	Language          string    `json:"language"`
	CreatedAt         time.Time `json:"createdAt"`
	ExpiresAt         time.Time `json:"expiresAt"`
	LastSeenAt        time.Time `json:"lastSeenAt"`
	AbsoluteExpiresAt time.Time `json:"absoluteExpiresAt"`
}

// DefaultSessionTTL is how long a guest session lives without a request
// (each authenticated request slides it).
const DefaultSessionTTL = 24 * time.Hour

// DefaultSessionMaxAge is the absolute lifetime of a guest session, however
// active: a stolen token stops working after it.
const DefaultSessionMaxAge = 7 * 24 * time.Hour

// DefaultSessionCreationLimit is how many sessions one client (address) may
// create per rolling hour.
const DefaultSessionCreationLimit = 30

// NewGuestSession describes a session to create under a per-client cap.
type NewGuestSession struct {
	Language  string
	TTL       time.Duration // sliding: idle time after which the session expires
	MaxAge    time.Duration // absolute cap from creation; 0 means DefaultSessionMaxAge
	ClientKey string        // ClientKey(secret, ip): never the address itself
	Limit     int           // sessions a client may create per Window
	Window    time.Duration
}

// ClientKey is the hex HMAC-SHA256 of a client address under secret: stable
// for counting, useless for recovering the address without the secret.
func ClientKey(secret []byte, ip string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ip))
	return hex.EncodeToString(m.Sum(nil))
}
