package models

import (
	"encoding/json"
	"time"
)

// ConversationPage is a conversation with its latest messages, oldest first.
type ConversationPage struct {
	Conversation Conversation
	Messages     []Message
	OlderCursor  string // fetches the messages before Messages[0]; "" when there are none
}

// HistoryTurns is how many earlier messages of a conversation the planner is
// given with a new one: the constraints carry the conversation's facts, the
// turns its wording.
const HistoryTurns = 10

// Quota is the number of user messages a session may send per rolling Window.
type Quota struct {
	Limit  int
	Window time.Duration
}

// DefaultMessageQuota is 100 user messages per session per rolling hour:
// the one place the default is written (app's planner.quota_per_hour
// default refers to it).
var DefaultMessageQuota = Quota{Limit: 100, Window: time.Hour}

// RateLimit is the state of a session's quota after a request, for the
// RateLimit-Limit, -Remaining and -Reset headers.
type RateLimit struct {
	Limit     int
	Remaining int
	Reset     time.Duration // until the window frees a place (Seconds rounds it for headers)
}

// IdempotencyRequest carries a request's Idempotency-Key. Fingerprint
// identifies the request (e.g. a hash of the method, path and body): the same
// key with another fingerprint is ErrIdempotencyMismatch.
type IdempotencyRequest struct {
	Key         string
	Fingerprint string
	TTL         time.Duration // how long the key is remembered; 0 means 24 h
	Lease       time.Duration // how long a generation may run before a retry may take over; 0 means 2 min
}

// UserMessageResult is what admitting a diver's message did.
type UserMessageResult struct {
	// Message is the stored user message: new, or the one an earlier request
	// with the same Idempotency-Key stored.
	Message   Message
	RateLimit RateLimit
	// Replayed: the key's request completed before; Reply is its stored reply,
	// to be returned as it was, without generating.
	Replayed bool
	Reply    *Message
	// Regenerate: the key's earlier generation failed (or its lease ran out);
	// generate a reply for Message again. No second user message was stored
	// and the quota was not charged again.
	Regenerate bool
}

// AssistantReply is a generated reply to store.
type AssistantReply struct {
	Content     string
	Citations   []Citation
	Sites       []SiteSuggestion
	Constraints json.RawMessage // the conversation's constraints after this turn; nil keeps them
	Model       string
	// IdempotencyKey, when the user message came with one, is completed: a
	// retry with it then replays this reply.
	IdempotencyKey string
	// Title (planner.Title) becomes the conversation's title only while it
	// has none: a title the diver set, or an earlier reply's, stays.
	Title string
}

// Admission is what AdmitUserMessage did: the stored message (see
// UserMessageResult) and, for a newly stored one, the conversation's
// constraints and latest History turns before it, read in the same round trip.
type Admission struct {
	UserMessageResult
	Constraints json.RawMessage
	History     []Turn
	HasHistory  bool // false: read them with ConversationTurns
}

// Turn is one earlier message of a conversation, as the planner reads it.
type Turn struct {
	Role    string
	Content string
}
