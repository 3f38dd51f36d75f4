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
	return requireEnv(t, "TEST_DATABASE_URL")
}

func requireEnv(t testing.TB, name string) string {
	t.Helper()
	u := os.Getenv(name)
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: run the tests with `make test`", name)
		}
		t.Skipf("%s is not set: run `make test` for database tests", name)
	}
	return u
}

// Migrated returns the URL of a new database with every migration applied,
// owned by a non-superuser role, as the application connects in production.
func Migrated(t testing.TB) string {
	return instance(t, AdminURL(t), migrated{admin: AdminURL(t)})
}

// WithVector returns the URL of a new database that has only the vector
// extension (created by the superuser, as on a self-hosted server): goose
// has not run.
func WithVector(t testing.TB) string {
	return instance(t, AdminURL(t), vectorOnly{admin: AdminURL(t)})
}

// Empty returns the URL of a new database with nothing in it: no extension,
// no migrations.
func Empty(t testing.TB) string {
	return instance(t, AdminURL(t), pgtestdb.NoopMigrator{})
}

// NeonDB is one test database on the local Neon replica (scripts/neon-sim.sh).
type NeonDB struct {
	DirectURL    string // the direct endpoint (TLS), as the database's non-superuser owner
	PooledURL    string // the same database through PgBouncer 1.24 (TLS)
	Pooled118URL string // the same database through Debian's PgBouncer 1.18 (TLS)
	AdminURL     string // the direct endpoint as the superuser
}

// Neon returns a new database on the Neon replica, migrated when migrate is
// set, otherwise holding only the vector extension.
func Neon(t testing.TB, migrate bool) NeonDB {
	t.Helper()
	admin := requireEnv(t, "NEON_SIM_ADMIN_URL")
	var m pgtestdb.Migrator = vectorOnly{admin: admin}
	if migrate {
		m = migrated{admin: admin}
	}
	// pgtestdb creates each role once per process, by name: the replica needs a
	// role of its own beside the plain server's.
	conf := adminConf(t, admin)
	conf.TestRole = &pgtestdb.Role{Username: "pgtdbneon", Password: "pgtdbneonpass", Capabilities: pgtestdb.DefaultRoleCapabilities}
	direct := pgtestdb.Custom(t, conf, m).URL()
	via := func(addrVar string) string {
		u, _ := url.Parse(direct)
		u.Host = requireEnv(t, addrVar)
		return u.String()
	}
	a, _ := url.Parse(admin)
	d, _ := url.Parse(direct)
	a.Path = d.Path
	return NeonDB{DirectURL: direct, PooledURL: via("NEON_SIM_POOLED_ADDR"),
		Pooled118URL: via("NEON_SIM_POOLED118_ADDR"), AdminURL: a.String()}
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
//
// With DBTEST_POOLED_ADDR set (the Neon replica pass of `make test`), it is a
// Neon configuration instead: dbURL is the direct endpoint, used for
// migrations, and the application pool goes through the PgBouncer listening
// at DBTEST_POOLED_ADDR, as in production.
func Config(dbURL string) database.Config {
	cfg := database.DefaultConfig()
	cfg.URL = dbURL
	cfg.Retry.InitialDelay = 50 * time.Millisecond
	cfg.Retry.MaxDelay = 200 * time.Millisecond
	if pooled := os.Getenv("DBTEST_POOLED_ADDR"); pooled != "" {
		cfg.Provider = database.ProviderNeon
		cfg.NeonDirectURL = dbURL
		cfg.NeonURL = dbURL
		u, err := url.Parse(dbURL)
		admin, _ := url.Parse(os.Getenv("TEST_DATABASE_URL"))
		if err == nil && admin != nil && u.Host == admin.Host {
			u.Host = pooled
			cfg.NeonURL = u.String()
		}
	}
	return cfg
}

// Provider is the provider Config configures: "neon" in the replica pass.
func Provider() string { return Config("").Provider }

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

func instance(t testing.TB, adminURL string, m pgtestdb.Migrator) string {
	t.Helper()
	conf := adminConf(t, adminURL)
	return pgtestdb.Custom(t, conf, m).URL()
}

func adminConf(t testing.TB, adminURL string) pgtestdb.Config {
	t.Helper()
	u, err := url.Parse(adminURL)
	if err != nil {
		t.Fatalf("parse admin url: %v", err)
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
func createVector(ctx context.Context, adminURL string, conf pgtestdb.Config) error {
	admin, err := url.Parse(adminURL)
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

type vectorOnly struct{ admin string }

func (vectorOnly) Hash() (string, error) { return "vector-only-1", nil }
func (v vectorOnly) Migrate(ctx context.Context, _ *sql.DB, conf pgtestdb.Config) error {
	return createVector(ctx, v.admin, conf)
}

type migrated struct{ admin string }

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

func (m migrated) Migrate(ctx context.Context, db *sql.DB, conf pgtestdb.Config) error {
	if err := createVector(ctx, m.admin, conf); err != nil {
		return fmt.Errorf("create vector: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS)
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return err
}
