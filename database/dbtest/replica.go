package dbtest

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// ReplicaOf returns dbURL pointed at the test cluster's streaming hot
// standby (TEST_REPLICA_URL, started by scripts/with-test-db.sh), once the
// database has been replayed there. In the Neon-replica pass it is the Neon
// replica's read replica instead: a TLS standby through its own PgBouncer
// (NEON_SIM_READ_POOLED_ADDR), as NEON_READ_URL would name it.
func ReplicaOf(t testing.TB, dbURL string) string {
	t.Helper()
	u, _ := url.Parse(dbURL)
	if os.Getenv("DBTEST_POOLED_ADDR") != "" {
		u.Host = requireEnv(t, "NEON_SIM_READ_POOLED_ADDR")
		WaitReplayed(t, u.String())
		return u.String()
	}
	replica, err := url.Parse(requireEnv(t, "TEST_REPLICA_URL"))
	if err != nil {
		t.Fatalf("parse TEST_REPLICA_URL: %v", err)
	}
	u.Host = replica.Host
	WaitReplayed(t, u.String())
	return u.String()
}

// WaitReplayed waits until dsn (on the standby) accepts a query: the
// database's CREATE has been replayed.
func WaitReplayed(t testing.TB, dsn string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		db, err := sql.Open("pgx", dsn)
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			err = db.PingContext(ctx)
			cancel()
			db.Close()
		}
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("database not replayed on the standby within 15s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// WithAppName sets application_name on a URL, so a test can find its own
// connections in pg_stat_activity.
func WithAppName(dsn, name string) string {
	u, _ := url.Parse(dsn)
	q := u.Query()
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// StopReplica stops the test cluster's standby (fast shutdown: its sessions
// are terminated). Tests that call it must not run in parallel with other
// replica tests.
// In the Neon-replica pass it is the Neon replica's standby, behind its
// PgBouncer.
func StopReplica(t testing.TB) {
	t.Helper()
	if os.Getenv("DBTEST_POOLED_ADDR") != "" {
		replicaScript(t, "stop", requireEnv(t, "NEON_SIM_READ_DATA"))
		return
	}
	replicaScript(t, "stop", requireEnv(t, "TEST_REPLICA_DATA"))
}

// StartReplica starts the standby stopped by StopReplica.
func StartReplica(t testing.TB) {
	t.Helper()
	if os.Getenv("DBTEST_POOLED_ADDR") != "" {
		replicaScript(t, "start", requireEnv(t, "NEON_SIM_PG_DATA"), requireEnv(t, "NEON_SIM_DIRECT_PORT"),
			requireEnv(t, "NEON_SIM_READ_DATA"), requireEnv(t, "NEON_SIM_READ_PORT"))
		return
	}
	primary, _ := url.Parse(AdminURL(t))
	replica, _ := url.Parse(requireEnv(t, "TEST_REPLICA_URL"))
	replicaScript(t, "start", requireEnv(t, "TEST_PG_DATA"), primary.Port(), requireEnv(t, "TEST_REPLICA_DATA"), replica.Port())
}

func replicaScript(t testing.TB, args ...string) {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for { // the module root holds go.mod and scripts/
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
	cmd := exec.Command(filepath.Join(dir, "scripts", "replica.sh"), args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("replica.sh %v: %v\n%s", args, err, out)
	}
}
