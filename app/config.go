// Package app wires the service together: configuration, the command line,
// and the serve lifecycle (database, migrations, HTTP, shutdown).
package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/go-playground/validator/v10"
	"github.com/go-viper/mapstructure/v2"
	"github.com/jackc/pgx/v5"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/dovvydive/backend/database"
	"github.com/dovvydive/backend/knowledge/embedding"
	"github.com/dovvydive/backend/models"
	"github.com/dovvydive/backend/planner"
)

// Environments the service runs in.
const (
	EnvDevelopment = "development"
	EnvProduction  = "production"
	EnvTest        = "test"
)

// Config is the whole effective configuration. The mapstructure tags are the
// config.yaml keys; see envNames for the environment variables.
type Config struct {
	App       AppConfig       `mapstructure:"app"`
	Server    ServerConfig    `mapstructure:"server"`
	Database  database.Config `mapstructure:"database"`
	Session   SessionConfig   `mapstructure:"session"`
	Seed      SeedConfig      `mapstructure:"seed"`
	Embedding EmbeddingConfig `mapstructure:"embedding"`
	Search    SearchConfig    `mapstructure:"search"`
	Telemetry TelemetryConfig `mapstructure:"telemetry"`
	Planner   PlannerConfig   `mapstructure:"planner"`
}

// PlannerConfig chooses the trip planner's answer generator and its quota.
type PlannerConfig struct {
	// Generator is extractive (offline, deterministic, the default) or
	// gemini (needs GEMINI_API_KEY, the same key as the Gemini embedder).
	Generator   string `mapstructure:"generator" validate:"oneof=extractive gemini"`
	GeminiModel string `mapstructure:"gemini_model" validate:"required"`
	// QuotaPerHour is the user messages each session may send per rolling hour.
	QuotaPerHour int `mapstructure:"quota_per_hour" validate:"min=1,max=100000"`
}

// TelemetryConfig places the operator endpoints.
type TelemetryConfig struct {
	// MetricsPort, when set, serves /metrics (and pprof, when enabled) on
	// its own listener instead of the API port, so it can stay private.
	MetricsPort int `mapstructure:"metrics_port" validate:"omitempty,min=1,max=65535"`
	// MetricsAddr is the interface that listener binds (loopback by default).
	MetricsAddr string `mapstructure:"metrics_addr" validate:"omitempty,ip"`
	// Pprof serves net/http/pprof under /debug/pprof on the metrics port
	// only; it needs MetricsPort, so it is never on the public port.
	Pprof bool `mapstructure:"pprof"`
}

// EmbeddingConfig chooses and tunes the embedder.
type EmbeddingConfig struct {
	Provider          string        `mapstructure:"provider" validate:"oneof=hash gemini"`
	GeminiAPIKey      string        `mapstructure:"gemini_api_key" validate:"required_if=Provider gemini"`
	GeminiModel       string        `mapstructure:"gemini_model" validate:"required"`
	GeminiBaseURL     string        `mapstructure:"gemini_base_url" validate:"omitempty,http_url"`
	BatchSize         int           `mapstructure:"batch_size" validate:"min=1,max=100"`
	Timeout           time.Duration `mapstructure:"timeout" validate:"min=1s,max=5m"`
	MaxRetries        int           `mapstructure:"max_retries" validate:"min=0,max=10"`
	RequestsPerMinute int           `mapstructure:"requests_per_minute" validate:"min=1,max=100000"`
}

// SearchConfig tunes knowledge search.
type SearchConfig struct {
	// EfSearch is HNSW's candidate list size: recall rises with it, and so
	// does latency. 0 (the default) sizes it to the corpus
	// (database.EfSearchFor: 60 up to 100,000 chunks, 400 at 1,000,000).
	// 400 is the highest value whose plans are tested to still use the index.
	EfSearch int `mapstructure:"ef_search" validate:"omitempty,min=10,max=400"`
	// MaxConcurrent bounds the searches running in the database at once; the
	// rest wait within their request's deadline. Set it to about twice the
	// database's cores (on Neon, the compute's vCPUs): HNSW search is
	// CPU-bound and slows down when more run than there are cores, but a slot
	// is also held for the round trip and the reading of the rows, so one
	// slot per core leaves the database idle part of the time (the
	// measurements are in database.DefaultMaxConcurrentSearches's comment).
	MaxConcurrent int `mapstructure:"max_concurrent" validate:"min=1,max=200"`
	// MinScore is the relevance floor (1 − cosine distance) for queries the
	// server embeds: weaker vector hits are dropped instead of answered as
	// results that share nothing with the query. Negative takes the
	// embedder's measured floor (knowledge.MinScoreFor: 0.08 for hash, none
	// for gemini, whose floor was never measured).
	MinScore float64 `mapstructure:"min_score" validate:"min=-1,max=1"`
}

// AppConfig holds process-wide settings.
type AppConfig struct {
	Env      string `mapstructure:"env" validate:"oneof=development production test"`
	LogLevel string `mapstructure:"log_level" validate:"oneof=debug info warn error"`
	// LogFormat is json or text; empty picks json in production, text elsewhere.
	LogFormat string `mapstructure:"log_format" validate:"omitempty,oneof=json text"`
}

// ServerConfig holds the HTTP server's settings.
type ServerConfig struct {
	Port            int           `mapstructure:"port" validate:"min=1,max=65535"`
	URL             string        `mapstructure:"url" validate:"omitempty,http_url"`
	RequestTimeout  time.Duration `mapstructure:"request_timeout" validate:"min=100ms,max=5m"`
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout" validate:"min=1s,max=10m"`
	// DrainPeriod is how long the listener keeps serving after SIGTERM while
	// /readyz answers 503, so a load balancer stops routing here before the
	// port closes. 0 skips the drain.
	DrainPeriod    time.Duration `mapstructure:"drain_period" validate:"min=0,max=5m"`
	MaxBodyBytes   int64         `mapstructure:"max_body_bytes" validate:"min=1,max=104857600"`
	TrustedProxies []string      `mapstructure:"trusted_proxies" validate:"dive,cidr|ip"`
	CORSOrigins    []string      `mapstructure:"cors_origins" validate:"dive,http_url"`
}

// SessionConfig holds guest-session settings.
type SessionConfig struct {
	Secret   string `mapstructure:"secret" validate:"omitempty,min=32"`
	TTLHours int    `mapstructure:"ttl_hours" validate:"min=1,max=8760"`
	// AbsoluteTTLHours caps a session's life from creation, however active.
	AbsoluteTTLHours int `mapstructure:"absolute_ttl_hours" validate:"min=1,max=8760,gtefield=TTLHours"`
	// CreatePerIPPerHour caps the sessions one client address creates per
	// rolling hour (the address as ClientIP sees it: see trusted_proxies).
	CreatePerIPPerHour int `mapstructure:"create_per_ip_per_hour" validate:"min=1,max=100000"`
	// Ephemeral is set when development generated Secret at startup.
	Ephemeral bool `mapstructure:"-"`
}

// SeedConfig controls development data.
type SeedConfig struct {
	// OnStart seeds development data when serve starts in development.
	OnStart bool `mapstructure:"on_start"`
}

// envNames maps config keys to the environment variables the existing
// TypeScript design uses; the first one set wins. Every other key is read
// from its upper-cased name with dots as underscores
// (database.pool.max_open_conns → DATABASE_POOL_MAX_OPEN_CONNS).
var envNames = map[string][]string{
	"app.env":                   {"APP_ENV", "NODE_ENV"},
	"app.log_level":             {"LOG_LEVEL"},
	"app.log_format":            {"LOG_FORMAT"},
	"telemetry.metrics_port":    {"METRICS_PORT"},
	"telemetry.metrics_addr":    {"METRICS_ADDR"},
	"telemetry.pprof":           {"PPROF_ENABLED"},
	"search.max_concurrent":     {"SEARCH_MAX_CONCURRENT"},
	"server.port":               {"BACKEND_PORT"},
	"server.url":                {"BACKEND_URL"},
	"server.cors_origins":       {"CORS_ORIGINS"},
	"database.provider":         {"DATABASE_PROVIDER"},
	"database.url":              {"DATABASE_URL"},
	"database.neon_url":         {"NEON_DATABASE_URL"},
	"database.neon_direct_url":  {"NEON_DIRECT_URL"},
	"database.neon_read_url":    {"NEON_READ_URL"},
	"session.secret":            {"SESSION_SECRET"},
	"session.ttl_hours":         {"SESSION_TTL_HOURS"},
	"embedding.provider":        {"EMBEDDING_PROVIDER"},
	"embedding.gemini_api_key":  {"GEMINI_API_KEY"},
	"embedding.gemini_base_url": {"GEMINI_BASE_URL"},
	"planner.generator":         {"PLANNER_GENERATOR"},
	"search.ef_search":          {"SEARCH_EF_SEARCH"},
}

// EnvName is the environment variable that sets key.
func EnvName(key string) string { return envNamesOf(key)[0] }

// envNamesOf lists the environment variables that set key, in the order
// they are tried: its envNames entry, else its derived name alone.
func envNamesOf(key string) []string {
	if names, ok := envNames[key]; ok {
		return names
	}
	return []string{strings.ToUpper(strings.ReplaceAll(key, ".", "_"))}
}

// DefaultConfig is the built-in configuration, the lowest layer. A default
// that another package also needs (it falls back to it, or enforces it) is
// that package's constant, referred to here, so each is written once;
// config.yaml and .env.example are tied to this function by
// TestConfigYAML_MatchesTheCodeDefaultsKeyForKeyAndNamesEachEnvironmentVariable
// and TestEnvExample_NamesOnlyVariablesTheCodeReadsAndSetsOnlyDefaults.
func DefaultConfig() Config {
	db := database.DefaultConfig()
	return Config{
		App: AppConfig{Env: EnvDevelopment, LogLevel: "info"},
		Server: ServerConfig{
			Port:            4000,
			URL:             "http://localhost:4000",
			RequestTimeout:  10 * time.Second,
			ShutdownTimeout: 15 * time.Second,
			DrainPeriod:     5 * time.Second,
			MaxBodyBytes:    1 << 20,
			TrustedProxies:  []string{},
			CORSOrigins:     []string{"http://localhost:3000", "http://localhost:5173"},
		},
		Database: db,
		Session: SessionConfig{TTLHours: int(models.DefaultSessionTTL / time.Hour), AbsoluteTTLHours: int(models.DefaultSessionMaxAge / time.Hour),
			CreatePerIPPerHour: models.DefaultSessionCreationLimit},
		Seed: SeedConfig{OnStart: false},
		Embedding: EmbeddingConfig{Provider: "hash", GeminiModel: embedding.GeminiModel, BatchSize: 64,
			Timeout: embedding.DefaultTimeout, MaxRetries: 5, RequestsPerMinute: embedding.DefaultRequestsPerMinute},
		Search:    SearchConfig{EfSearch: 0, MaxConcurrent: db.MaxConcurrentSearches, MinScore: -1},
		Telemetry: TelemetryConfig{MetricsAddr: "127.0.0.1"},
		Planner: PlannerConfig{Generator: "extractive", GeminiModel: planner.GeminiModel,
			QuotaPerHour: models.DefaultMessageQuota.Limit},
	}
}

// LoadOptions says where configuration comes from besides the defaults.
type LoadOptions struct {
	// ConfigFile is config.yaml's path. A missing file is an error only when
	// Explicit is set (the user named it with --config).
	ConfigFile string
	Explicit   bool
	// DotEnv is the .env path; missing is fine.
	DotEnv string
	// Flags are bound last, so a flag the user set wins over everything.
	Flags *pflag.FlagSet
}

// Load builds the configuration, later sources winning: defaults <
// config.yaml < .env < process environment < flags. It then validates it and
// reports every problem at once. It never touches the network.
func Load(opts LoadOptions) (Config, error) {
	v := viper.New()
	setDefaults(v, "", reflect.ValueOf(DefaultConfig()))

	if opts.ConfigFile != "" {
		v.SetConfigFile(opts.ConfigFile)
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
			// With SetConfigFile a missing file is fs.ErrNotExist, not
			// viper.ConfigFileNotFoundError (spf13/viper#1491).
			if !errors.Is(err, fs.ErrNotExist) || opts.Explicit {
				return Config{}, fmt.Errorf("read config %s: %w", opts.ConfigFile, err)
			}
		}
	}
	if opts.DotEnv != "" {
		if err := mergeDotEnv(v, opts.DotEnv); err != nil {
			return Config{}, err
		}
	}
	for _, key := range v.AllKeys() {
		if err := v.BindEnv(append([]string{key}, envNamesOf(key)...)...); err != nil {
			return Config{}, fmt.Errorf("bind %s: %w", key, err)
		}
	}
	if opts.Flags != nil {
		if err := bindFlags(v, opts.Flags); err != nil {
			return Config{}, err
		}
	}

	cfg, err := decode(v)
	if err != nil {
		return Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	if cfg.Session.Secret == "" && cfg.App.Env != EnvProduction {
		cfg.Session.Secret = randomSecret()
		cfg.Session.Ephemeral = true
	}
	cfg.Database.MaxConcurrentSearches = cfg.Search.MaxConcurrent
	return cfg, nil
}

// decode turns viper's merged layers into a Config, naming by environment
// variable every value of the wrong type.
func decode(v *viper.Viper) (Config, error) {
	var cfg Config
	if err := v.Unmarshal(&cfg, viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(
		mapstructure.StringToTimeDurationHookFunc(),
		stringToList,
	))); err != nil {
		if problems := decodeProblems(err); len(problems) > 0 {
			return Config{}, fmt.Errorf("invalid configuration: %s", strings.Join(problems, "; "))
		}
		return Config{}, fmt.Errorf("decode config: %w", err)
	}
	return cfg, nil
}

// flagKeys maps command-line flags to config keys.
var flagKeys = map[string]string{
	"port":         "server.port",
	"log-level":    "app.log_level",
	"auto-migrate": "database.auto_migrate",
	"seed":         "seed.on_start",
}

// stringToList lets list settings come from one environment variable,
// separated by commas or spaces: CORS_ORIGINS="https://a.example https://b.example".
func stringToList(from, to reflect.Type, data any) (any, error) {
	if from.Kind() != reflect.String || to.Kind() != reflect.Slice {
		return data, nil
	}
	return strings.FieldsFunc(data.(string), func(r rune) bool { return r == ',' || r == ' ' }), nil
}

func bindFlags(v *viper.Viper, flags *pflag.FlagSet) error {
	for name, key := range flagKeys {
		if f := flags.Lookup(name); f != nil {
			if err := v.BindPFlag(key, f); err != nil {
				return fmt.Errorf("bind flag %s: %w", name, err)
			}
		}
	}
	return nil
}

// mergeDotEnv layers a .env file above config.yaml and below the process
// environment: its variables are mapped to config keys and merged as config.
func mergeDotEnv(v *viper.Viper, path string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	dot := viper.New()
	dot.SetConfigType("env")
	if err := dot.ReadConfig(strings.NewReader(string(data))); err != nil {
		return fmt.Errorf("parse %s: %w", path, err)
	}
	merged := map[string]any{}
	for _, key := range v.AllKeys() {
		for _, name := range envNamesOf(key) {
			if dot.IsSet(strings.ToLower(name)) {
				setNested(merged, key, dot.Get(strings.ToLower(name)))
				break
			}
		}
	}
	return v.MergeConfigMap(merged)
}

func setNested(m map[string]any, key string, val any) {
	parts := strings.Split(key, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = val
}

// setDefaults registers every field of the default config with viper, so
// that every key can be set from the environment (spf13/viper#761).
func setDefaults(v *viper.Viper, prefix string, val reflect.Value) {
	eachKey(prefix, val, func(key string, f reflect.Value) { v.SetDefault(key, f.Interface()) })
}

// eachKey calls fn with every config key under prefix in val (a Config or one
// of its sections) and the field that holds it, in declaration order.
func eachKey(prefix string, val reflect.Value, fn func(key string, f reflect.Value)) {
	t := val.Type()
	for i := range t.NumField() {
		tag := t.Field(i).Tag.Get("mapstructure")
		if tag == "" || tag == "-" {
			continue
		}
		key := tag
		if prefix != "" {
			key = prefix + "." + tag
		}
		f := val.Field(i)
		if f.Kind() == reflect.Struct && f.Type() != reflect.TypeOf(time.Duration(0)) {
			eachKey(key, f, fn)
			continue
		}
		fn(key, f)
	}
}

func randomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b)
}

// placeholderSecrets are values copied from examples that must never guard
// production sessions.
var placeholderSecrets = []string{"changeme", "secret", "yoursessionsecret", "replacewith", "sessionsecret"}

// isPlaceholder reports whether secret is nothing but placeholder words
// (any case, separators ignored, repeated to reach the minimum length), such
// as "change-me-change-me-...". A real secret that merely contains the word
// "secret" is not one.
func isPlaceholder(secret string) bool {
	letters := strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return unicode.ToLower(r)
		}
		return -1
	}, secret)
	for _, p := range placeholderSecrets {
		letters = strings.ReplaceAll(letters, p, "")
	}
	return letters == ""
}

// decodeProblems names, by environment variable, every value that could not
// be decoded into its key's type.
func decodeProblems(err error) []string {
	var out []string
	var walk func(error)
	walk = func(e error) {
		if d, ok := e.(*mapstructure.DecodeError); ok {
			why := "has the wrong type"
			if strings.Contains(d.Error(), "invalid duration") {
				why = "must be a duration such as 10s or 1m"
			}
			var pe *mapstructure.ParseError
			if errors.As(d.Unwrap(), &pe) {
				switch pe.Expected.Kind() {
				case reflect.Int, reflect.Int64:
					why = "must be a whole number"
				case reflect.Float64:
					why = "must be a number"
				case reflect.Bool:
					why = "must be true or false"
				}
			}
			out = append(out, EnvName(d.Name())+": "+why)
			return
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, inner := range u.Unwrap() {
				walk(inner)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

// Validate checks the configuration and returns one error naming every
// offending variable and why, e.g. "DATABASE_URL: required".
func (c Config) Validate() error {
	var problems []string
	if err := validate.Struct(c); err != nil {
		var verrs validator.ValidationErrors
		if !errors.As(err, &verrs) {
			return fmt.Errorf("validate config: %w", err)
		}
		for _, fe := range verrs {
			problems = append(problems, EnvName(keyOf(fe.Namespace()))+": "+describe(fe))
		}
	}
	if c.App.Env == EnvProduction {
		switch {
		case c.Session.Secret == "":
			problems = append(problems, "SESSION_SECRET: required in production")
		case isPlaceholder(c.Session.Secret):
			problems = append(problems, "SESSION_SECRET: must be a real secret, not the example value")
		}
	}
	if c.Telemetry.Pprof && c.Telemetry.MetricsPort == 0 {
		problems = append(problems, "PPROF_ENABLED: needs METRICS_PORT, so profiles are never served on the public port")
	}
	if c.Telemetry.MetricsPort != 0 && c.Telemetry.MetricsPort == c.Server.Port {
		problems = append(problems, "METRICS_PORT: must differ from BACKEND_PORT")
	}
	if c.Planner.Generator == "gemini" && c.Embedding.GeminiAPIKey == "" {
		problems = append(problems, "GEMINI_API_KEY: required when PLANNER_GENERATOR is gemini")
	}
	if c.Database.Provider == database.ProviderNeon && c.Database.NeonURL != "" {
		problems = append(problems, neonProblems(c.Database)...)
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		problems = slices.Compact(problems)
		return fmt.Errorf("invalid configuration: %s", strings.Join(problems, "; "))
	}
	return nil
}

// neonProblems rejects connection settings Neon will not honour: it refuses
// plaintext, and its proxy silently drops session parameters.
func neonProblems(dc database.Config) []string {
	var out []string
	urls := map[string]string{"database.neon_url": dc.NeonURL, "database.neon_direct_url": dc.NeonDirectURL,
		"database.neon_read_url": dc.NeonReadURL}
	for _, key := range []string{"database.neon_url", "database.neon_direct_url", "database.neon_read_url"} {
		dsn := urls[key]
		if dsn == "" {
			continue
		}
		switch database.SSLMode(dsn) {
		case "disable", "allow", "prefer", "":
			out = append(out, EnvName(key)+": Neon requires TLS: set sslmode=verify-full (or require)")
		}
		for _, p := range database.SessionParams(dsn) {
			out = append(out, EnvName(key)+": Neon's proxy drops the session parameter "+p+": set it with ALTER ROLE ... SET instead")
		}
	}
	return out
}

// NewEmbedder returns the configured embedder.
func (c Config) NewEmbedder(ctx context.Context) (embedding.Embedder, error) {
	if c.Embedding.Provider != "gemini" {
		return embedding.Hash{}, nil
	}
	return embedding.NewGemini(ctx, embedding.GeminiConfig{
		APIKey: c.Embedding.GeminiAPIKey, Model: c.Embedding.GeminiModel, BaseURL: c.Embedding.GeminiBaseURL,
		BatchSize: c.Embedding.BatchSize, Timeout: c.Embedding.Timeout, MaxRetries: c.Embedding.MaxRetries,
		RequestsPerMinute: c.Embedding.RequestsPerMinute,
	})
}

var validate = newValidator()

func newValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
		return name
	})
	_ = v.RegisterValidation("pgdsn", func(fl validator.FieldLevel) bool {
		s := fl.Field().String()
		if !strings.HasPrefix(s, "postgres://") && !strings.HasPrefix(s, "postgresql://") {
			return false
		}
		_, err := pgx.ParseConfig(s)
		return err == nil
	})
	return v
}

// keyOf turns a validator namespace ("Config.database.pool.max_open_conns")
// into a config key.
func keyOf(ns string) string {
	_, key, _ := strings.Cut(ns, ".")
	if i := strings.Index(key, "["); i >= 0 {
		key = key[:i]
	}
	return key
}

func describe(fe validator.FieldError) string {
	isString := fe.Kind() == reflect.String
	switch fe.Tag() {
	case "required", "required_if":
		return "required"
	case "oneof":
		return "must be one of " + strings.ReplaceAll(fe.Param(), " ", ", ")
	case "min":
		if isString {
			return "must be at least " + fe.Param() + " characters"
		}
		return "must be at least " + fe.Param()
	case "max":
		if isString {
			return "must be at most " + fe.Param() + " characters"
		}
		return "must be at most " + fe.Param()
	case "ltefield":
		return "must not exceed " + EnvName(siblingKey(fe))
	case "gtefield":
		return "must be at least " + EnvName(siblingKey(fe))
	case "pgdsn":
		return "must be a PostgreSQL URL (postgres://user:password@host:port/database)"
	case "http_url":
		return "must be an http(s) URL"
	case "cidr|ip", "ip", "cidr":
		return "must be an IP address or CIDR range"
	}
	return "is invalid (" + fe.Tag() + ")"
}

// siblingKey names the field a cross-field rule compared against.
func siblingKey(fe validator.FieldError) string {
	key := keyOf(fe.Namespace())
	parent := key[:strings.LastIndex(key, ".")+1]
	names := map[string]string{"MaxOpenConns": "max_open_conns", "InitialDelay": "initial_delay", "TTLHours": "ttl_hours"}
	return parent + names[fe.Param()]
}

// NewGenerator returns the planner's configured answer generator.
func (c Config) NewGenerator(ctx context.Context) (planner.Generator, error) {
	if c.Planner.Generator != "gemini" {
		return planner.Extractive{}, nil
	}
	return planner.NewGemini(ctx, planner.GeminiConfig{APIKey: c.Embedding.GeminiAPIKey, Model: c.Planner.GeminiModel,
		BaseURL: c.Embedding.GeminiBaseURL})
}
