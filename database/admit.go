package database

import (
	"context"
	"errors"
	"slices"

	"github.com/dovvydive/backend/models"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// AdmitUserMessage is AddUserMessage that also reads, in the same database
// round trip, the conversation's constraints and its latest history turns
// (other than the new message, oldest first) for the planner. For the
// common case, a new message under the quota, BEGIN, the session row lock,
// the admission, the read of the recent turns and COMMIT are sent as one
// pipelined batch. The server still runs them in order, each statement
// with its own snapshot, so the admission counts what the previous lock
// holder committed. Anything else (quota reached, an Idempotency-Key seen
// before, an expired session, another session's conversation) stored
// nothing and is answered from the same batch's rows (see admission.answer);
// its Admission carries no turns.
func (d *DB) AdmitUserMessage(ctx context.Context, sessionID, conversationID uuid.UUID, content string, q models.Quota,
	idem *models.IdempotencyRequest, history int) (models.Admission, error) {
	return d.admit(ctx, sessionID, conversationID, content, q, idem, history, true)
}

// lockSQL locks the session row (FOR NO KEY UPDATE), so concurrent
// admissions for one session, on any instance, run one at a time; it
// reports whether the session has expired and whether it owns the
// conversation, and yields no row when the session does not exist.
const lockSQL = `SELECT s.expires_at <= clock_timestamp(),
		EXISTS (SELECT 1 FROM conversations c WHERE c.id = $1 AND c.session_id = s.id)
	FROM guest_sessions s WHERE s.id = $2 FOR NO KEY UPDATE OF s`

// admit is the one admission: the batch, then, when it inserted nothing,
// the answer read from its rows. withTurns queues turnsSQL in the batch.
func (d *DB) admit(ctx context.Context, sessionID, conversationID uuid.UUID, content string, q models.Quota,
	idem *models.IdempotencyRequest, history int, withTurns bool) (models.Admission, error) {
	key, err := checkUserMessage(content, q, idem)
	if err != nil {
		return models.Admission{}, err
	}
	msg := newUserMessage(sessionID, conversationID, content)
	var a admission
	var adm models.Admission
	var batched bool // the batch ran to its end: a is what it counted
	// Not readPgx: the batch writes, so it is never retried.
	err = d.write(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		var found, expired, owns bool
		err := func() error {
			b := &pgx.Batch{}
			b.Queue("BEGIN")
			b.Queue(lockSQL, conversationID, sessionID)
			b.Queue(admitSQL, admitArgs(msg, q, key))
			if withTurns {
				b.Queue(turnsSQL, pgx.NamedArgs{"exclude": msg.ID, "n": historyLimit(history),
					"conversation": conversationID, "session": sessionID})
			}
			b.Queue("COMMIT")
			br := conn.SendBatch(ctx, b)
			defer br.Close()
			if _, err := br.Exec(); err != nil {
				return err
			}
			err := br.QueryRow().Scan(&expired, &owns)
			switch {
			case errors.Is(err, pgx.ErrNoRows): // no session: the admission finds none either
			case err != nil:
				return err
			default:
				found = true
			}
			if err := br.QueryRow().Scan(a.dest()...); err != nil {
				return err
			}
			if withTurns {
				rows, err := br.Query()
				if err != nil {
					return err
				}
				adm.Constraints, adm.History, adm.HasHistory, err = scanTurns(rows)
				rows.Close()
				if err != nil {
					return err
				}
			}
			_, err = br.Exec()
			if err != nil {
				return err
			}
			return br.Close()
		}()
		batched = err == nil
		switch {
		case err != nil:
			return err
		case a.inserted:
			return nil
		case !found:
			return models.ErrNotFound
		case expired:
			return models.ErrSessionExpired
		case !owns:
			return models.ErrNotFound
		}
		return a.answer(ctx, conn, &adm.UserMessageResult, q, sessionID, conversationID, key)
	})
	if err != nil {
		if !batched {
			return models.Admission{}, notFoundOnForeignKey(err)
		}
		// A refusal reports the quota state the batch counted.
		return models.Admission{UserMessageResult: models.UserMessageResult{RateLimit: a.rateLimit(q, 0)}},
			notFoundOnForeignKey(err)
	}
	if !a.inserted {
		return models.Admission{UserMessageResult: adm.UserMessageResult}, nil
	}
	msg.CreatedAt = a.now
	slices.Reverse(adm.History)
	adm.Message, adm.RateLimit = msg, a.rateLimit(q, 1)
	return adm, nil
}
