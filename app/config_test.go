package app

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clearEnv unsets every variable Load reads, so the developer's own
// environment cannot change a test's outcome.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		for _, prefix := range []string{"APP_", "NODE_ENV", "LOG_LEVEL", "BACKEND_", "DATABASE_", "NEON_", "SESSION_", "SERVER_", "SEED_", "CORS_", "EMBEDDING_", "GEMINI_", "SEARCH_", "PLANNER_"} {
			if strings.HasPrefix(name, prefix) {
				t.Setenv(name, "") // restores the value after the test
				os.Unsetenv(name)
			}
		}
	}
}

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	return p
}

func TestLoad_LaterSourcesWin(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	yamlPath := writeFile(t, dir, "config.yaml", `
server:
  port: 4100
  request_timeout: 7s
database:
  pool:
    max_open_conns: 15
    max_idle_conns: 5
app:
  log_level: warn
`)
	dotenv := writeFile(t, dir, ".env", "BACKEND_PORT=4200\nDATABASE_POOL_MAX_OPEN_CONNS=12\nLOG_LEVEL=error\n")
	t.Setenv("BACKEND_PORT", "4300")
	t.Setenv("DATABASE_POOL_MAX_IDLE_CONNS", "3")
	flags := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	flags.Int("port", 0, "")
	require.NoError(t, flags.Parse([]string{"--port", "4400"}))

	cfg, err := Load(LoadOptions{ConfigFile: yamlPath, DotEnv: dotenv, Flags: flags})
	require.NoError(t, err)

	assert.Equal(t, 4400, cfg.Server.Port, "flag beats environment")
	assert.Equal(t, 3, cfg.Database.Pool.MaxIdleConns, "environment beats config.yaml")
	assert.Equal(t, 12, cfg.Database.Pool.MaxOpenConns, ".env beats config.yaml")
	assert.Equal(t, "error", cfg.App.LogLevel, ".env beats config.yaml")
	assert.Equal(t, 7*time.Second, cfg.Server.RequestTimeout, "config.yaml beats defaults")
	assert.Equal(t, 15*time.Second, cfg.Server.ShutdownTimeout, "defaults fill the rest")
	assert.Equal(t, 20, DefaultConfig().Database.Pool.MaxOpenConns)
}

func TestLoad_EnvironmentBeatsDotEnv(t *testing.T) {
	clearEnv(t)
	dotenv := writeFile(t, t.TempDir(), ".env", "DATABASE_URL=postgres://a:b@dotenv:5432/x\n")
	t.Setenv("DATABASE_URL", "postgres://a:b@environ:5432/x")
	cfg, err := Load(LoadOptions{DotEnv: dotenv})
	require.NoError(t, err)
	assert.Equal(t, "postgres://a:b@environ:5432/x", cfg.Database.URL)
}

func TestLoad_FlagNotGivenDoesNotOverride(t *testing.T) {
	clearEnv(t)
	t.Setenv("BACKEND_PORT", "4300")
	flags := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	flags.Int("port", 0, "")
	require.NoError(t, flags.Parse(nil))
	cfg, err := Load(LoadOptions{Flags: flags})
	require.NoError(t, err)
	assert.Equal(t, 4300, cfg.Server.Port)
}

func TestLoad_ReadsTheTypeScriptDesignsVariables(t *testing.T) {
	clearEnv(t)
	env := map[string]string{
		"APP_ENV":           "production",
		"BACKEND_PORT":      "5001",
		"BACKEND_URL":       "https://api.dovvydive.example",
		"DATABASE_PROVIDER": "neon",
		"DATABASE_URL":      "postgres://u:p@localhost:5432/d",
		"NEON_DATABASE_URL": "postgres://u:p@ep-cool-1-pooler.ap-southeast-1.aws.neon.tech/neondb?sslmode=verify-full",
		"NEON_DIRECT_URL":   "postgres://u:p@ep-cool-1.ap-southeast-1.aws.neon.tech/neondb?sslmode=verify-full",
		"SESSION_SECRET":    strings.Repeat("k", 40),
		"SESSION_TTL_HOURS": "48",
		"LOG_LEVEL":         "debug",
		"CORS_ORIGINS":      "https://dovvydive.example https://www.dovvydive.example",
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	cfg, err := Load(LoadOptions{})
	require.NoError(t, err)
	assert.Equal(t, EnvProduction, cfg.App.Env)
	assert.Equal(t, 5001, cfg.Server.Port)
	assert.Equal(t, "https://api.dovvydive.example", cfg.Server.URL)
	assert.Equal(t, "neon", cfg.Database.Provider)
	assert.Equal(t, env["NEON_DATABASE_URL"], cfg.Database.NeonURL)
	assert.Equal(t, env["NEON_DIRECT_URL"], cfg.Database.NeonDirectURL)
	assert.Equal(t, 48, cfg.Session.TTLHours)
	assert.Equal(t, "debug", cfg.App.LogLevel)
	assert.Equal(t, []string{"https://dovvydive.example", "https://www.dovvydive.example"}, cfg.Server.CORSOrigins)
	assert.False(t, cfg.Session.Ephemeral)
}

func TestLoad_NodeEnvIsUsedOnlyWhenAppEnvIsUnset(t *testing.T) {
	clearEnv(t)
	t.Setenv("NODE_ENV", "test")
	cfg, err := Load(LoadOptions{})
	require.NoError(t, err)
	assert.Equal(t, EnvTest, cfg.App.Env)

	t.Setenv("APP_ENV", "development")
	cfg, err = Load(LoadOptions{})
	require.NoError(t, err)
	assert.Equal(t, EnvDevelopment, cfg.App.Env)
}

func TestLoad_DevelopmentGeneratesAnEphemeralSecret(t *testing.T) {
	clearEnv(t)
	a, err := Load(LoadOptions{})
	require.NoError(t, err)
	b, err := Load(LoadOptions{})
	require.NoError(t, err)
	assert.True(t, a.Session.Ephemeral)
	assert.GreaterOrEqual(t, len(a.Session.Secret), 32)
	assert.NotEqual(t, a.Session.Secret, b.Session.Secret)
}

func TestLoad_MissingDefaultConfigFileIsFineButANamedOneIsNot(t *testing.T) {
	clearEnv(t)
	missing := filepath.Join(t.TempDir(), "config.yaml")
	_, err := Load(LoadOptions{ConfigFile: missing})
	require.NoError(t, err)
	_, err = Load(LoadOptions{ConfigFile: missing, Explicit: true})
	require.ErrorContains(t, err, "read config")
}

func TestLoad_ValidationNamesEveryVariableAndWhy(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"provider must be known", map[string]string{"DATABASE_PROVIDER": "mysql"},
			[]string{"DATABASE_PROVIDER: must be one of local, neon"}},
		{"neon needs its url, never falls back to local", map[string]string{"DATABASE_PROVIDER": "neon"},
			[]string{"NEON_DATABASE_URL: required"}},
		{"local needs a url", map[string]string{"DATABASE_URL": " "},
			[]string{"DATABASE_URL: must be a PostgreSQL URL"}},
		{"url must be postgres", map[string]string{"DATABASE_URL": "mysql://u:p@h/d"},
			[]string{"DATABASE_URL: must be a PostgreSQL URL"}},
		{"production needs a secret", map[string]string{"APP_ENV": "production"},
			[]string{"SESSION_SECRET: required in production"}},
		{"placeholder secret refused in production", map[string]string{"APP_ENV": "production", "SESSION_SECRET": "change-me-change-me-change-me-change-me"},
			[]string{"SESSION_SECRET: must be a real secret"}},
		{"short secret", map[string]string{"SESSION_SECRET": "short"},
			[]string{"SESSION_SECRET: must be at least 32 characters"}},
		{"environment must be known", map[string]string{"APP_ENV": "staging"},
			[]string{"APP_ENV: must be one of development, production, test"}},
		{"log level must be known", map[string]string{"LOG_LEVEL": "verbose"},
			[]string{"LOG_LEVEL: must be one of debug, info, warn, error"}},
		{"port in range", map[string]string{"BACKEND_PORT": "70000"},
			[]string{"BACKEND_PORT: must be at most 65535"}},
		{"backend url", map[string]string{"BACKEND_URL": "not a url"},
			[]string{"BACKEND_URL: must be an http(s) URL"}},
		{"ttl", map[string]string{"SESSION_TTL_HOURS": "0"},
			[]string{"SESSION_TTL_HOURS: must be at least 1"}},
		{"idle above open is refused", map[string]string{"DATABASE_POOL_MAX_OPEN_CONNS": "5", "DATABASE_POOL_MAX_IDLE_CONNS": "10"},
			[]string{"DATABASE_POOL_MAX_IDLE_CONNS: must not exceed DATABASE_POOL_MAX_OPEN_CONNS"}},
		{"pool must be bounded", map[string]string{"DATABASE_POOL_MAX_OPEN_CONNS": "0"},
			[]string{"DATABASE_POOL_MAX_OPEN_CONNS: must be at least 1"}},
		{"idle timeout below Neon's suspend", map[string]string{"DATABASE_POOL_CONN_MAX_IDLE_TIME": "10m"},
			[]string{"DATABASE_POOL_CONN_MAX_IDLE_TIME: must be at most 4m"}},
		{"retry attempts", map[string]string{"DATABASE_RETRY_ATTEMPTS": "0"},
			[]string{"DATABASE_RETRY_ATTEMPTS: must be at least 1"}},
		{"retry cap above initial", map[string]string{"DATABASE_RETRY_INITIAL_DELAY": "5s", "DATABASE_RETRY_MAX_DELAY": "1s"},
			[]string{"DATABASE_RETRY_MAX_DELAY: must be at least DATABASE_RETRY_INITIAL_DELAY"}},
		{"neon refuses plaintext", map[string]string{"DATABASE_PROVIDER": "neon", "NEON_DATABASE_URL": "postgres://u:p@ep-x-pooler.neon.tech/db?sslmode=disable"},
			[]string{"NEON_DATABASE_URL: Neon requires TLS"}},
		{"gemini needs its key", map[string]string{"EMBEDDING_PROVIDER": "gemini"},
			[]string{"GEMINI_API_KEY: required"}},
		{"embedder must be known", map[string]string{"EMBEDDING_PROVIDER": "openai"},
			[]string{"EMBEDDING_PROVIDER: must be one of hash, gemini"}},
		{"ef_search bounded to what is tested", map[string]string{"SEARCH_EF_SEARCH": "1000"},
			[]string{"SEARCH_EF_SEARCH: must be at most 400"}},
		{"neon session parameters", map[string]string{"DATABASE_PROVIDER": "neon", "NEON_DATABASE_URL": "postgres://u:p@ep-x-pooler.neon.tech/db?sslmode=verify-full&search_path=app"},
			[]string{"NEON_DATABASE_URL: Neon's proxy drops the session parameter search_path"}},
		{"port not a number", map[string]string{"BACKEND_PORT": "abc"},
			[]string{"invalid configuration: BACKEND_PORT: must be a whole number"}},
		{"duration malformed, with a number malformed", map[string]string{"SERVER_REQUEST_TIMEOUT": "soon", "DATABASE_POOL_MAX_OPEN_CONNS": "many"},
			[]string{"SERVER_REQUEST_TIMEOUT: must be a duration such as 10s or 1m", "DATABASE_POOL_MAX_OPEN_CONNS: must be a whole number"}},
		{"relevance floor is a score", map[string]string{"SEARCH_MIN_SCORE": "2"},
			[]string{"SEARCH_MIN_SCORE: must be at most 1"}},
		{"placeholder words in any case and separators", map[string]string{"APP_ENV": "production", "SESSION_SECRET": "SECRET_secret_Secret_secret_secret_secret"},
			[]string{"SESSION_SECRET: must be a real secret"}},
		{"neon read replica refuses plaintext", map[string]string{"DATABASE_PROVIDER": "neon", "NEON_DATABASE_URL": "postgres://u:p@ep-x-pooler.neon.tech/db?sslmode=verify-full",
			"NEON_READ_URL": "postgres://u:p@ep-r-pooler.neon.tech/db?sslmode=disable"},
			[]string{"NEON_READ_URL: Neon requires TLS"}},
		{"read url must be postgres", map[string]string{"DATABASE_READ_URL": "http://replica"},
			[]string{"DATABASE_READ_URL: must be a PostgreSQL URL"}},
		{"drain period is not negative", map[string]string{"SERVER_DRAIN_PERIOD": "-1s"},
			[]string{"SERVER_DRAIN_PERIOD: must be at least 0"}},
		{"expected instances", map[string]string{"DATABASE_EXPECTED_INSTANCES": "0"},
			[]string{"DATABASE_EXPECTED_INSTANCES: must be at least 1"}},
		{"every problem at once", map[string]string{"DATABASE_PROVIDER": "neon", "APP_ENV": "production", "LOG_LEVEL": "loud"},
			[]string{"NEON_DATABASE_URL: required", "SESSION_SECRET: required in production", "LOG_LEVEL: must be one of"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			_, err := Load(LoadOptions{})
			require.Error(t, err)
			assert.Contains(t, err.Error(), "invalid configuration: ")
			assert.NotContains(t, err.Error(), "\n", "one line")
			assert.NotContains(t, err.Error(), "; ;", "no empty problems")
			assert.NotContains(t, err.Error(), "strconv", "no Go internals")
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestMasked_HidesSecretsAndPasswords(t *testing.T) {
	clearEnv(t)
	t.Setenv("DATABASE_URL", "postgres://app:hunter2-db@localhost:5432/dive")
	t.Setenv("NEON_DATABASE_URL", "postgres://neon:np_s3cret@ep-a-pooler.aws.neon.tech/neondb?sslmode=require")
	t.Setenv("SESSION_SECRET", "super-secret-session-key-0123456789abcdef")
	t.Setenv("GEMINI_API_KEY", "AIzaSy-gemini-secret")
	t.Setenv("DATABASE_READ_URL", "postgres://app:replica-pw-1@replica:5432/dive")
	t.Setenv("NEON_READ_URL", "postgres://neon:np_replica-2@ep-r-pooler.aws.neon.tech/neondb?sslmode=require")
	cfg, err := Load(LoadOptions{})
	require.NoError(t, err)
	out := fmt.Sprint(cfg.Masked())
	for _, secret := range []string{"hunter2-db", "np_s3cret", "super-secret-session-key", "AIzaSy-gemini-secret", "replica-pw-1", "np_replica-2"} {
		assert.NotContains(t, out, secret)
	}
	assert.Contains(t, out, "postgres://app:xxxxx@localhost:5432/dive")
}

func TestLoad_ASecretThatMerelyContainsTheWordSecretIsAccepted(t *testing.T) {
	clearEnv(t)
	t.Setenv("APP_ENV", "production")
	t.Setenv("SESSION_SECRET", "my-secret-is-9f2c1e7a4b8d3f6a0c5e2b7d")
	cfg, err := Load(LoadOptions{})
	require.NoError(t, err)
	assert.Equal(t, "my-secret-is-9f2c1e7a4b8d3f6a0c5e2b7d", cfg.Session.Secret)
}
