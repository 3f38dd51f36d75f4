package models

import (
	"database/sql"
	"time"
)

// HealthReport is one measured round trip to the database.
type HealthReport struct {
	Connected     bool
	Latency       time.Duration // zero when not measured
	VectorVersion string        // empty when the extension is not installed
	Err           error         // for the log, never for a response body
}

// Replica states, as /health reports them.
const (
	ReplicaUnchecked = "unchecked" // no read has needed it yet
	ReplicaHealthy   = "healthy"
	ReplicaLagging   = "lagging" // replay lag beyond database.replica.max_lag
	ReplicaDown      = "down"    // a check or a read failed on it
)

// ReplicaStatus is what the process knows about its read replica. It is
// read from memory: asking for it never touches the network.
type ReplicaStatus struct {
	Configured bool
	State      string
	Lag        time.Duration // at the last check
	CheckedAt  time.Time
	// Reads counts reads the replica answered; Fallbacks counts reads that
	// were meant for it but went to the primary because it was down or
	// lagging. Both only grow, for a Prometheus counter.
	Reads     uint64
	Fallbacks uint64
	Pool      sql.DBStats
}
