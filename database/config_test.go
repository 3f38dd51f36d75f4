package database

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	neonPooled = "postgres://alex:np_secret@ep-cool-darkness-123456-pooler.ap-southeast-1.aws.neon.tech/neondb?sslmode=verify-full&channel_binding=require"
	neonDirect = "postgres://alex:np_secret@ep-cool-darkness-123456.ap-southeast-1.aws.neon.tech/neondb?sslmode=verify-full&channel_binding=require"
)

func TestAppEndpoint_PicksTheDSNOfTheProvider(t *testing.T) {
	local := DefaultConfig()
	local.URL = "postgres://u:p@localhost:5432/dive"
	local.NeonURL = neonPooled // ignored: provider is local
	ep, err := local.AppEndpoint()
	require.NoError(t, err)
	assert.Equal(t, local.URL, ep.DSN)
	assert.False(t, ep.Pooled)

	neon := DefaultConfig()
	neon.Provider = ProviderNeon
	neon.NeonURL = neonPooled
	ep, err = neon.AppEndpoint()
	require.NoError(t, err)
	assert.True(t, ep.Pooled)
	u, _ := url.Parse(ep.DSN)
	assert.Equal(t, "ep-cool-darkness-123456-pooler.ap-southeast-1.aws.neon.tech", u.Hostname())
	assert.Equal(t, "exec", u.Query().Get("default_query_exec_mode"), "no statement cache behind the pooler")
	assert.Equal(t, "require", u.Query().Get("channel_binding"))
}

func TestAppEndpoint_NeonWithoutURLIsAnErrorNotLocal(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Provider = ProviderNeon
	_, err := cfg.AppEndpoint()
	require.ErrorContains(t, err, "NEON_DATABASE_URL is required")
}

func TestAppEndpoint_KeepsAnExecModeTheUserChose(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Provider = ProviderNeon
	cfg.NeonURL = neonPooled + "&default_query_exec_mode=simple_protocol"
	ep, err := cfg.AppEndpoint()
	require.NoError(t, err)
	u, _ := url.Parse(ep.DSN)
	assert.Equal(t, "simple_protocol", u.Query().Get("default_query_exec_mode"))
}

func TestMigrationEndpoint_UsesTheDirectURLOnNeon(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Provider = ProviderNeon
	cfg.NeonURL = neonPooled
	cfg.NeonDirectURL = neonDirect
	ep, derived, err := cfg.MigrationEndpoint()
	require.NoError(t, err)
	assert.False(t, derived)
	assert.Equal(t, neonDirect, ep.DSN)
}

func TestMigrationEndpoint_DerivesTheDirectHostByDroppingPooler(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Provider = ProviderNeon
	cfg.NeonURL = neonPooled
	ep, derived, err := cfg.MigrationEndpoint()
	require.NoError(t, err)
	assert.True(t, derived)
	assert.Equal(t, neonDirect, ep.DSN)
}

func TestMigrationEndpoint_NeedsTheDirectURLWhenItCannotBeDerived(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Provider = ProviderNeon
	cfg.NeonURL = neonDirect // no -pooler to remove
	_, _, err := cfg.MigrationEndpoint()
	require.ErrorContains(t, err, "NEON_DIRECT_URL is required for migrations")
}

func TestRedact_MasksPasswordsInEveryForm(t *testing.T) {
	cases := map[string]string{
		"postgres://alex:np_secret@host/db?sslmode=require":  "postgres://alex:xxxxx@host/db?sslmode=require",
		"postgres://alex@host/db?password=np_secret":         "postgres://alex@host/db?password=xxxxx",
		"host=h user=alex password=np_secret dbname=d":       "host=h user=alex password=xxxxx dbname=d",
		"host=h user=alex password='np secret' dbname=d":     "host=h user=alex password=xxxxx dbname=d",
		"postgres://alex@host/db":                            "postgres://alex@host/db",
		"postgres://alex:p%40ss%2Fword@host/db?sslmode=none": "postgres://alex:xxxxx@host/db?sslmode=none",
	}
	for in, want := range cases {
		assert.Equal(t, want, Redact(in), in)
	}
}

func TestRedactError_RemovesThePasswordFromDriverErrors(t *testing.T) {
	dsn := "postgres://alex:p%40ss@host:notaport/db"
	_, err := pgx.ParseConfig(dsn)
	require.Error(t, err)
	assert.NotContains(t, RedactError(err, dsn), "p%40ss")
	assert.NotContains(t, RedactError(err, dsn), "p@ss")

	custom := errors.New("dial postgres://alex:p%40ss@host failed for p@ss")
	assert.Equal(t, "dial postgres://alex:xxxxx@host failed for xxxxx", RedactError(custom, dsn))
}

func TestDescribe_ReportsTheTargetWithoutThePassword(t *testing.T) {
	target, err := Describe(neonPooled)
	require.NoError(t, err)
	assert.Equal(t, Target{Host: "ep-cool-darkness-123456-pooler.ap-southeast-1.aws.neon.tech", Port: 5432,
		Database: "neondb", User: "alex", SSLMode: "verify-full"}, target)
}

func TestNewBackOff_GrowsByTheMultiplierWithJitterUpToTheCap(t *testing.T) {
	b := NewBackOff(DefaultConfig().Retry)
	b.Reset()
	// 1s, 2s, 4s, 8s, 16s, then capped at 30s; each ±50 %.
	base := []time.Duration{1, 2, 4, 8, 16, 30, 30, 30}
	for i, s := range base {
		d := b.NextBackOff()
		lo, hi := s*time.Second/2, s*time.Second*3/2
		assert.True(t, d >= lo && d <= hi, "delay %d = %s, want within [%s, %s]", i+1, d, lo, hi)
	}
}

func TestNewBackOff_IsRandomisedSoInstancesDoNotRetryInLockstep(t *testing.T) {
	seen := map[time.Duration]bool{}
	for range 20 {
		b := NewBackOff(DefaultConfig().Retry)
		b.Reset()
		seen[b.NextBackOff()] = true
	}
	assert.Greater(t, len(seen), 1)
}

func TestSSLMode_ReportsWhatTheDSNEnforces(t *testing.T) {
	cases := map[string]string{
		"postgres://u:p@h/d?sslmode=disable":     "disable",
		"postgres://u:p@h/d?sslmode=allow":       "allow",
		"postgres://u:p@h/d?sslmode=prefer":      "prefer",
		"postgres://u:p@h/d":                     "prefer",
		"postgres://u:p@h/d?sslmode=require":     "require",
		"postgres://u:p@h/d?sslmode=verify-full": "verify-full",
		"postgres://u:p@h:bad/d":                 "",
	}
	for dsn, want := range cases {
		assert.Equal(t, want, SSLMode(dsn), dsn)
	}
}

func TestSessionParams_ListsWhatNeonsProxyWouldDrop(t *testing.T) {
	assert.Empty(t, SessionParams(neonPooled))
	assert.Empty(t, SessionParams(neonPooled+"&application_name=dovvydive&options=endpoint%3Dep-cool-darkness-123456"))
	assert.Equal(t, []string{"TimeZone", "search_path"}, SessionParams(neonPooled+"&search_path=app&TimeZone=UTC"))
	assert.Equal(t, []string{"options"}, SessionParams(neonPooled+"&options=-c%20statement_timeout%3D5s"))
}

func TestWarnings_RecommendVerifyFullOverRequireOnNeon(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Provider = ProviderNeon
	cfg.NeonURL = "postgres://u:p@ep-a-pooler.neon.tech/db?sslmode=require"
	require.Len(t, cfg.Warnings(), 1)
	assert.Contains(t, cfg.Warnings()[0], "verify-full")
	cfg.NeonURL = neonPooled
	assert.Empty(t, cfg.Warnings())
}

func TestAppEndpoint_TreatsNeonAsPooledUnlessBothURLsAreTheSame(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Provider = ProviderNeon
	cfg.NeonURL = "postgres://u:p@127.0.0.1:6432/db?sslmode=verify-full"
	cfg.NeonDirectURL = "postgres://u:p@127.0.0.1:5432/db?sslmode=verify-full"
	ep, err := cfg.AppEndpoint()
	require.NoError(t, err)
	assert.True(t, ep.Pooled, "a custom pooler host without -pooler still gets exec mode")
	assert.Contains(t, ep.DSN, "default_query_exec_mode=exec")

	cfg.NeonURL = cfg.NeonDirectURL
	ep, err = cfg.AppEndpoint()
	require.NoError(t, err)
	assert.False(t, ep.Pooled)
}

func TestIsConnectionLost_OnlyForBrokenConnections(t *testing.T) {
	assert.True(t, isConnectionLost(&pgconn.PgError{Code: "57P01"}))
	assert.True(t, isConnectionLost(fmt.Errorf("read: %w", io.ErrUnexpectedEOF)))
	assert.False(t, isConnectionLost(context.DeadlineExceeded), "a slow server is not retried")
	assert.False(t, isConnectionLost(&pgconn.PgError{Code: "42P01"}))
}

func TestReadEndpoint_PerProviderWithExecModeOnNeonsPooler(t *testing.T) {
	cfg := DefaultConfig()
	_, ok, err := cfg.ReadEndpoint()
	require.NoError(t, err)
	assert.False(t, ok, "no replica unless configured")

	cfg.ReadURL = "postgres://u:p@replica:5432/d?sslmode=disable"
	ep, ok, err := cfg.ReadEndpoint()
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, cfg.ReadURL, ep.DSN)
	assert.False(t, ep.Pooled)

	cfg.Provider = ProviderNeon
	_, ok, _ = cfg.ReadEndpoint()
	assert.False(t, ok, "DATABASE_READ_URL is the local provider's")
	cfg.NeonReadURL = "postgres://u:p@ep-r-pooler.aws.neon.tech/neondb?sslmode=verify-full"
	ep, ok, err = cfg.ReadEndpoint()
	require.NoError(t, err)
	assert.True(t, ok)
	assert.True(t, ep.Pooled)
	assert.Contains(t, ep.DSN, "default_query_exec_mode=exec", "no statement cache behind Neon's pooler")
}
