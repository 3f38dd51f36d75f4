package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/dovvydive/backend/migrations"
)

// Migrator applies the embedded goose migrations over the migration endpoint
// (the direct one on Neon), holding a session advisory lock so that several
// instances starting together apply each migration exactly once.
type Migrator struct {
	db       *sql.DB
	provider *goose.Provider
}

// NewMigrator connects to the migration endpoint, with the same retries as the
// application pool, and prepares goose. Close it when done.
func NewMigrator(ctx context.Context, cfg Config, log *slog.Logger) (*Migrator, error) {
	ep, derived, err := cfg.MigrationEndpoint()
	if err != nil {
		return nil, err
	}
	if derived {
		target, _ := Describe(ep.DSN)
		log.Info("database: migrations use the direct endpoint derived from NEON_DATABASE_URL", "host", target.Host)
	}
	pc := cfg.Pool
	// goose needs one connection for the lock and one for the migration.
	pc.MaxOpenConns, pc.MaxIdleConns = 2, 2
	db, err := openPool(ep.DSN, pc)
	if err != nil {
		return nil, err
	}
	if err := waitForDatabase(ctx, db, ep.DSN, cfg, log); err != nil {
		db.Close()
		return nil, err
	}
	return newMigrator(db)
}

func newMigrator(db *sql.DB) (*Migrator, error) {
	// Poll the lock every second for up to five minutes: a second instance
	// waits for the first to finish rather than failing.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return nil, fmt.Errorf("migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS, goose.WithSessionLocker(locker))
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	return &Migrator{db: db, provider: p}, nil
}

// Close releases the migrator's connections.
func (m *Migrator) Close() error { return m.db.Close() }

// Up applies every pending migration and returns how many ran.
func (m *Migrator) Up(ctx context.Context) (int, error) {
	res, err := m.provider.Up(ctx)
	if err != nil {
		return len(res), ExplainMigrationError(err)
	}
	return len(res), nil
}

// Down rolls back the most recent migration.
func (m *Migrator) Down(ctx context.Context) error {
	_, err := m.provider.Down(ctx)
	if errors.Is(err, goose.ErrNoNextVersion) {
		return errors.New("no migration to roll back")
	}
	return ExplainMigrationError(err)
}

// DownTo rolls back every migration above version.
func (m *Migrator) DownTo(ctx context.Context, version int64) error {
	_, err := m.provider.DownTo(ctx, version)
	return ExplainMigrationError(err)
}

// Version returns the database's current migration version.
func (m *Migrator) Version(ctx context.Context) (int64, error) {
	v, err := m.provider.GetDBVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("read migration version: %w", err)
	}
	return v, nil
}

// MigrationState is one migration's status.
type MigrationState struct {
	Version int64
	Name    string
	Applied bool
	At      string
}

// Status lists every embedded migration and whether it is applied.
func (m *Migrator) Status(ctx context.Context) ([]MigrationState, error) {
	st, err := m.provider.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("read migration status: %w", err)
	}
	out := make([]MigrationState, 0, len(st))
	for _, s := range st {
		ms := MigrationState{Version: s.Source.Version, Name: s.Source.Path, Applied: s.State != goose.StatePending}
		if ms.Applied {
			ms.At = s.AppliedAt.UTC().Format("2006-01-02 15:04:05Z")
		}
		out = append(out, ms)
	}
	return out, nil
}

// CreateMigration writes a new, sequentially numbered SQL migration into dir
// (the migrations/ folder on disk: the embedded copy is read-only).
func CreateMigration(dir, name string) (string, error) {
	if strings.TrimSpace(name) == "" {
		return "", errors.New("migration name is required")
	}
	before, _ := fs.Glob(os.DirFS(dir), "*.sql")
	goose.SetSequential(true)
	if err := goose.Create(nil, dir, name, "sql"); err != nil {
		return "", fmt.Errorf("create migration: %w", err)
	}
	after, _ := fs.Glob(os.DirFS(dir), "*.sql")
	for _, f := range after {
		if !slices.Contains(before, f) {
			return dir + "/" + f, nil
		}
	}
	return "", errors.New("create migration: no file written")
}

// ExplainMigrationError turns the server's errors about pgvector into the
// named error, keeping the hint that says how to fix it.
func ExplainMigrationError(err error) error {
	if err == nil {
		return nil
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.Contains(pgErr.Message, ErrPgvectorMissing.Error()):
			return fmt.Errorf("migrate: %w: %s", ErrPgvectorMissing, pgErr.Hint)
		case strings.Contains(pgErr.Message, "vector extension"):
			return fmt.Errorf("migrate: %s: %s", pgErr.Message, pgErr.Hint)
		}
	}
	return fmt.Errorf("migrate: %w", err)
}
