package models

import (
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
