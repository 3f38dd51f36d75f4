package database

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dovvydive/backend/models"
)

// putFeedbackSQL stores a rating only for an assistant message of the
// session's own conversation: the INSERT's SELECT finds no row otherwise,
// so a user message, another session's message or another conversation's
// is answered exactly like a missing one.
const putFeedbackSQL = `INSERT INTO message_feedback (message_id, rating, comment, created_at, updated_at)
	SELECT m.id, @rating, @comment, clock_timestamp(), clock_timestamp() FROM messages m
	 WHERE m.id = @message AND m.conversation_id = @conversation AND m.session_id = @session AND m.role = 'assistant'
	ON CONFLICT (message_id) DO UPDATE SET rating = EXCLUDED.rating, comment = EXCLUDED.comment,
		updated_at = EXCLUDED.updated_at
	RETURNING created_at, updated_at`

// PutFeedback stores (or replaces) the session's rating of a reply. A
// message that is not an assistant message of the session's conversation
// is models.ErrNotFound.
func (d *DB) PutFeedback(ctx context.Context, sessionID, conversationID, messageID uuid.UUID, rating, comment string) (models.MessageFeedback, error) {
	if !models.Rating(rating).Valid() {
		return models.MessageFeedback{}, fmt.Errorf("%w: rating must be up or down", models.ErrInvalid)
	}
	if err := checkText("comment", comment, 0, models.MaxFeedbackComment); err != nil {
		return models.MessageFeedback{}, err
	}
	f := models.MessageFeedback{MessageID: messageID, Rating: rating, Comment: comment}
	err := d.write(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		return conn.QueryRow(ctx, putFeedbackSQL, pgx.NamedArgs{"rating": rating, "comment": comment, "message": messageID,
			"conversation": conversationID, "session": sessionID}).Scan(&f.CreatedAt, &f.UpdatedAt)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return models.MessageFeedback{}, models.ErrNotFound
	}
	if err != nil {
		return models.MessageFeedback{}, notFoundOnForeignKey(err)
	}
	return f, nil
}

// DeleteFeedback removes the session's rating of a reply; a reply without
// one is fine (the rating is gone either way). A message that is not an
// assistant message of the session's conversation is models.ErrNotFound.
func (d *DB) DeleteFeedback(ctx context.Context, sessionID, conversationID, messageID uuid.UUID) error {
	var found bool
	err := d.write(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		return conn.QueryRow(ctx, `WITH m AS (
				SELECT id FROM messages
				 WHERE id = @message AND conversation_id = @conversation AND session_id = @session AND role = 'assistant'),
			gone AS (DELETE FROM message_feedback f USING m WHERE f.message_id = m.id)
			SELECT EXISTS (SELECT 1 FROM m)`,
			pgx.NamedArgs{"message": messageID, "conversation": conversationID, "session": sessionID}).Scan(&found)
	})
	if err != nil {
		return classify(err)
	}
	if !found {
		return models.ErrNotFound
	}
	return nil
}

// conversationFeedbackSQL reads the ratings of a session's conversation:
// the conversation's row once with NULL rating columns when it has none,
// once per rating otherwise, and no row when it is not the session's.
const conversationFeedbackSQL = `SELECT f.message_id, f.rating, f.comment, f.created_at, f.updated_at
	FROM conversations c
	LEFT JOIN (message_feedback f JOIN messages m ON m.id = f.message_id) ON m.conversation_id = c.id
	WHERE c.id = $1 AND c.session_id = $2
	ORDER BY m.created_at, m.id`

// ConversationFeedback lists the session's ratings of the replies in one
// of its conversations, oldest reply first, so a client can show them after
// a reload. Another session's or a missing conversation is
// models.ErrNotFound.
func (d *DB) ConversationFeedback(ctx context.Context, sessionID, conversationID uuid.UUID) ([]models.MessageFeedback, error) {
	var (
		out   []models.MessageFeedback
		found bool
	)
	err := d.readPgx(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		out, found = out[:0], false
		rows, err := conn.Query(ctx, conversationFeedbackSQL, conversationID, sessionID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			found = true
			var (
				id               *uuid.UUID
				rating, comment  *string
				created, updated *time.Time
			)
			if err := rows.Scan(&id, &rating, &comment, &created, &updated); err != nil {
				return err
			}
			if id != nil { // the conversation's row without a rating
				out = append(out, models.MessageFeedback{MessageID: *id, Rating: *rating, Comment: *comment,
					CreatedAt: *created, UpdatedAt: *updated})
			}
		}
		return rows.Err()
	})
	switch {
	case err != nil:
		return nil, err
	case !found:
		return nil, models.ErrNotFound
	}
	return nonNil(out), nil
}

// RatedReply is a rated reply as operators review it: the diver's question
// (the user message before the reply), the reply and the rating.
type RatedReply struct {
	ConversationID uuid.UUID
	MessageID      uuid.UUID
	Question       string // "" when the question was deleted
	Reply          string
	Rating         string
	Comment        string
	RatedAt        time.Time
}

// MaxRatedReplies bounds one ListRatedReplies call.
const MaxRatedReplies = 1000

// ratedRepliesSQL reads the latest ratings of one kind with each reply and
// the question it answered, newest first.
const ratedRepliesSQL = `SELECT m.conversation_id, m.id, coalesce(q.content, ''), m.content, f.rating, f.comment, f.updated_at
	  FROM message_feedback f
	  JOIN messages m ON m.id = f.message_id
	  LEFT JOIN LATERAL (
		SELECT u.content FROM messages u
		 WHERE u.conversation_id = m.conversation_id AND u.session_id = m.session_id AND u.role = 'user'
		   AND (u.created_at, u.id) < (m.created_at, m.id)
		 ORDER BY u.created_at DESC, u.id DESC LIMIT 1) q ON true
	 WHERE f.rating = $1
	 ORDER BY f.updated_at DESC, f.message_id DESC
	 LIMIT $2`

// ListRatedReplies returns up to limit (1 to MaxRatedReplies) replies rated
// rating, most recently rated first, for operators (`dovvydive feedback
// list`): they hold conversation content, never for the API.
func (d *DB) ListRatedReplies(ctx context.Context, rating string, limit int) ([]RatedReply, error) {
	if !models.Rating(rating).Valid() {
		return nil, fmt.Errorf("%w: rating must be up or down", models.ErrInvalid)
	}
	limit = min(max(limit, 1), MaxRatedReplies)
	var out []RatedReply
	err := d.readPgx(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		out = nil
		rows, err := conn.Query(ctx, ratedRepliesSQL, rating, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r RatedReply
			if err := rows.Scan(&r.ConversationID, &r.MessageID, &r.Question, &r.Reply, &r.Rating, &r.Comment, &r.RatedAt); err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, classify(err)
}
