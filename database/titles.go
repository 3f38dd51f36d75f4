package database

import (
	"context"

	"github.com/google/uuid"

	"github.com/dovvydive/backend/models"
)

// RenameConversation sets a session's conversation's title, as the diver
// chose it: a non-empty title, which AddAssistantMessage never replaces
// (it titles only conversations whose title is ”). Renaming is not
// activity: updated_at stays the time of the last message. Another
// session's conversation is models.ErrNotFound.
func (d *DB) RenameConversation(ctx context.Context, sessionID, id uuid.UUID, title string) (models.Conversation, error) {
	if err := checkText("title", title, 1, MaxTitleLength); err != nil {
		return models.Conversation{}, err
	}
	g, err := d.handle(ctx)
	if err != nil {
		return models.Conversation{}, err
	}
	var c models.Conversation
	r := g.Raw(`UPDATE conversations SET title = ? WHERE id = ? AND session_id = ?
		RETURNING id, session_id, title, constraints, created_at, updated_at`, title, id, sessionID).Scan(&c)
	if r.Error != nil {
		return models.Conversation{}, classify(r.Error)
	}
	if r.RowsAffected == 0 {
		return models.Conversation{}, models.ErrNotFound
	}
	return c, nil
}
