package database

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dovvydive/backend/models"
)

// RenameConversation sets a session's conversation's title, as the diver
// chose it: a non-empty title, which AddAssistantMessage never replaces
// (it titles only untitled conversations, whose title is empty). Renaming is not
// activity: updated_at stays the time of the last message. Another
// session's conversation is models.ErrNotFound.
func (d *DB) RenameConversation(ctx context.Context, sessionID, id uuid.UUID, title string) (models.Conversation, error) {
	if err := checkText("title", title, 1, MaxTitleLength); err != nil {
		return models.Conversation{}, err
	}
	var c models.Conversation
	err := d.write(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		return conn.QueryRow(ctx, `UPDATE conversations SET title = $1 WHERE id = $2 AND session_id = $3
			RETURNING id, session_id, title, constraints, created_at, updated_at`, title, id, sessionID).
			Scan(&c.ID, &c.SessionID, &c.Title, &c.Constraints, &c.CreatedAt, &c.UpdatedAt)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return models.Conversation{}, models.ErrNotFound
	}
	if err != nil {
		return models.Conversation{}, classify(err)
	}
	return c, nil
}
