package database

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/dovvydive/backend/models"
)

// PoolBudget compares what the expected number of instances may open with
// what one server accepts.
type PoolBudget struct {
	Server         string // "primary" or "replica"
	MaxConnections int    // the server's max_connections
	Reserved       int    // superuser_reserved_connections (+ reserved_connections on 16+)
	Instances      int    // database.expected_instances
	PoolMax        int    // database.pool.max_open_conns, per instance
	Pooled         bool   // behind a transaction pooler: its own limit applies first
}

// Available is what non-superuser clients may open.
func (b PoolBudget) Available() int { return b.MaxConnections - b.Reserved }

// Demand is what the instances may open at most (migrations take one more
// connection per instance, briefly, at startup).
func (b PoolBudget) Demand() int { return b.Instances * b.PoolMax }

// Exceeded reports whether full pools on every instance could exhaust the
// server. Behind a pooler client connections are not server connections,
// so the budget does not apply.
func (b PoolBudget) Exceeded() bool { return !b.Pooled && b.Demand() > b.Available() }

// PoolBudgets reads max_connections from the primary and, when configured
// and reachable, the replica. It runs once at startup.
func (d *DB) PoolBudgets(ctx context.Context) ([]PoolBudget, error) {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.HealthTimeout)
	defer cancel()
	var out []PoolBudget
	primary := d.sql.Load()
	if primary == nil {
		return nil, models.ErrUnavailable
	}
	b, err := readBudget(ctx, primary, "primary", d.ep.Pooled, d.cfg)
	if err != nil {
		return nil, err
	}
	out = append(out, b)
	if d.replica != nil {
		if pool := d.replica.sql.Load(); pool != nil {
			if b, err := readBudget(ctx, pool, "replica", d.replica.ep.Pooled, d.cfg); err == nil {
				out = append(out, b)
			}
		}
	}
	return out, nil
}

func readBudget(ctx context.Context, pool *sql.DB, server string, pooled bool, cfg Config) (PoolBudget, error) {
	b := PoolBudget{Server: server, Instances: cfg.ExpectedInstances, PoolMax: cfg.Pool.MaxOpenConns, Pooled: pooled}
	// reserved_connections exists from PostgreSQL 16; missing_ok gives NULL before.
	err := withPgxOn(ctx, pool, func(ctx context.Context, conn *pgx.Conn) error {
		return conn.QueryRow(ctx, `SELECT current_setting('max_connections')::int,
			current_setting('superuser_reserved_connections')::int
			+ COALESCE(NULLIF(current_setting('reserved_connections', true), ''), '0')::int`).
			Scan(&b.MaxConnections, &b.Reserved)
	})
	if err != nil {
		return PoolBudget{}, fmt.Errorf("read max_connections: %w", classify(err))
	}
	return b, nil
}

// WarnPoolBudget logs a warning, with the numbers, for each server whose
// connections the expected instances could exhaust. Failing to read the
// settings is logged and otherwise ignored: it is advice, not a gate.
func (d *DB) WarnPoolBudget(ctx context.Context) {
	budgets, err := d.PoolBudgets(ctx)
	if err != nil {
		d.log.Warn("database: could not read max_connections for the pool budget", "error", err.Error())
		return
	}
	for _, b := range budgets {
		attrs := []any{"server", b.Server, "instances", b.Instances, "pool_max_open_conns", b.PoolMax,
			"demand", b.Demand(), "max_connections", b.MaxConnections, "reserved", b.Reserved, "available", b.Available()}
		switch {
		case b.Exceeded():
			d.log.Warn(fmt.Sprintf("database: pool budget exceeded: %d instances × %d connections = %d > max_connections %d − %d reserved = %d; "+
				"lower DATABASE_POOL_MAX_OPEN_CONNS, use a pooled endpoint, or raise max_connections",
				b.Instances, b.PoolMax, b.Demand(), b.MaxConnections, b.Reserved, b.Available()), attrs...)
		case b.Pooled:
			d.log.Info("database: pool budget: behind a transaction pooler, server connections are bounded by the pooler", attrs...)
		default:
			d.log.Info("database: pool budget fits", attrs...)
		}
	}
}
