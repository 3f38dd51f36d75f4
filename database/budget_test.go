package database_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/database"
	"github.com/dovvydive/backend/database/dbtest"
)

func TestPoolBudget_WarnsWithTheNumbersWhenInstancesTimesPoolExceedMaxConnections(t *testing.T) {
	t.Parallel()
	if dbtest.Provider() == database.ProviderNeon {
		t.Skip("behind the pooler the budget does not apply (tested by the pooled case below)")
	}
	for _, tc := range []struct {
		name      string
		instances int
		warn      bool
	}{
		{"fits", 2, false},
		{"exceeds", 50, true}, // 50 × 20 = 1000 > 400 − 3
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := dbtest.Config(dbtest.Migrated(t))
			cfg.ExpectedInstances = tc.instances
			log, logs := dbtest.Logger()
			db, err := database.Open(context.Background(), cfg, log)
			require.NoError(t, err)
			defer db.Close()

			budgets, err := db.PoolBudgets(context.Background())
			require.NoError(t, err)
			require.Len(t, budgets, 1)
			b := budgets[0]
			assert.Equal(t, 400, b.MaxConnections, "with-test-db.sh starts the cluster with 400")
			assert.Equal(t, 3, b.Reserved)
			assert.Equal(t, tc.warn, b.Exceeded())

			db.WarnPoolBudget(context.Background())
			if tc.warn {
				assert.Contains(t, logs.String(), "50 instances × 20 connections = 1000 > max_connections 400 − 3 reserved = 397")
			} else {
				assert.NotContains(t, logs.String(), "pool budget exceeded")
				assert.Contains(t, logs.String(), "pool budget fits")
			}
		})
	}
}

func TestPoolBudget_BehindAPoolerDoesNotWarn(t *testing.T) {
	t.Parallel()
	b := database.PoolBudget{MaxConnections: 104, Reserved: 7, Instances: 10, PoolMax: 20, Pooled: true}
	assert.False(t, b.Exceeded(), "client connections to PgBouncer are not server connections")
	b.Pooled = false
	assert.True(t, b.Exceeded(), "200 > 97 on a direct endpoint")
}
