package database

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/dovvydive/backend/models"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

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
// Another session's conversation is models.ErrNotFound.
func (d *DB) ConversationTurns(ctx context.Context, sessionID, conversationID, exclude uuid.UUID, n int) (json.RawMessage, []models.Turn, error) {
	n = historyLimit(n)
	var constraints json.RawMessage
	var turns []models.Turn
	err := d.readPgx(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		constraints, turns = nil, nil
		rows, err := conn.Query(ctx, turnsSQL,
			pgx.NamedArgs{"exclude": exclude, "n": n, "conversation": conversationID, "session": sessionID})
		if err != nil {
			return err
		}
		defer rows.Close()
		var found bool
		constraints, turns, found, err = scanTurns(rows)
		if err != nil {
			return err
		}
		if !found {
			return models.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return nil, nil, classify(err)
	}
	slices.Reverse(turns)
	return constraints, turns, nil
}

// historyLimit bounds the turns read for one answer.
func historyLimit(n int) int { return min(max(n, 0), 200) }

// scanTurns reads turnsSQL's rows: the conversation's constraints, its turns
// newest first, and whether the conversation was found at all (it yields a
// row without a turn when it has no other messages).
func scanTurns(rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}) (constraints []byte, turns []models.Turn, found bool, err error) {
	for rows.Next() {
		var c []byte
		var role, content *string
		if err := rows.Scan(&c, &role, &content); err != nil {
			return nil, nil, false, err
		}
		found, constraints = true, c
		if role != nil {
			turns = append(turns, models.Turn{Role: *role, Content: *content})
		}
	}
	return constraints, turns, found, rows.Err()
}
