package database

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dovvydive/backend/models"
)

// Retention of the counters that only matter within their rolling window:
// the purge deletes older entries, so no quota window may be longer.
const (
	quotaRetention    = 24 * time.Hour
	creationRetention = 24 * time.Hour
)

// MaxPurgeBatch is the most rows one purge statement deletes.
const MaxPurgeBatch = 1000

// PurgeResult counts the rows a purge deleted.
type PurgeResult struct {
	Sessions         int64
	Conversations    int64
	Messages         int64
	IdempotencyKeys  int64
	QuotaEntries     int64
	SessionCreations int64
}

// PurgeExpired deletes expired guest sessions and everything they own, then
// expired Idempotency-Keys and counters older than their retention. It works
// in statements of at most batchSize rows (1 to MaxPurgeBatch; 0 means the
// maximum), each its own short transaction, children before parents; a
// parent goes only once its children have, so the counts are exact.
//
// Two purges may run at once (two hosts' cron): every statement that touches
// a session's rows locks that session row with FOR UPDATE SKIP LOCKED, so the
// two work on different sessions and neither waits for the other; the rows
// deleted without a session lock (expired keys, old counters) have no
// children, so no lock cycle can form. A session being used, touched or
// written to at that moment is locked and skipped, and the re-check of
// expires_at on a row updated since the statement began keeps a session
// refreshed at the last moment. Expiry is final (TouchSession never revives
// an expired session), so nothing live is deleted.
func (d *DB) PurgeExpired(ctx context.Context, batchSize int) (PurgeResult, error) {
	if batchSize <= 0 || batchSize > MaxPurgeBatch {
		batchSize = MaxPurgeBatch
	}
	if d.sql.Load() == nil {
		return PurgeResult{}, models.ErrUnavailable
	}
	var res PurgeResult
	// A parent is deleted only once it has no children left, so no row goes
	// by cascade, uncounted: with two purges skipping each other's locked
	// rows, a child one of them skipped is deleted, and counted, by a step,
	// on this pass or the next.
	steps := []struct {
		name  string
		sql   string
		count *int64
	}{
		{"idempotency keys of expired sessions", purgeSessionKeysSQL, &res.IdempotencyKeys},
		{"messages", purgeMessagesSQL, &res.Messages},
		{"conversations", purgeConversationsSQL, &res.Conversations},
		{"quota entries of expired sessions", purgeSessionQuotaSQL, &res.QuotaEntries},
		{"sessions", purgeSessionsSQL, &res.Sessions},
		{"expired idempotency keys", purgeExpiredKeysSQL, &res.IdempotencyKeys},
		{"old quota entries", purgeOldQuotaSQL, &res.QuotaEntries},
		{"old session creations", purgeOldCreationsSQL, &res.SessionCreations},
	}
	args := pgx.NamedArgs{"n": batchSize, "retention": quotaRetention.Seconds(), "creations": creationRetention.Seconds()}
	// Passes repeat until one deletes nothing: a row skipped because the
	// other purge held its lock is either deleted by that purge or found
	// again here once the lock is gone.
	// Each statement is its own implicit transaction on a connection taken
	// for it alone, as before (never retried: they write).
	for progress := true; progress; {
		progress = false
		for _, step := range steps {
			for {
				var deleted int64
				err := d.write(ctx, func(ctx context.Context, conn *pgx.Conn) error {
					tag, err := conn.Exec(ctx, step.sql, args)
					deleted = tag.RowsAffected()
					return err
				})
				if err != nil {
					return res, fmt.Errorf("purge %s: %w", step.name, classify(err))
				}
				*step.count += deleted
				progress = progress || deleted > 0
				if deleted < int64(batchSize) {
					break
				}
			}
		}
	}
	return res, nil
}

// The purge's statements, each a constant deleting at most @n rows. FOR
// UPDATE SKIP LOCKED locks every row a subquery joins: the rows of an
// expired session's child table lock the session row with them.
const (
	purgeSessionKeysSQL = `DELETE FROM idempotency_keys WHERE (session_id, key) IN (
	SELECT k.session_id, k.key FROM guest_sessions s JOIN idempotency_keys k ON k.session_id = s.id
	 WHERE s.expires_at <= now() LIMIT @n FOR UPDATE SKIP LOCKED)`
	purgeMessagesSQL = `DELETE FROM messages WHERE id IN (
	SELECT t.id FROM guest_sessions s JOIN messages t ON t.session_id = s.id
	 WHERE s.expires_at <= now() LIMIT @n FOR UPDATE SKIP LOCKED)`
	purgeConversationsSQL = `DELETE FROM conversations WHERE id IN (
	SELECT t.id FROM guest_sessions s JOIN conversations t ON t.session_id = s.id
	 WHERE s.expires_at <= now() AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = t.id)
	 LIMIT @n FOR UPDATE SKIP LOCKED)`
	purgeSessionQuotaSQL = `DELETE FROM message_quota WHERE id IN (
	SELECT t.id FROM guest_sessions s JOIN message_quota t ON t.session_id = s.id
	 WHERE s.expires_at <= now() LIMIT @n FOR UPDATE SKIP LOCKED)`
	purgeSessionsSQL = `DELETE FROM guest_sessions WHERE id IN (
	SELECT id FROM guest_sessions g WHERE expires_at <= now()
	   AND NOT EXISTS (SELECT 1 FROM idempotency_keys k WHERE k.session_id = g.id)
	   AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.session_id = g.id)
	   AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.session_id = g.id)
	   AND NOT EXISTS (SELECT 1 FROM message_quota q WHERE q.session_id = g.id)
	 ORDER BY expires_at LIMIT @n FOR UPDATE SKIP LOCKED)`
	purgeExpiredKeysSQL = `DELETE FROM idempotency_keys WHERE (session_id, key) IN (
	SELECT session_id, key FROM idempotency_keys WHERE expires_at <= now() LIMIT @n FOR UPDATE SKIP LOCKED)`
	purgeOldQuotaSQL = `DELETE FROM message_quota WHERE id IN (
	SELECT id FROM message_quota WHERE created_at <= now() - make_interval(secs => @retention)
	 LIMIT @n FOR UPDATE SKIP LOCKED)`
	purgeOldCreationsSQL = `DELETE FROM session_creations WHERE id IN (
	SELECT id FROM session_creations WHERE created_at <= now() - make_interval(secs => @creations)
	 LIMIT @n FOR UPDATE SKIP LOCKED)`
)
