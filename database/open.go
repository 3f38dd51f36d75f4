// Package database owns every connection to PostgreSQL and every SQL statement
// the service runs: opening the pool with retries, health, migrations and the
// dive-site queries.
package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/dovvydive/backend/models"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"golang.org/x/sync/singleflight"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// DB is the application's handle on the database. It exists before the first
// connection succeeds so the HTTP server can answer (with 503) while a Neon
// compute wakes; queries return models.ErrUnavailable until Connect has finished.
type DB struct {
	cfg  Config
	ep   Endpoint
	log  *slog.Logger
	gorm atomic.Pointer[gorm.DB]
	sql  atomic.Pointer[sql.DB]
	// replica is nil unless DATABASE_READ_URL / NEON_READ_URL is set.
	replica *replica

	searches     searchLimiter
	corpus       atomic.Pointer[corpusEstimate]
	healthFlight singleflight.Group // see Health
}

// New validates the endpoint and returns an unconnected DB. It does no I/O.
func New(cfg Config, log *slog.Logger) (*DB, error) {
	ep, err := cfg.AppEndpoint()
	if err != nil {
		return nil, err
	}
	if _, err := Describe(ep.DSN); err != nil {
		return nil, err
	}
	r, err := newReplica(cfg)
	if err != nil {
		return nil, err
	}
	return &DB{cfg: cfg, ep: ep, log: log, replica: r, searches: newSearchLimiter(cfg.MaxConcurrentSearches)}, nil
}

// Open is New followed by Connect.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*DB, error) {
	db, err := New(cfg, log)
	if err != nil {
		return nil, err
	}
	if err := db.Connect(ctx); err != nil {
		return nil, err
	}
	return db, nil
}

// Provider is the configured provider name, for health reports.
func (d *DB) Provider() string { return d.cfg.Provider }

// Connect opens the pool and pings it, retrying transient failures with
// exponential backoff and jitter. Permanent failures (bad password, unknown
// database, TLS verification) return at once.
func (d *DB) Connect(ctx context.Context) error {
	target, _ := Describe(d.ep.DSN)
	d.log.Info("database: connecting", "provider", d.cfg.Provider, "host", target.Host, "port", target.Port,
		"database", target.Database, "user", target.User, "sslmode", target.SSLMode, "pooled", d.ep.Pooled)

	sqlDB, err := openPool(d.ep.DSN, d.cfg.Pool)
	if err != nil {
		return err
	}
	if err := waitForDatabase(ctx, sqlDB, d.ep.DSN, d.cfg, d.log); err != nil {
		sqlDB.Close()
		return err
	}

	gdb, err := openGorm(sqlDB)
	if err != nil {
		sqlDB.Close()
		return err
	}
	if d.replica != nil && d.replica.gorm.Load() == nil {
		if err := d.replica.open(); err != nil {
			sqlDB.Close()
			return err
		}
		rt, _ := Describe(d.replica.ep.DSN)
		d.log.Info("database: read replica configured", "host", rt.Host, "port", rt.Port, "pooled", d.replica.ep.Pooled,
			"max_lag", d.cfg.Replica.MaxLag.String())
	}
	d.sql.Store(sqlDB)
	d.gorm.Store(gdb)
	d.log.Info("database: connected")
	return nil
}

// waitForDatabase pings db until it answers, retrying transient failures with
// exponential backoff and jitter. Permanent failures (bad password, unknown
// database, TLS verification) return at once, as does cancelling ctx.
func waitForDatabase(ctx context.Context, db *sql.DB, dsn string, cfg Config, log *slog.Logger) error {
	attempt := 0
	ping := func() (struct{}, error) {
		attempt++
		pingCtx, cancel := context.WithTimeout(ctx, cfg.Pool.ConnectTimeout)
		defer cancel()
		err := db.PingContext(pingCtx)
		if err == nil {
			return struct{}{}, nil
		}
		permanent := IsPermanent(err)
		err = redacted(err, dsn)
		if permanent {
			return struct{}{}, backoff.Permanent(err)
		}
		return struct{}{}, err
	}
	notify := func(err error, next time.Duration) {
		log.Warn("database: connection attempt failed", "attempt", attempt, "of", cfg.Retry.Attempts,
			"next_delay", next.Round(time.Millisecond).String(), "error", err.Error())
	}
	_, err := backoff.Retry(ctx, ping,
		backoff.WithBackOff(NewBackOff(cfg.Retry)),
		backoff.WithMaxTries(uint(cfg.Retry.Attempts)),
		backoff.WithMaxElapsedTime(0),
		backoff.WithNotify(notify))
	switch {
	case err == nil:
		if attempt > 1 {
			log.Info("database: answered", "attempt", attempt)
		}
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("connect to database: interrupted after %d attempt(s): %w", attempt, ctx.Err())
	default:
		return fmt.Errorf("connect to database: %d attempt(s): %w", attempt, err)
	}
}

// NewBackOff is the retry schedule for the first connection: delays grow by
// Multiplier from InitialDelay up to MaxDelay, each randomised by ±50 % so
// that many instances restarting together do not reconnect in lockstep.
func NewBackOff(rc RetryConfig) *backoff.ExponentialBackOff {
	return &backoff.ExponentialBackOff{
		InitialInterval:     rc.InitialDelay,
		RandomizationFactor: 0.5,
		Multiplier:          rc.Multiplier,
		MaxInterval:         rc.MaxDelay,
	}
}

// openPool builds a bounded *sql.DB over pgx without connecting.
func openPool(dsn string, pc PoolConfig) (*sql.DB, error) {
	connCfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %s", RedactError(err, dsn))
	}
	if connCfg.ConnectTimeout == 0 {
		connCfg.ConnectTimeout = pc.ConnectTimeout
	}
	// pgx sizes each connection's statement and description caches for 512
	// statements, allocated up front: about 50 KB a connection, a megabyte of
	// live heap for the pool. The service runs a few dozen distinct
	// statements, so 128 each, unless the URL says otherwise.
	if !strings.Contains(dsn, "statement_cache_capacity") {
		connCfg.StatementCacheCapacity = 128
	}
	if !strings.Contains(dsn, "description_cache_capacity") {
		connCfg.DescriptionCacheCapacity = 128
	}
	db := stdlib.OpenDB(*connCfg)
	db.SetMaxOpenConns(pc.MaxOpenConns)
	db.SetMaxIdleConns(min(pc.MaxIdleConns, pc.MaxOpenConns))
	db.SetConnMaxIdleTime(pc.ConnMaxIdleTime)
	db.SetConnMaxLifetime(pc.ConnMaxLifetime)
	return db, nil
}

// openGorm puts GORM over a pool opened by openPool, without the ping
// gorm.Open would make (the caller has pinged, or deliberately not).
func openGorm(sqlDB *sql.DB) (*gorm.DB, error) {
	gdb, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), &gorm.Config{
		DisableAutomaticPing: true,
		Logger:               logger.Discard,
	})
	if err != nil {
		return nil, fmt.Errorf("open gorm: %w", err)
	}
	return gdb, nil
}

// handle returns the connected gorm handle bound to ctx, or models.ErrUnavailable.
func (d *DB) handle(ctx context.Context) (*gorm.DB, error) {
	g := d.gorm.Load()
	if g == nil {
		return nil, models.ErrUnavailable
	}
	return g.WithContext(ctx), nil
}

// read runs an idempotent query through GORM, with retryRead's recovery.
func (d *DB) read(ctx context.Context, query func(g *gorm.DB) error) error {
	g, err := d.handle(ctx)
	if err != nil {
		return err
	}
	return d.retryRead(ctx, func() error { return query(g) })
}

// readPgx runs an idempotent query on a native pgx connection: the hand-written
// reads (probes, batches, search), where GORM's statement building and
// reflection would be a visible cost.
func (d *DB) readPgx(ctx context.Context, query func(ctx context.Context, conn *pgx.Conn) error) error {
	return d.retryRead(ctx, func() error { return withPgxOn(ctx, d.sql.Load(), query) })
}

// write runs hand-written SQL that writes on a native pgx connection of the
// primary. It is never retried: a failure is reported as it is classified.
func (d *DB) write(ctx context.Context, f func(ctx context.Context, conn *pgx.Conn) error) error {
	return withPgxOn(ctx, d.sql.Load(), f)
}

// retryRead runs an idempotent query. When the connection it used turns out
// to be dead (a server restart, pg_terminate_backend, a pooler recycling its
// backends), every idle connection in the pool is likely dead too: they are
// dropped and the query runs once more on a fresh connection, so callers see
// one outage instead of one failure per pooled connection.
func (d *DB) retryRead(ctx context.Context, query func() error) error {
	err := query()
	if err != nil && ctx.Err() == nil && isConnectionLost(err) {
		d.log.Warn("database: connection lost; dropping idle connections and retrying once", "error", err.Error())
		d.dropIdle()
		err = query()
	}
	err = classify(err)
	countError(err)
	return err
}

// dropIdle closes every idle connection of the primary's pool.
func (d *DB) dropIdle() { dropIdleConns(d.sql.Load(), d.cfg.Pool) }

// dropIdleConns closes every idle connection of pool s, opened with pc.
func dropIdleConns(s *sql.DB, pc PoolConfig) {
	if s != nil {
		s.SetMaxIdleConns(0)
		s.SetMaxIdleConns(min(pc.MaxIdleConns, pc.MaxOpenConns))
	}
}

// SQL exposes the underlying pool for tools that need database/sql (goose,
// tests). It is nil before Connect succeeds.
func (d *DB) SQL() *sql.DB { return d.sql.Load() }

// Stats reports the pool's counters.
func (d *DB) Stats() sql.DBStats {
	if s := d.sql.Load(); s != nil {
		return s.Stats()
	}
	return sql.DBStats{}
}

// Close closes the pool. It is safe to call on an unconnected DB.
func (d *DB) Close() error {
	var rerr error
	if d.replica != nil {
		rerr = d.replica.close()
	}
	d.gorm.Store(nil)
	if s := d.sql.Swap(nil); s != nil {
		return errors.Join(s.Close(), rerr)
	}
	return rerr
}
