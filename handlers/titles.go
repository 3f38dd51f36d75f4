package handlers

import (
	"context"
	"strings"
	"unicode"

	"github.com/google/uuid"

	"github.com/dovvydive/backend/models"
)

// Conversations without a title are titled from their first message by
// the planner (planner.Title), in the statement that stores the first
// reply (planner.Chat.Answer, stored by AddAssistantMessage); a title set here is never replaced.

type conversationTitleStore interface {
	RenameConversation(ctx context.Context, sessionID, id uuid.UUID, title string) (models.Conversation, error)
}

// TitleHandler serves PATCH /api/v1/conversations/{id}: the diver renames
// a conversation.
type TitleHandler struct {
	store conversationTitleStore
}

// NewTitleHandler returns a TitleHandler.
func NewTitleHandler(store conversationTitleStore) *TitleHandler {
	return &TitleHandler{store: store}
}

// ConversationTitle is a conversation's new title.
type ConversationTitle struct {
	Title string `json:"title" minLength:"1" maxLength:"200" pattern:"[^\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]" patternDescription:"not only whitespace" doc:"1-200 printable characters, not only whitespace; leading and trailing whitespace is dropped. Once set, the conversation is never titled automatically."`
}

type renameConversationInput struct {
	AuthHeader
	ConversationPath
	Body ConversationTitle
}

// Rename sets the title of one of the caller's conversations.
func (h *TitleHandler) Rename(ctx context.Context, in *renameConversationInput) (*conversationOutput, error) {
	s := sessionFrom(ctx)
	id, err := in.uuid()
	if err != nil {
		return nil, err
	}
	title := strings.TrimSpace(in.Body.Title)
	if err := checkTitle(title); err != nil {
		return nil, err
	}
	c, err := h.store.RenameConversation(ctx, s.ID, id, title)
	if err != nil {
		return nil, inField(err, "title", "must be 1-200 printable characters")
	}
	return &conversationOutput{CacheControl: noStore, Body: DataBody[ConversationView]{Data: conversationView(c)}}, nil
}

// checkTitle refuses, in Go's terms, a title of only whitespace (the
// schema's notOnlySpace pattern says so too) and what the schema cannot
// express: control or other invisible characters (a newline, a zero-width
// space) that would garble a list of titles.
func checkTitle(title string) error {
	if title == "" {
		return invalid("title", "must not be empty or only whitespace")
	}
	if strings.ContainsFunc(title, func(r rune) bool { return !unicode.IsGraphic(r) && r != zeroWidthJoiner }) {
		return invalid("title", "must be printable characters only (no line breaks or control characters)")
	}
	return nil
}

// zeroWidthJoiner is invisible but joins emoji sequences (👩‍💻), which
// titles may hold.
const zeroWidthJoiner = '\u200d'
