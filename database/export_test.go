package database

import (
	"context"
	"database/sql"

	"github.com/dovvydive/backend/models"
)

// NewMigratorForDB runs migrations over an existing pool (tests only).
func NewMigratorForDB(db *sql.DB) (*Migrator, error) { return newMigrator(db) }

// Connected reports whether Connect has succeeded (tests only).
func (d *DB) Connected() bool { return d.gorm.Load() != nil }

// ShareHealth is Health over check instead of the database (tests only).
func (d *DB) ShareHealth(ctx context.Context, check func(context.Context) models.HealthReport) models.HealthReport {
	return d.shareHealth(ctx, check)
}
