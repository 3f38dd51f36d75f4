package database

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/dovvydive/backend/models"
)

// CreateGuestSession stores a new session that expires after ttl. Writes are
// not retried here: a failure is reported and the client may try again.
func (d *DB) CreateGuestSession(ctx context.Context, language string, ttl time.Duration) (models.GuestSession, error) {
	g, err := d.handle(ctx)
	if err != nil {
		return models.GuestSession{}, err
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	s := models.GuestSession{ID: uuid.New(), Language: language, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := g.Create(&s).Error; err != nil {
		return models.GuestSession{}, classify(err)
	}
	return s, nil
}

// GetGuestSession returns an unexpired session, or ErrNotFound.
func (d *DB) GetGuestSession(ctx context.Context, id uuid.UUID) (models.GuestSession, error) {
	var s models.GuestSession
	err := d.read(ctx, func(g *gorm.DB) error {
		return findOne(g.Where("id = ? AND expires_at > now()", id), &s)
	})
	return s, err
}
