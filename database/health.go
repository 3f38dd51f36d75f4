package database

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/dovvydive/backend/migrations"
	"github.com/dovvydive/backend/models"
)

// Status is what one StatusCheck learned about the database.
type Status struct {
	Latency       time.Duration // of the first round trip
	VectorVersion string        // empty when the extension is not installed
	SchemaVersion int64         // highest applied migration, 0 when goose has never run
}

// StatusCheck answers "can I talk to the database?" — the one check that
// startup, /health, /readyz and the tests use. It is bounded by the health
// timeout and goes through the read path, so a connection found dead is
// replaced and the check runs once more instead of failing.
func (d *DB) StatusCheck(ctx context.Context) (Status, error) {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.HealthTimeout)
	defer cancel()
	var s Status
	// One round trip on a native pgx connection: /health is probed often
	// and is a benchmark route. Before goose's first run its table does not
	// exist; only then a second statement reads the extension alone.
	err := d.readPgx(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		s = Status{}
		var version pgtype.Text
		start := time.Now()
		err := conn.QueryRow(ctx, `SELECT (SELECT extversion FROM pg_extension WHERE extname = 'vector'),
			(SELECT COALESCE(MAX(version_id), 0) FROM goose_db_version WHERE is_applied)`).Scan(&version, &s.SchemaVersion)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42P01" { // undefined_table: never migrated
			err = conn.QueryRow(ctx, `SELECT extversion FROM pg_extension WHERE extname = 'vector'`).Scan(&version)
			if errors.Is(err, pgx.ErrNoRows) {
				err = nil
			}
		}
		s.Latency, s.VectorVersion = time.Since(start), version.String
		return err
	})
	return s, err
}

// Health is the frontend's report: one round trip that reads the pgvector
// version, and nothing else. It is probed often (balancers, uptime checks,
// every open frontend) and is a benchmark route, so it leaves the schema
// version, which only readiness needs, to StatusCheck.
//
// Concurrent calls share one round trip: a burst of probes costs the
// database one query, not one each, and every caller gets the answer of a
// check that was running when it asked. A caller that gives up stops waiting;
// the shared check runs on, bounded by the health timeout.
func (d *DB) Health(ctx context.Context) models.HealthReport {
	return d.shareHealth(ctx, d.checkHealth)
}

func (d *DB) shareHealth(ctx context.Context, check func(context.Context) models.HealthReport) models.HealthReport {
	ch := d.healthFlight.DoChan("health", func() (r any, err error) {
		// singleflight re-raises a panic of the shared call where nothing can
		// recover it; as an error it reaches the callers like any other.
		defer func() {
			if p := recover(); p != nil {
				r = models.HealthReport{Err: fmt.Errorf("health check panicked: %v", p)}
			}
		}()
		return check(context.WithoutCancel(ctx)), nil
	})
	select {
	case r := <-ch:
		return r.Val.(models.HealthReport)
	case <-ctx.Done():
		return models.HealthReport{Err: ctx.Err()}
	}
}

func (d *DB) checkHealth(ctx context.Context) models.HealthReport {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.HealthTimeout)
	defer cancel()
	var version pgtype.Text
	var latency time.Duration
	err := d.readPgx(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		start := time.Now()
		err := conn.QueryRow(ctx, `SELECT extversion FROM pg_extension WHERE extname = 'vector'`).Scan(&version)
		latency = time.Since(start)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // connected; the extension is not installed
		}
		return err
	})
	if err != nil {
		return models.HealthReport{Err: err}
	}
	return models.HealthReport{Connected: true, Latency: latency, VectorVersion: version.String}
}

// Ready reports whether this process can serve: StatusCheck passes and the
// schema is at the version this binary was built with.
func (d *DB) Ready(ctx context.Context) error {
	s, err := d.StatusCheck(ctx)
	if err != nil {
		return err
	}
	return s.Pending()
}

// Pending reports whether the schema is behind the version this binary was
// built with.
func (s Status) Pending() error {
	if want := migrations.Latest(); s.SchemaVersion < want {
		return fmt.Errorf("migrations pending: database at version %d, binary needs %d", s.SchemaVersion, want)
	}
	return nil
}
