// Package dbtest gives each test its own PostgreSQL database, cloned from a
// template that is built once (pgtestdb's approach), so database tests run
// in parallel against a real server with pgvector.
//
// The server comes from TEST_DATABASE_URL, a superuser URL that `make test`
// exports after starting a throwaway cluster. Without it the test is skipped,
// except under CI=true, where it fails: CI must never pass by skipping.
package dbtest

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver pgtestdb opens
	"github.com/peterldowns/pgtestdb"
	"github.com/pressly/goose/v3"

	"github.com/dovvydive/backend/database"
	"github.com/dovvydive/backend/migrations"
)

// AdminURL returns the superuser URL of the test server.
func AdminURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("TEST_DATABASE_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("TEST_DATABASE_URL is not set: run the tests with `make test`")
		}
		t.Skip("TEST_DATABASE_URL is not set: run `make test` for database tests")
	}
	return u
}

// Migrated returns the URL of a new database with every migration applied,
// owned by a non-superuser role, as the application connects in production.
func Migrated(t testing.TB) string {
	return instance(t, migrated{})
}

// WithVector returns the URL of a new database that has only the vector
// extension (created by the superuser, as on a self-hosted server): goose
// has not run.
func WithVector(t testing.TB) string {
	return instance(t, vectorOnly{})
}

// Empty returns the URL of a new database with nothing in it: no extension,
// no migrations.
func Empty(t testing.TB) string {
	return instance(t, pgtestdb.NoopMigrator{})
}

// AsSuperuser rewrites a test database URL to connect as the superuser.
func AsSuperuser(t testing.TB, dbURL string) string {
	t.Helper()
	admin, err := url.Parse(AdminURL(t))
	if err != nil {
		t.Fatalf("parse TEST_DATABASE_URL: %v", err)
	}
	u, _ := url.Parse(dbURL)
	admin.Path = u.Path
	return admin.String()
}

// Config returns the default database configuration pointed at dbURL, with
// retries shortened so failing tests fail fast.
func Config(dbURL string) database.Config {
	cfg := database.DefaultConfig()
	cfg.URL = dbURL
	cfg.Retry.InitialDelay = 50 * time.Millisecond
	cfg.Retry.MaxDelay = 200 * time.Millisecond
	return cfg
}

// Exec runs statements on dbURL, failing the test on error.
func Exec(t testing.TB, dbURL string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatalf("open %s: %v", database.Redact(dbURL), err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("exec %q: %v", s, err)
		}
	}
}

func instance(t testing.TB, m pgtestdb.Migrator) string {
	t.Helper()
	conf := adminConf(t)
	return pgtestdb.Custom(t, conf, m).URL()
}

func adminConf(t testing.TB) pgtestdb.Config {
	t.Helper()
	u, err := url.Parse(AdminURL(t))
	if err != nil {
		t.Fatalf("parse TEST_DATABASE_URL: %v", err)
	}
	pass, _ := u.User.Password()
	return pgtestdb.Config{
		DriverName:                "pgx",
		Host:                      u.Hostname(),
		Port:                      u.Port(),
		User:                      u.User.Username(),
		Password:                  pass,
		Database:                  u.Path[1:],
		Options:                   u.RawQuery,
		ForceTerminateConnections: true,
	}
}

// createVector creates pgvector in the template as the superuser: pgvector is
// not a trusted extension on self-hosted PostgreSQL.
func createVector(ctx context.Context, conf pgtestdb.Config) error {
	admin, err := url.Parse(os.Getenv("TEST_DATABASE_URL"))
	if err != nil {
		return err
	}
	admin.Path = "/" + conf.Database
	db, err := sql.Open("pgx", admin.String())
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, "CREATE EXTENSION IF NOT EXISTS vector")
	return err
}

type vectorOnly struct{}

func (vectorOnly) Hash() (string, error) { return "vector-only-1", nil }
func (vectorOnly) Migrate(ctx context.Context, _ *sql.DB, conf pgtestdb.Config) error {
	return createVector(ctx, conf)
}

type migrated struct{}

// Hash changes whenever a migration file does, so an edited migration gets a
// fresh template instead of a stale one.
func (migrated) Hash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, path)
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(b))
		h.Write(b)
		return err
	})
	return hex.EncodeToString(h.Sum(nil))[:16], err
}

func (migrated) Migrate(ctx context.Context, db *sql.DB, conf pgtestdb.Config) error {
	if err := createVector(ctx, conf); err != nil {
		return fmt.Errorf("create vector: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS)
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return err
}
