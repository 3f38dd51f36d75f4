package database_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/pressly/goose/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/database"
	"github.com/dovvydive/backend/database/dbtest"
	"github.com/dovvydive/backend/migrations"
	"github.com/dovvydive/backend/models"
)

func TestSession_SlidesAtMostOnceAMinuteAndStopsAtTheAbsoluteCap(t *testing.T) {
	t.Parallel()
	dsn := dbtest.Migrated(t)
	db := openDB(t, dsn)
	ctx := context.Background()
	s, err := db.CreateGuestSession(ctx, "zh", time.Hour)
	require.NoError(t, err)
	assert.WithinDuration(t, s.CreatedAt.Add(models.DefaultSessionMaxAge), s.AbsoluteExpiresAt, time.Second)
	assert.WithinDuration(t, s.CreatedAt.Add(time.Hour), s.ExpiresAt, time.Second)

	touched, err := db.TouchSession(ctx, s.ID, time.Hour)
	require.NoError(t, err)
	assert.False(t, touched, "seen less than a minute ago: no write")

	// Two hours into a busy session, last seen two minutes ago: it slides.
	dbtest.Exec(t, dsn, fmt.Sprintf(`UPDATE guest_sessions SET created_at = created_at - interval '2 hours',
		last_seen_at = now() - interval '2 minutes', expires_at = now() + interval '58 minutes' WHERE id = '%s'`, s.ID))
	got, err := db.AuthenticateSession(ctx, s.ID, time.Hour)
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(time.Hour), got.ExpiresAt, 5*time.Second)
	assert.WithinDuration(t, time.Now(), got.LastSeenAt, 5*time.Second)
	assert.Equal(t, "zh", got.Language)

	// Near the absolute cap, sliding stops at the cap.
	dbtest.Exec(t, dsn, fmt.Sprintf(`UPDATE guest_sessions SET last_seen_at = now() - interval '2 minutes',
		absolute_expires_at = now() + interval '10 minutes', expires_at = now() + interval '10 minutes' WHERE id = '%s'`, s.ID))
	touched, err = db.TouchSession(ctx, s.ID, time.Hour)
	require.NoError(t, err)
	assert.True(t, touched)
	got, err = db.AuthenticateSession(ctx, s.ID, time.Hour)
	require.NoError(t, err)
	assert.Equal(t, got.AbsoluteExpiresAt, got.ExpiresAt)
}

func TestSession_ExpiredIsDistinctFromUnknownAndIsNotRevived(t *testing.T) {
	t.Parallel()
	p := newPlanner(t)
	ctx := context.Background()
	expire(t, p.dsn, p.session)

	_, err := p.db.AuthenticateSession(ctx, p.session, time.Hour)
	assert.ErrorIs(t, err, models.ErrSessionExpired)
	touched, err := p.db.TouchSession(ctx, p.session, time.Hour)
	require.NoError(t, err)
	assert.False(t, touched, "an expired session is not revived")
	_, err = p.db.AuthenticateSession(ctx, p.session, time.Hour)
	assert.ErrorIs(t, err, models.ErrSessionExpired)
	_, err = p.db.AddUserMessage(ctx, p.session, p.conv, "still there?", hourly, nil)
	assert.ErrorIs(t, err, models.ErrSessionExpired)
	_, err = p.db.GetGuestSession(ctx, p.session)
	assert.ErrorIs(t, err, models.ErrNotFound)

	_, err = p.db.AuthenticateSession(ctx, uuid.New(), time.Hour)
	assert.ErrorIs(t, err, models.ErrNotFound)
	assert.NotErrorIs(t, err, models.ErrSessionExpired)
}

// expire moves a session into the past: idle past its TTL and its cap.
func expire(t *testing.T, dsn string, ids ...uuid.UUID) {
	t.Helper()
	for _, id := range ids {
		dbtest.Exec(t, dsn, fmt.Sprintf(`UPDATE guest_sessions SET created_at = now() - interval '8 days',
			last_seen_at = now() - interval '2 days', expires_at = now() - interval '1 second',
			absolute_expires_at = now() - interval '1 second' WHERE id = '%s'`, id))
	}
}

func TestSession_CreationIsCappedPerClientAcrossInstances(t *testing.T) {
	t.Parallel()
	dsn := dbtest.Migrated(t)
	instances := []*database.DB{openPool(t, dsn, 10), openPool(t, dsn, 10)}
	ctx := context.Background()
	secret := []byte("test-secret-test-secret-test-secret")
	client := models.ClientKey(secret, "203.0.113.7")
	req := models.NewGuestSession{Language: "en", TTL: time.Hour, ClientKey: client, Limit: 5, Window: time.Hour}

	var wg sync.WaitGroup
	var mu sync.Mutex
	created, limited := 0, 0
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := instances[i%2].CreateGuestSessionCapped(ctx, req)
			mu.Lock()
			defer mu.Unlock()
			var le *models.CreationLimitError
			switch {
			case err == nil:
				created++
				assert.WithinDuration(t, s.CreatedAt.Add(time.Hour), s.ExpiresAt, time.Second)
			case errors.As(err, &le):
				limited++
				assert.InDelta(t, time.Hour.Seconds(), le.RetryAfter.Seconds(), 60)
				assert.ErrorIs(t, err, models.ErrQuotaExceeded)
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 5, created)
	assert.Equal(t, 15, limited)
	assert.Equal(t, 5, count(t, dsn, `SELECT count(*) FROM guest_sessions`))
	assert.Equal(t, 5, count(t, dsn, `SELECT count(*) FROM session_creations WHERE client_key = $1`, client),
		"the address is stored only as its keyed hash")

	other := req
	other.ClientKey = models.ClientKey(secret, "198.51.100.1")
	_, err := instances[0].CreateGuestSessionCapped(ctx, other)
	require.NoError(t, err, "another client has its own allowance")

	// When the oldest creation leaves the window, one more is allowed.
	dbtest.Exec(t, dsn, `UPDATE session_creations SET created_at = now() - interval '61 minutes'
		WHERE id = (SELECT min(id) FROM session_creations)`)
	_, err = instances[1].CreateGuestSessionCapped(ctx, req)
	require.NoError(t, err)
	_, err = instances[1].CreateGuestSessionCapped(ctx, req)
	require.ErrorIs(t, err, models.ErrQuotaExceeded)

	_, err = instances[0].CreateGuestSessionCapped(ctx, models.NewGuestSession{ClientKey: "203.0.113.7", Limit: 1, Window: time.Hour, TTL: time.Hour})
	assert.ErrorIs(t, err, models.ErrInvalid, "a raw address is refused")
}

func TestMigration5_BackfillsExistingSessions(t *testing.T) {
	t.Parallel()
	dsn := dbtest.WithVector(t)
	sqlDB := openSQL(t, dsn)
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, migrations.FS)
	require.NoError(t, err)
	ctx := context.Background()
	_, err = p.UpTo(ctx, 4)
	require.NoError(t, err)
	id := uuid.New()
	_, err = sqlDB.Exec(`INSERT INTO guest_sessions (id, created_at, expires_at) VALUES ($1, now() - interval '1 day', now() + interval '1 hour')`, id)
	require.NoError(t, err)
	_, err = p.Up(ctx)
	require.NoError(t, err)

	var lastSeenIsCreated, capIsWeek, expiryKept bool
	require.NoError(t, sqlDB.QueryRow(`SELECT last_seen_at = created_at, absolute_expires_at = created_at + interval '7 days',
		expires_at > now() FROM guest_sessions WHERE id = $1`, id).Scan(&lastSeenIsCreated, &capIsWeek, &expiryKept))
	assert.True(t, lastSeenIsCreated)
	assert.True(t, capIsWeek)
	assert.True(t, expiryKept)
}
