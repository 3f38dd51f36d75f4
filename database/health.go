package database

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/dovvydive/backend/migrations"
)

// HealthReport is one measured round trip to the database.
type HealthReport struct {
	Connected     bool
	Latency       time.Duration // zero when not measured
	VectorVersion string        // empty when the extension is not installed
	Err           error         // for the log, never for a response body
}

// Health makes one round trip, bounded by the configured health timeout, that
// also reads the installed pgvector version.
func (d *DB) Health(ctx context.Context) HealthReport {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.HealthTimeout)
	defer cancel()
	var version sql.NullString
	var latency time.Duration
	err := d.readSQL(ctx, func(ctx context.Context, db *sql.DB) error {
		start := time.Now()
		err := db.QueryRowContext(ctx, `SELECT (SELECT extversion FROM pg_extension WHERE extname = 'vector')`).Scan(&version)
		latency = time.Since(start)
		return err
	})
	if err != nil {
		return HealthReport{Err: err}
	}
	return HealthReport{Connected: true, Latency: latency, VectorVersion: version.String}
}

// StatusCheck answers "can I talk to the database?" with one round trip.
func (d *DB) StatusCheck(ctx context.Context) error {
	if r := d.Health(ctx); r.Err != nil {
		return r.Err
	}
	return nil
}

// Ready reports whether this process can serve: the database answers and its
// schema is at the version this binary was built with.
func (d *DB) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.HealthTimeout)
	defer cancel()
	v, err := d.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if want := migrations.Latest(); v < want {
		return fmt.Errorf("migrations pending: database at version %d, binary needs %d", v, want)
	}
	return nil
}
