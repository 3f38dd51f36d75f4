package database

import "database/sql"

// NewMigratorForDB runs migrations over an existing pool (tests only).
func NewMigratorForDB(db *sql.DB) (*Migrator, error) { return newMigrator(db) }

// Connected reports whether Connect has succeeded (tests only).
func (d *DB) Connected() bool { return d.gorm.Load() != nil }
