package database

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dovvydive/backend/models"
)

// ShareTokenHashLength is the length of a share token's keyed hash
// (HMAC-SHA256), the only form of the token the database holds.
const ShareTokenHashLength = 32

// ShareConversation makes tokenHash the conversation's share link,
// replacing the one it had (that link stops working in the same
// statement), and returns when it was created. Another session's
// conversation is models.ErrNotFound.
func (d *DB) ShareConversation(ctx context.Context, sessionID, conversationID uuid.UUID, tokenHash []byte) (time.Time, error) {
	if len(tokenHash) != ShareTokenHashLength {
		return time.Time{}, fmt.Errorf("%w: a share token hash is %d bytes", models.ErrInvalid, ShareTokenHashLength)
	}
	var at time.Time
	err := d.write(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		return conn.QueryRow(ctx, `INSERT INTO conversation_shares (conversation_id, session_id, token_hash, created_at)
			SELECT id, session_id, @hash, clock_timestamp() FROM conversations WHERE id = @conversation AND session_id = @session
			ON CONFLICT (conversation_id) DO UPDATE SET token_hash = EXCLUDED.token_hash, created_at = EXCLUDED.created_at
			RETURNING created_at`,
			pgx.NamedArgs{"hash": tokenHash, "conversation": conversationID, "session": sessionID}).Scan(&at)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, models.ErrNotFound
	}
	if err != nil {
		return time.Time{}, notFoundOnForeignKey(err)
	}
	return at, nil
}

// RevokeShare ends the conversation's share link; a conversation that has
// none is fine. Another session's conversation is models.ErrNotFound.
func (d *DB) RevokeShare(ctx context.Context, sessionID, conversationID uuid.UUID) error {
	var found bool
	err := d.write(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		return conn.QueryRow(ctx, `WITH c AS (SELECT id FROM conversations WHERE id = @conversation AND session_id = @session),
			gone AS (DELETE FROM conversation_shares s USING c WHERE s.conversation_id = c.id)
			SELECT EXISTS (SELECT 1 FROM c)`,
			pgx.NamedArgs{"conversation": conversationID, "session": sessionID}).Scan(&found)
	})
	if err != nil {
		return classify(err)
	}
	if !found {
		return models.ErrNotFound
	}
	return nil
}

// MaxSharedMessages is how many of its latest messages a shared
// conversation shows.
const MaxSharedMessages = 200

// sharedSQL finds a link by its hash and reads the conversation with its
// latest $2 messages in the same statement: a known and an unknown token
// cost the same one round trip and one index lookup on token_hash (an
// unknown one just finds no row). A link of an expired session shows
// nothing: it is waiting for the purge to delete it.
const sharedSQL = `SELECT c.title, c.created_at, s.created_at, m.id, m.role, m.content, m.citations, m.sites, m.created_at
	  FROM conversation_shares s
	  JOIN conversations c ON c.id = s.conversation_id AND c.session_id = s.session_id
	  JOIN guest_sessions g ON g.id = s.session_id AND g.expires_at > clock_timestamp()
	  LEFT JOIN LATERAL (
		SELECT id, role, content, citations, sites, created_at FROM messages
		 WHERE conversation_id = c.id AND session_id = c.session_id
		 ORDER BY created_at DESC, id DESC LIMIT $2) m ON true
	 WHERE s.token_hash = $1
	 ORDER BY m.created_at DESC, m.id DESC`

// SharedConversationByToken returns the conversation shared under
// tokenHash; an unknown or revoked link (or any hash at all that is not a
// live link's) is models.ErrNotFound.
func (d *DB) SharedConversationByToken(ctx context.Context, tokenHash []byte) (models.SharedConversation, error) {
	var sc models.SharedConversation
	err := d.readPgx(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		sc = models.SharedConversation{}
		rows, err := conn.Query(ctx, sharedSQL, tokenHash, MaxSharedMessages+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		found := false
		for rows.Next() {
			var (
				id               *string
				role, content    *string
				citations, sites []byte
				created          *time.Time
			)
			if err := rows.Scan(&sc.Title, &sc.CreatedAt, &sc.SharedAt, &id, &role, &content, &citations, &sites, &created); err != nil {
				return err
			}
			found = true
			if id == nil { // a conversation without messages
				continue
			}
			m := models.Message{Role: *role, Content: *content, CreatedAt: *created}
			if m.ID, err = uuid.Parse(*id); err != nil {
				return fmt.Errorf("shared message id: %w", err)
			}
			if err := json.Unmarshal(citations, &m.Citations); err != nil {
				return fmt.Errorf("shared message citations: %w", err)
			}
			if err := json.Unmarshal(sites, &m.Sites); err != nil {
				return fmt.Errorf("shared message sites: %w", err)
			}
			sc.Messages = append(sc.Messages, m)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if !found {
			return models.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return models.SharedConversation{}, classify(err)
	}
	if len(sc.Messages) > MaxSharedMessages {
		sc.Messages, sc.Truncated = sc.Messages[:MaxSharedMessages], true
	}
	slices.Reverse(sc.Messages)
	return sc, nil
}
