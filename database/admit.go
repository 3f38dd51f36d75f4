package database

import (
	"context"
	"slices"

	"github.com/dovvydive/backend/models"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// AdmitUserMessage is AddUserMessage in one database round trip for the
// common case, a new message under the quota: BEGIN, the session row lock,
// the admission, the read of the conversation's recent turns and COMMIT are
// sent as one pipelined batch. The server still runs them in order, each
// statement with its own snapshot, so the admission counts what the
// previous lock holder committed exactly as in AddUserMessage. Anything
// else (quota reached, an Idempotency-Key seen before, an expired session,
// another session's conversation) stored nothing, and is answered by
// AddUserMessage itself, so both have one set of rules.
func (d *DB) AdmitUserMessage(ctx context.Context, sessionID, conversationID uuid.UUID, content string, q models.Quota,
	idem *models.IdempotencyRequest, history int) (models.Admission, error) {
	// The same checks as AddUserMessage, which answers every case but the
	// plain admission.
	key, err := checkUserMessage(content, q, idem)
	if err != nil {
		return models.Admission{}, err
	}
	msg := newUserMessage(sessionID, conversationID, content)
	var a admission
	var adm models.Admission
	// Not readPgx: the batch writes, so it is never retried.
	err = withPgxOn(ctx, d.sql.Load(), func(ctx context.Context, conn *pgx.Conn) error {
		b := &pgx.Batch{}
		b.Queue("BEGIN")
		b.Queue(`SELECT 1 FROM guest_sessions WHERE id = $1 FOR NO KEY UPDATE`, sessionID)
		b.Queue(admitSQL, pgx.NamedArgs(admitArgs(msg, q, key)))
		b.Queue(turnsSQL, pgx.NamedArgs{"exclude": msg.ID, "n": historyLimit(history),
			"conversation": conversationID, "session": sessionID})
		b.Queue("COMMIT")
		br := conn.SendBatch(ctx, b)
		defer br.Close()
		if _, err := br.Exec(); err != nil {
			return err
		}
		if _, err := br.Exec(); err != nil { // the lock; no row means no session, which the admission checks too
			return err
		}
		if err := br.QueryRow().Scan(a.dest()...); err != nil {
			return err
		}
		rows, err := br.Query()
		if err != nil {
			return err
		}
		adm.Constraints, adm.History, adm.HasHistory, err = scanTurns(rows)
		rows.Close()
		if err != nil {
			return err
		}
		_, err = br.Exec()
		return err
	})
	if err != nil {
		return models.Admission{}, notFoundOnForeignKey(err)
	}
	if !a.inserted {
		res, err := d.AddUserMessage(ctx, sessionID, conversationID, content, q, idem)
		if err != nil {
			// AddUserMessage reports no quota state with a refusal; the
			// batch's count is a moment old but good for the headers.
			res.RateLimit = a.rateLimit(q, 0)
		}
		return models.Admission{UserMessageResult: res}, err
	}
	msg.CreatedAt = a.now
	slices.Reverse(adm.History)
	adm.Message, adm.RateLimit = msg, a.rateLimit(q, 1)
	return adm, nil
}
