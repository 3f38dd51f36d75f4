package models

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// Message roles.
const (
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Role is who wrote a message, as the API shows it: the diver (user) or
// the planner (assistant).
type Role string

// Values lists the roles.
func (Role) Values() []string { return []string{RoleUser, RoleAssistant} }

// Conversation is one planning thread of a guest session. Constraints are the
// planner's current understanding of the trip (months, certification,
// places, wishes), carried from reply to reply; their shape is the planner's.
type Conversation struct {
	ID          uuid.UUID       `gorm:"type:uuid;primaryKey" json:"id"`
	SessionID   uuid.UUID       `gorm:"type:uuid" json:"-"`
	Title       string          `json:"title"`
	Constraints json.RawMessage `gorm:"serializer:json" json:"constraints"`
	CreatedAt   time.Time       `json:"createdAt"`
	UpdatedAt   time.Time       `json:"updatedAt"`
}

// Message is a diver's question or the planner's reply. Citations, Sites,
// Constraints and Model are set on replies only.
type Message struct {
	ID             uuid.UUID        `gorm:"type:uuid;primaryKey" json:"id"`
	ConversationID uuid.UUID        `gorm:"type:uuid" json:"conversationId"`
	SessionID      uuid.UUID        `gorm:"type:uuid" json:"-"`
	Role           string           `json:"role"`
	Content        string           `json:"content"`
	Citations      []Citation       `gorm:"serializer:json" json:"citations"`
	Sites          []SiteSuggestion `gorm:"serializer:json" json:"sites"`
	Constraints    json.RawMessage  `gorm:"serializer:json" json:"constraints,omitempty"`
	Model          string           `json:"model,omitempty"`
	CreatedAt      time.Time        `json:"createdAt"`
}

// Citation names a retrieved passage a reply is grounded in.
type Citation struct {
	SiteID     uuid.UUID `json:"siteId"`
	Slug       string    `json:"slug"`
	NameEn     string    `json:"nameEn"`
	NameZh     string    `json:"nameZh"`
	ChunkIndex int       `json:"chunkIndex"`
	Score      float64   `json:"score"`
}

// SiteSuggestion is a site a reply recommends, with the reason it fits.
type SiteSuggestion struct {
	ID     uuid.UUID `json:"id"`
	Slug   string    `json:"slug"`
	NameEn string    `json:"nameEn"`
	NameZh string    `json:"nameZh"`
	Reason string    `json:"reason"`
}
