package handlers_test

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/database"
	"github.com/dovvydive/backend/database/dbtest"
	"github.com/dovvydive/backend/knowledge/embedding"
	"github.com/dovvydive/backend/models"
	"github.com/dovvydive/backend/seeds"
)

func TestHealth_ReportsTheReplicaOnlyWhenOneIsConfigured(t *testing.T) {
	t.Parallel()
	without := get(t, newServer(t, seededDB(t)).URL+"/health")
	require.Equal(t, http.StatusOK, without.status)
	assert.NotContains(t, without.body, "replica", "the seed's shape when there is no replica")

	dsn := dbtest.Migrated(t)
	cfg := dbtest.Config(dsn)
	cfg.ReadURL = dbtest.ReplicaOf(t, dsn)
	cfg.NeonReadURL = cfg.ReadURL // used instead in the Neon-replica pass
	db, err := database.Open(context.Background(), cfg, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	_, err = seeds.Load(context.Background(), db, embedding.Hash{})
	require.NoError(t, err)
	srv := newServer(t, db)
	// The first read starts the replica's first check and goes to the primary.
	require.Equal(t, http.StatusOK, get(t, srv.URL+"/api/v1/dive-sites").status)
	deadline := time.Now().Add(15 * time.Second)
	for db.ReplicaStatus().State != models.ReplicaHealthy {
		require.True(t, time.Now().Before(deadline), "replica checked healthy")
		time.Sleep(20 * time.Millisecond)
	}
	require.Equal(t, http.StatusOK, get(t, srv.URL+"/api/v1/dive-sites").status)

	r := get(t, srv.URL+"/health")
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.Equal(t, "healthy", r.body["database"].(map[string]any)["status"], "the database object is unchanged")
	replica, ok := r.body["replica"].(map[string]any)
	require.True(t, ok, "a replica object: %s", r.raw)
	assert.Equal(t, "healthy", replica["status"])
	assert.EqualValues(t, 1, replica["reads"], "the list was read from the replica")
	assert.EqualValues(t, 0, replica["fallbacks"])
	assert.Contains(t, replica, "lagSeconds")

	// The same figures for Prometheus.
	reg := prometheus.NewRegistry()
	for _, c := range db.Collectors() {
		require.NoError(t, reg.Register(c))
	}
	families, err := reg.Gather()
	require.NoError(t, err)
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			switch {
			case m.GetCounter() != nil:
				got[f.GetName()] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				got[f.GetName()] = m.GetGauge().GetValue()
			}
		}
	}
	assert.Equal(t, 1.0, got["dovvydive_db_replica_reads_total"])
	assert.Equal(t, 0.0, got["dovvydive_db_replica_fallbacks_total"])
	assert.Equal(t, 1.0, got["dovvydive_db_replica_up"])
	assert.Contains(t, got, "dovvydive_db_replica_pool_open_connections")
}
