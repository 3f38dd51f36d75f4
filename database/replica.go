package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dovvydive/backend/models"
	"github.com/jackc/pgx/v5"

	"gorm.io/gorm"
)

// replica is the second pool, for reads that may be slightly stale. Its
// health is checked lazily: a read that wants it starts a check when the
// last one is older than the check interval, never a timer, so an idle
// service lets a Neon replica compute suspend.
type replica struct {
	cfg  ReplicaConfig
	pool PoolConfig
	ep   Endpoint
	gorm atomic.Pointer[gorm.DB]
	sql  atomic.Pointer[sql.DB]

	mu        sync.Mutex
	state     string
	lag       time.Duration
	checkedAt time.Time
	checking  atomic.Bool

	reads     atomic.Uint64
	fallbacks atomic.Uint64
}

func newReplica(cfg Config) (*replica, error) {
	ep, ok, err := cfg.ReadEndpoint()
	if err != nil || !ok {
		return nil, err
	}
	if _, err := Describe(ep.DSN); err != nil {
		return nil, fmt.Errorf("read replica: %w", err)
	}
	return &replica{cfg: cfg.Replica, pool: cfg.Pool, ep: ep, state: models.ReplicaUnchecked}, nil
}

// open builds the replica's pool without connecting: a replica that is down
// at startup must not delay it; the first read finds out.
func (r *replica) open() error {
	sqlDB, err := openPool(r.ep.DSN, r.pool)
	if err != nil {
		return fmt.Errorf("read replica: %w", err)
	}
	gdb, err := openGorm(sqlDB)
	if err != nil {
		sqlDB.Close()
		return fmt.Errorf("read replica: %w", err)
	}
	r.sql.Store(sqlDB)
	r.gorm.Store(gdb)
	return nil
}

func (r *replica) close() error {
	r.gorm.Store(nil)
	if s := r.sql.Swap(nil); s != nil {
		return s.Close()
	}
	return nil
}

// usable reports whether a read may go to the replica, from its last known
// state. When that state is older than the check interval (RetryAfter for a
// failed replica), the read starts one check in the background and goes on
// with what is known: no request waits for a replica that hangs.
func (r *replica) usable(log *slog.Logger) bool {
	r.mu.Lock()
	state, checkedAt := r.state, r.checkedAt
	r.mu.Unlock()
	wait := r.cfg.CheckInterval
	if state == models.ReplicaDown || state == models.ReplicaLagging {
		wait = min(wait, r.cfg.RetryAfter)
	}
	if (state == models.ReplicaUnchecked || time.Since(checkedAt) >= wait) && r.checking.CompareAndSwap(false, true) {
		go func() {
			defer r.checking.Store(false)
			ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
			defer cancel()
			r.check(ctx, log)
		}()
	}
	return state == models.ReplicaHealthy
}

// lagSQL is 0 on a primary and on a standby that has replayed all it
// received; otherwise the age of the last replayed commit. Without the LSN
// comparison a standby of an idle primary would look ever more stale.
const lagSQL = `SELECT CASE
	WHEN NOT pg_is_in_recovery() THEN 0
	WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
	ELSE GREATEST(0, COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0))
	END::float8`

// checkTimeout bounds one lag check.
const checkTimeout = 2 * time.Second

// check measures the replica's replay lag and records the new state.
func (r *replica) check(ctx context.Context, log *slog.Logger) {
	pool := r.sql.Load()
	if pool == nil {
		return
	}
	var seconds float64
	err := withPgxOn(ctx, pool, func(ctx context.Context, conn *pgx.Conn) error {
		return conn.QueryRow(ctx, lagSQL).Scan(&seconds)
	})
	lag := time.Duration(seconds * float64(time.Second))
	next := models.ReplicaHealthy
	switch {
	case err != nil:
		next = models.ReplicaDown
	case lag > r.cfg.MaxLag:
		next = models.ReplicaLagging
	}
	r.set(next, lag, err, log)
}

// set records a state and logs transitions only, so a replica that stays
// down costs one log line, not one per read.
func (r *replica) set(next string, lag time.Duration, cause error, log *slog.Logger) {
	r.mu.Lock()
	prev := r.state
	r.state, r.lag, r.checkedAt = next, lag, time.Now()
	r.mu.Unlock()
	if prev == next {
		return
	}
	switch next {
	case models.ReplicaHealthy:
		log.Info("database: replica healthy; stale-tolerant reads use it", "lag", lag.String())
	case models.ReplicaLagging:
		log.Warn("database: replica lagging; reads go to the primary", "lag", lag.String(), "max_lag", r.cfg.MaxLag.String())
	case models.ReplicaDown:
		msg := ""
		if cause != nil {
			msg = RedactError(cause, r.ep.DSN)
		}
		log.Warn("database: replica unavailable; reads go to the primary", "error", msg,
			"retry_after", r.cfg.RetryAfter.String())
	}
}

// markDown records a failed read and drops the replica's idle connections,
// which are likely dead too.
func (r *replica) markDown(err error, log *slog.Logger) {
	r.set(models.ReplicaDown, 0, err, log)
	dropIdleConns(r.sql.Load(), r.pool)
}

// readStale runs an idempotent query that may see data a little behind the
// primary (at most database.replica.max_lag): on the read replica when one
// is configured and healthy, otherwise, or when the replica fails mid-read,
// on the primary through read. Reads whose caller must see its own writes
// use read instead.
//
// The replica's attempt gets at most half of the time left before the
// caller's deadline, so a replica that hangs still leaves the primary time
// to answer within the same request.
func (d *DB) readStale(ctx context.Context, query func(g *gorm.DB) error) error {
	return d.stale(ctx, func(rctx context.Context, r *replica) error {
		return query(r.gorm.Load().WithContext(rctx))
	}, func() error { return d.read(ctx, query) })
}

// readStalePgx is readStale for queries on a native pgx connection.
func (d *DB) readStalePgx(ctx context.Context, query func(ctx context.Context, conn *pgx.Conn) error) error {
	return d.stale(ctx, func(rctx context.Context, r *replica) error {
		return withPgxOn(rctx, r.sql.Load(), query)
	}, func() error { return d.readPgx(ctx, query) })
}

// stale runs onReplica when the replica is configured and usable, and
// onPrimary otherwise or when the replica fails mid-read (see readStale).
func (d *DB) stale(ctx context.Context, onReplica func(context.Context, *replica) error, onPrimary func() error) error {
	r := d.replica
	if r == nil {
		return onPrimary()
	}
	if !r.usable(d.log) {
		if ctx.Err() == nil && r.Status().State != models.ReplicaUnchecked {
			r.fallbacks.Add(1)
		}
		return onPrimary()
	}
	if r.gorm.Load() == nil || r.sql.Load() == nil {
		return onPrimary()
	}
	rctx, cancel := ctx, context.CancelFunc(func() {})
	if deadline, ok := ctx.Deadline(); ok {
		rctx, cancel = context.WithDeadline(ctx, deadline.Add(-time.Until(deadline)/2))
	}
	err := onReplica(rctx, r)
	cancel()
	switch {
	case err == nil:
		r.reads.Add(1)
		return nil
	case ctx.Err() != nil, errors.Is(err, gorm.ErrRecordNotFound), errors.Is(err, models.ErrNotFound):
		return classify(err)
	}
	// A replica whose connection failed is skipped until it is checked
	// again. Any other error (a replica still behind a migration, a recovery
	// conflict) is answered by the primary without condemning the replica.
	if isConnectionError(err) || IsPermanent(err) {
		r.markDown(err, d.log)
	} else {
		d.log.Warn("database: read failed on the replica; retrying on the primary", "error", RedactError(err, r.ep.DSN))
	}
	r.fallbacks.Add(1)
	return onPrimary()
}

// Status reports the replica's last known state, without I/O.
func (r *replica) Status() models.ReplicaStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := models.ReplicaStatus{Configured: true, State: r.state, Lag: r.lag, CheckedAt: r.checkedAt,
		Reads: r.reads.Load(), Fallbacks: r.fallbacks.Load()}
	if s := r.sql.Load(); s != nil {
		st.Pool = s.Stats()
	}
	return st
}

// ReplicaStatus reports the read replica's last known state and counters;
// Configured is false when there is none. It does no I/O.
func (d *DB) ReplicaStatus() models.ReplicaStatus {
	if d.replica == nil {
		return models.ReplicaStatus{State: "none"}
	}
	return d.replica.Status()
}
