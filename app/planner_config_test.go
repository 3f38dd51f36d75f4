package app

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/planner"
)

func TestLoad_PlannerAndSessionLimitsHaveDefaultsAndEnvironmentVariables(t *testing.T) {
	clearEnv(t)
	cfg, err := Load(LoadOptions{})
	require.NoError(t, err)
	assert.Equal(t, PlannerConfig{Generator: "extractive", GeminiModel: "gemini-3.5-flash", QuotaPerHour: 100}, cfg.Planner)
	assert.Equal(t, 168, cfg.Session.AbsoluteTTLHours)
	assert.Equal(t, 30, cfg.Session.CreatePerIPPerHour)
	gen, err := cfg.NewGenerator(context.Background())
	require.NoError(t, err)
	assert.IsType(t, planner.Extractive{}, gen)

	t.Setenv("PLANNER_QUOTA_PER_HOUR", "7")
	t.Setenv("SESSION_CREATE_PER_IP_PER_HOUR", "3")
	t.Setenv("SESSION_ABSOLUTE_TTL_HOURS", "48")
	t.Setenv("PLANNER_GEMINI_MODEL", "gemini-x")
	cfg, err = Load(LoadOptions{})
	require.NoError(t, err)
	assert.Equal(t, 7, cfg.Planner.QuotaPerHour)
	assert.Equal(t, 3, cfg.Session.CreatePerIPPerHour)
	assert.Equal(t, 48, cfg.Session.AbsoluteTTLHours)
	assert.Equal(t, "gemini-x", cfg.Planner.GeminiModel)
}

func TestLoad_PlannerSettingsAreValidated(t *testing.T) {
	for env, want := range map[string]string{
		"PLANNER_GENERATOR=gpt":         "PLANNER_GENERATOR: must be one of extractive, gemini",
		"PLANNER_GENERATOR=gemini":      "GEMINI_API_KEY: required when PLANNER_GENERATOR is gemini",
		"PLANNER_QUOTA_PER_HOUR=0":      "PLANNER_QUOTA_PER_HOUR: must be at least 1",
		"SESSION_ABSOLUTE_TTL_HOURS=12": "SESSION_ABSOLUTE_TTL_HOURS: must be at least SESSION_TTL_HOURS",
	} {
		t.Run(env, func(t *testing.T) {
			clearEnv(t)
			name, value, _ := strings.Cut(env, "=")
			t.Setenv(name, value)
			_, err := Load(LoadOptions{})
			require.Error(t, err)
			assert.Contains(t, err.Error(), want)
		})
	}
}
