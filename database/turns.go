package database

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Turn is one earlier message of a conversation, as the planner reads it.
type Turn struct {
	Role    string
	Content string
}

// turnsSQL reads a conversation's constraints and its latest @n messages
// but @exclude, newest first; no row at all when the session does not own it.
const turnsSQL = `SELECT c.constraints, m.role, m.content
	  FROM conversations c
	  LEFT JOIN LATERAL (
		SELECT role, content, created_at, id FROM messages
		 WHERE conversation_id = c.id AND session_id = c.session_id AND id <> @exclude
		 ORDER BY created_at DESC, id DESC LIMIT @n) m ON true
	 WHERE c.id = @conversation AND c.session_id = @session
	 ORDER BY m.created_at DESC, m.id DESC`

// ConversationTurns returns what the planner needs to answer a message in
// one round trip: the conversation's current constraints and its latest n
// messages other than exclude (the message being answered), oldest first.
// Another session's conversation is ErrNotFound.
func (d *DB) ConversationTurns(ctx context.Context, sessionID, conversationID, exclude uuid.UUID, n int) (json.RawMessage, []Turn, error) {
	n = min(max(n, 0), 200)
	var constraints json.RawMessage
	var turns []Turn
	err := d.read(ctx, func(g *gorm.DB) error {
		constraints, turns = nil, nil
		rows, err := g.Raw(turnsSQL,
			map[string]any{"exclude": exclude, "n": n, "conversation": conversationID, "session": sessionID}).Rows()
		if err != nil {
			return err
		}
		defer rows.Close()
		found := false
		for rows.Next() {
			var c []byte
			var role, content sql.NullString
			if err := rows.Scan(&c, &role, &content); err != nil {
				return err
			}
			found, constraints = true, c
			if role.Valid {
				turns = append(turns, Turn{Role: role.String, Content: content.String})
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if !found {
			return ErrNotFound
		}
		return nil
	})
	if err != nil {
		return nil, nil, classify(err)
	}
	slices.Reverse(turns)
	return constraints, turns, nil
}
