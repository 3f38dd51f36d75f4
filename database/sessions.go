package database

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/dovvydive/backend/models"
)

// touchInterval bounds how often a session's sliding expiry is written:
// at most one UPDATE a minute per session, however many requests it makes.
const touchInterval = time.Minute

// CreateGuestSession stores a new session that expires after ttl of
// inactivity, and at the latest models.DefaultSessionMaxAge after creation. Writes
// are not retried here: a failure is reported and the client may try again.
func (d *DB) CreateGuestSession(ctx context.Context, language string, ttl time.Duration) (models.GuestSession, error) {
	g, err := d.handle(ctx)
	if err != nil {
		return models.GuestSession{}, err
	}
	s := newSession(language, time.Now(), ttl, models.DefaultSessionMaxAge)
	if err := g.Create(&s).Error; err != nil {
		return models.GuestSession{}, classify(err)
	}
	return s, nil
}

func newSession(language string, now time.Time, ttl, maxAge time.Duration) models.GuestSession {
	now = now.UTC().Truncate(time.Microsecond)
	return models.GuestSession{ID: uuid.New(), Language: language, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(min(ttl, maxAge)), AbsoluteExpiresAt: now.Add(maxAge)}
}

// creationLockClass namespaces the transaction-level advisory locks that
// serialise session creation per client (the second key is from ClientKey).
const creationLockClass = 0x64766331 // "dvc1"

// CreateGuestSessionCapped stores a new session unless the client has created
// n.Limit sessions in the last n.Window, in which case it returns a
// *models.CreationLimitError (errors.Is models.ErrQuotaExceeded) saying when to retry.
//
// The count and the insert run under a transaction-scoped advisory lock on
// the client key, so instances cannot both see Limit-1; unlike a session
// lock it is released by COMMIT, which keeps it correct behind a
// transaction pooler.
func (d *DB) CreateGuestSessionCapped(ctx context.Context, n models.NewGuestSession) (models.GuestSession, error) {
	key, err := hex.DecodeString(n.ClientKey)
	if err != nil || len(key) < 16 || len(key) > 64 {
		return models.GuestSession{}, fmt.Errorf("%w: client key must be the hex HMAC from models.ClientKey", models.ErrInvalid)
	}
	if n.Limit < 1 || n.Window <= 0 || n.TTL <= 0 {
		return models.GuestSession{}, fmt.Errorf("%w: limit, window and ttl must be positive", models.ErrInvalid)
	}
	if !slices.Contains(models.Languages, n.Language) {
		return models.GuestSession{}, fmt.Errorf("%w: language must be one of %v", models.ErrInvalid, models.Languages)
	}
	if n.MaxAge <= 0 {
		n.MaxAge = models.DefaultSessionMaxAge
	}
	var s models.GuestSession
	// Not readPgx: it writes, so it is never retried.
	err = d.write(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, creationLockClass,
				int32(binary.BigEndian.Uint32(key))); err != nil {
				return err
			}
			var now time.Time
			var used int
			var created bool
			id := uuid.New()
			err := tx.QueryRow(ctx, createCappedSQL,
				pgx.NamedArgs{"key": n.ClientKey, "window": n.Window.Seconds(), "limit": n.Limit, "id": id,
					"language": n.Language, "ttl": min(n.TTL, n.MaxAge).Seconds(), "max_age": n.MaxAge.Seconds()},
			).Scan(&now, &used, &created)
			if err != nil {
				return err
			}
			if !created {
				retry, err := oldestLeaves(ctx, tx, `SELECT created_at FROM session_creations
					WHERE client_key = $1 AND created_at > $2 ORDER BY created_at OFFSET $3 LIMIT 1`,
					n.ClientKey, now, n.Window, used, n.Limit)
				if err != nil {
					return err
				}
				return &models.CreationLimitError{Limit: n.Limit, Window: n.Window, RetryAfter: retry}
			}
			s = newSession(n.Language, now, n.TTL, n.MaxAge)
			s.ID = id
			return nil
		})
	})
	if err != nil {
		return models.GuestSession{}, classify(err)
	}
	return s, nil
}

// createCappedSQL counts the client's sessions in the window and, under the
// limit, records the creation and inserts the session.
const createCappedSQL = `WITH clock AS (SELECT clock_timestamp() AS now),
	used AS (
		SELECT count(*) AS n FROM session_creations c, clock
		 WHERE c.client_key = @key AND c.created_at > clock.now - make_interval(secs => @window)),
	accepted AS (SELECT clock.now FROM clock, used WHERE used.n < @limit),
	counted AS (INSERT INTO session_creations (client_key, created_at) SELECT @key, now FROM accepted),
	created AS (
		INSERT INTO guest_sessions (id, language, created_at, last_seen_at, expires_at, absolute_expires_at)
		SELECT @id, @language, now, now, now + make_interval(secs => @ttl), now + make_interval(secs => @max_age)
		  FROM accepted
		RETURNING id)
	SELECT clock.now, used.n, EXISTS (SELECT 1 FROM created) FROM clock, used`

// oldestLeaves returns how long until a rolling window holding used events
// (at most limit allowed) frees one place: until the event at position
// used-limit (oldest first) is older than window. query selects one
// created_at given the key ($1), the window start ($2), and the offset ($3).
func oldestLeaves(ctx context.Context, tx interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, query string, key any, now time.Time, window time.Duration, used, limit int) (time.Duration, error) {
	var at time.Time
	err := tx.QueryRow(ctx, query, key, now.Add(-window), max(0, used-limit)).Scan(&at)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Second, nil // the window emptied meanwhile
	}
	if err != nil {
		return 0, err
	}
	return max(time.Second, at.Add(window).Sub(now)), nil
}

// GetGuestSession returns an unexpired session, or models.ErrNotFound.
func (d *DB) GetGuestSession(ctx context.Context, id uuid.UUID) (models.GuestSession, error) {
	var s models.GuestSession
	err := d.read(ctx, func(g *gorm.DB) error {
		return findOne(g.Where("id = ? AND expires_at > now()", id), &s)
	})
	return s, err
}

// AuthenticateSession returns the session for a request and slides its
// expiry (see TouchSession) in the same round trip. A session that exists
// but has expired is models.ErrSessionExpired; one that does not exist (never
// issued, or already purged) is models.ErrNotFound. A caller holding a validly
// signed token should treat both as an expired session: the signature
// proves the session was issued, so a missing row means it was purged.
func (d *DB) AuthenticateSession(ctx context.Context, id uuid.UUID, ttl time.Duration) (models.GuestSession, error) {
	if ttl <= 0 {
		return models.GuestSession{}, fmt.Errorf("%w: session ttl must be positive", models.ErrInvalid)
	}
	var s models.GuestSession
	var expired bool
	// Not readPgx: it writes, so it is never retried.
	err := d.write(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		return conn.QueryRow(ctx, authenticateSQL,
			pgx.NamedArgs{"id": id, "ttl": ttl.Seconds(), "interval": touchInterval.Seconds()}).
			Scan(&s.ID, &s.Language, &s.CreatedAt, &s.ExpiresAt, &s.LastSeenAt, &s.AbsoluteExpiresAt, &expired)
	})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return models.GuestSession{}, models.ErrNotFound
	case err != nil:
		return models.GuestSession{}, classify(err)
	case expired:
		return models.GuestSession{}, models.ErrSessionExpired
	}
	return s, nil
}

// authenticateSQL is touchSQL returning the session, or, when the UPDATE
// changed nothing, the row as it was before it (one statement, one
// snapshot) and whether it has expired.
const authenticateSQL = `WITH touched AS (
	UPDATE guest_sessions
	   SET last_seen_at = now(), expires_at = least(now() + make_interval(secs => @ttl), absolute_expires_at)
	 WHERE id = @id AND expires_at > now() AND last_seen_at < now() - make_interval(secs => @interval)
	RETURNING id, language, created_at, expires_at, last_seen_at, absolute_expires_at)
	SELECT id, language, created_at, expires_at, last_seen_at, absolute_expires_at, false AS expired FROM touched
	UNION ALL
	SELECT id, language, created_at, expires_at, last_seen_at, absolute_expires_at, expires_at <= now() AS expired
	  FROM guest_sessions
	 WHERE id = @id AND NOT EXISTS (SELECT 1 FROM touched)`

// touchSQL (repeated in authenticateSQL) slides a live session's expiry to now + ttl (never past its
// absolute cap), only when it was last refreshed over a minute ago.
const touchSQL = `UPDATE guest_sessions
	   SET last_seen_at = now(), expires_at = least(now() + make_interval(secs => @ttl), absolute_expires_at)
	 WHERE id = @id AND expires_at > now() AND last_seen_at < now() - make_interval(secs => @interval)`

// TouchSession slides a live session's expiry, writing at most once a minute
// per session; it reports whether it wrote. An expired session is not
// revived: expiry is final, which is what lets the purge delete it safely.
func (d *DB) TouchSession(ctx context.Context, id uuid.UUID, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, fmt.Errorf("%w: session ttl must be positive", models.ErrInvalid)
	}
	var tag pgconn.CommandTag
	err := d.write(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		var err error
		tag, err = conn.Exec(ctx, touchSQL, pgx.NamedArgs{"id": id, "ttl": ttl.Seconds(), "interval": touchInterval.Seconds()})
		return err
	})
	if err != nil {
		return false, classify(err)
	}
	return tag.RowsAffected() == 1, nil
}
