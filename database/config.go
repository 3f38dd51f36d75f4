package database

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Providers a deployment can choose with DATABASE_PROVIDER.
const (
	ProviderLocal = "local"
	ProviderNeon  = "neon"
)

// Config is the database module's configuration. The app package fills it from
// viper; the mapstructure tags are the config.yaml keys under "database".
type Config struct {
	Provider      string `mapstructure:"provider" validate:"oneof=local neon"`
	URL           string `mapstructure:"url" validate:"required_if=Provider local,omitempty,pgdsn"`
	NeonURL       string `mapstructure:"neon_url" validate:"required_if=Provider neon,omitempty,pgdsn"`
	NeonDirectURL string `mapstructure:"neon_direct_url" validate:"omitempty,pgdsn"`
	// ReadURL (local) and NeonReadURL (Neon, the read replica's pooled
	// endpoint) enable a second pool for reads that may be slightly stale.
	ReadURL     string        `mapstructure:"read_url" validate:"omitempty,pgdsn"`
	NeonReadURL string        `mapstructure:"neon_read_url" validate:"omitempty,pgdsn"`
	Replica     ReplicaConfig `mapstructure:"replica"`
	// ExpectedInstances is how many copies of the service share the
	// database; serve warns when that many full pools exceed its
	// max_connections.
	ExpectedInstances int           `mapstructure:"expected_instances" validate:"min=1,max=1000"`
	AutoMigrate       bool          `mapstructure:"auto_migrate"`
	HealthTimeout     time.Duration `mapstructure:"health_timeout" validate:"min=100ms,max=1m"`
	Pool              PoolConfig    `mapstructure:"pool"`
	Retry             RetryConfig   `mapstructure:"retry"`
	// MaxConcurrentSearches bounds the knowledge searches in flight (the
	// search section of the app's configuration sets it).
	MaxConcurrentSearches int `mapstructure:"-"`
}

// PoolConfig bounds the connection pool of one process.
type PoolConfig struct {
	MaxOpenConns    int           `mapstructure:"max_open_conns" validate:"min=1,max=1000"`
	MaxIdleConns    int           `mapstructure:"max_idle_conns" validate:"min=0,ltefield=MaxOpenConns"`
	ConnMaxIdleTime time.Duration `mapstructure:"conn_max_idle_time" validate:"min=1s,max=4m"`
	ConnMaxLifetime time.Duration `mapstructure:"conn_max_lifetime" validate:"min=1m,max=24h"`
	ConnectTimeout  time.Duration `mapstructure:"connect_timeout" validate:"min=1s,max=2m"`
}

// ReplicaConfig bounds how stale and how often checked the read replica is.
type ReplicaConfig struct {
	// MaxLag is the replay lag beyond which reads go to the primary.
	MaxLag time.Duration `mapstructure:"max_lag" validate:"min=100ms,max=1h"`
	// CheckInterval is the least time between two lag checks. Checks run
	// only when a read needs the replica, never on a timer, so an idle
	// Neon compute can suspend.
	CheckInterval time.Duration `mapstructure:"check_interval" validate:"min=100ms,max=5m"`
	// RetryAfter is how long a replica that failed is left alone before a
	// read tries it again.
	RetryAfter time.Duration `mapstructure:"retry_after" validate:"min=100ms,max=5m"`
}

// RetryConfig shapes the exponential backoff of the first connection.
type RetryConfig struct {
	Attempts     int           `mapstructure:"attempts" validate:"min=1,max=30"`
	InitialDelay time.Duration `mapstructure:"initial_delay" validate:"min=1ms,max=1m"`
	Multiplier   float64       `mapstructure:"multiplier" validate:"min=1,max=10"`
	MaxDelay     time.Duration `mapstructure:"max_delay" validate:"gtefield=InitialDelay,max=5m"`
}

// DefaultConfig is the database section's built-in configuration; the app's
// defaults take it whole, and config.yaml documents each key.
func DefaultConfig() Config {
	return Config{
		Provider:      ProviderLocal,
		URL:           "postgres://dovvydive:dovvydive@127.0.0.1:25432/dovvydive?sslmode=disable",
		AutoMigrate:   true,
		HealthTimeout: 2 * time.Second,
		Replica: ReplicaConfig{
			MaxLag:        10 * time.Second,
			CheckInterval: 5 * time.Second,
			RetryAfter:    5 * time.Second,
		},
		ExpectedInstances: 2,
		Pool: PoolConfig{
			MaxOpenConns: 20,
			// Equal to MaxOpenConns so a burst's connections are reused instead of
			// closed and reopened (database/sql keeps only 2 by default). There is
			// deliberately no idle floor: keeping connections open on a timer keeps
			// a Neon compute awake, so the idle timeout drains the pool to zero.
			MaxIdleConns:    20,
			ConnMaxIdleTime: 30 * time.Second,
			ConnMaxLifetime: 30 * time.Minute,
			ConnectTimeout:  10 * time.Second,
		},
		MaxConcurrentSearches: DefaultMaxConcurrentSearches,
		Retry: RetryConfig{
			Attempts:     5,
			InitialDelay: time.Second,
			Multiplier:   2,
			MaxDelay:     30 * time.Second,
		},
	}
}

// Endpoint is one resolved connection target.
type Endpoint struct {
	DSN    string
	Pooled bool // behind a transaction pooler: no statement cache, no session state
}

// AppEndpoint is where the application's query pool connects.
func (c Config) AppEndpoint() (Endpoint, error) {
	switch c.Provider {
	case ProviderNeon:
		if c.NeonURL == "" {
			return Endpoint{}, errors.New("NEON_DATABASE_URL is required when DATABASE_PROVIDER is neon")
		}
		// NEON_DATABASE_URL is the pooled endpoint unless the user pointed
		// both URLs at the same (direct) place. Exec mode is safe either way.
		pooled := c.NeonDirectURL == "" || c.NeonDirectURL != c.NeonURL
		dsn := c.NeonURL
		if pooled {
			var err error
			if dsn, err = withExecMode(dsn); err != nil {
				return Endpoint{}, err
			}
		}
		return Endpoint{DSN: dsn, Pooled: pooled}, nil
	case ProviderLocal, "":
		if c.URL == "" {
			return Endpoint{}, errors.New("DATABASE_URL is required when DATABASE_PROVIDER is local")
		}
		return Endpoint{DSN: c.URL}, nil
	default:
		return Endpoint{}, fmt.Errorf("unknown database provider %q", c.Provider)
	}
}

// ReadEndpoint is where reads that may be slightly stale go; ok is false
// when no replica is configured for the provider.
func (c Config) ReadEndpoint() (ep Endpoint, ok bool, err error) {
	switch c.Provider {
	case ProviderNeon:
		if c.NeonReadURL == "" {
			return Endpoint{}, false, nil
		}
		// A Neon read replica is reached through its pooled endpoint, like
		// the primary: no statement cache.
		dsn, err := withExecMode(c.NeonReadURL)
		if err != nil {
			return Endpoint{}, false, err
		}
		return Endpoint{DSN: dsn, Pooled: true}, true, nil
	default:
		if c.ReadURL == "" {
			return Endpoint{}, false, nil
		}
		return Endpoint{DSN: c.ReadURL}, true, nil
	}
}

// MigrationEndpoint is where goose connects. On Neon that must be the direct
// endpoint: the pooled one is PgBouncer in transaction mode, which breaks the
// session advisory lock goose holds while it migrates. derived reports that the
// direct host was derived from the pooled one.
func (c Config) MigrationEndpoint() (ep Endpoint, derived bool, err error) {
	if c.Provider != ProviderNeon {
		ep, err = c.AppEndpoint()
		return ep, false, err
	}
	if c.NeonDirectURL != "" {
		return Endpoint{DSN: c.NeonDirectURL}, false, nil
	}
	u, err := url.Parse(c.NeonURL)
	if err != nil || u.Host == "" || !isNeonPoolerHost(u.Hostname()) {
		return Endpoint{}, false, errors.New("NEON_DIRECT_URL is required for migrations: NEON_DATABASE_URL's host has no -pooler suffix to remove")
	}
	u.Host = strings.Replace(u.Host, "-pooler", "", 1)
	return Endpoint{DSN: u.String()}, true, nil
}

// Warnings are settings that work but that an operator should change.
func (c Config) Warnings() []string {
	if c.Provider != ProviderNeon {
		return nil
	}
	var out []string
	for _, dsn := range []string{c.NeonURL, c.NeonDirectURL} {
		if dsn != "" && SSLMode(dsn) == "require" {
			out = append(out, "sslmode=require encrypts but does not verify Neon's certificate: use sslmode=verify-full")
			break
		}
	}
	return out
}

// SSLMode reports the effective sslmode of dsn: disable, allow (plaintext
// first), prefer (TLS with a plaintext fallback), require (TLS, unverified)
// or verify-full (verify-ca reads as verify-full). It is ""
// when dsn does not parse.
func SSLMode(dsn string) string {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return ""
	}
	if cfg.TLSConfig == nil {
		for _, fb := range cfg.Fallbacks {
			if fb.TLSConfig != nil {
				return "allow"
			}
		}
		return "disable"
	}
	for _, fb := range cfg.Fallbacks {
		if fb.TLSConfig == nil {
			return "prefer"
		}
	}
	if cfg.TLSConfig.InsecureSkipVerify {
		return "require"
	}
	return "verify-full"
}

// SessionParams lists the startup parameters in dsn that Neon's proxy drops
// silently: everything but application_name and an options string that only
// names the endpoint.
func SessionParams(dsn string) []string {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil
	}
	var out []string
	for k, v := range cfg.RuntimeParams {
		switch {
		case k == "application_name":
		case k == "options" && onlyEndpointOption(v):
		default:
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func onlyEndpointOption(v string) bool {
	for _, f := range strings.Fields(v) {
		if !strings.HasPrefix(f, "endpoint=") && !strings.HasPrefix(f, "project=") {
			return false
		}
	}
	return true
}

func isNeonPoolerHost(host string) bool {
	first, _, _ := strings.Cut(host, ".")
	return strings.HasSuffix(first, "-pooler")
}

// withExecMode makes pgx send every query unprepared (extended protocol with
// no server-side statement cache) unless the user chose a mode. Behind a
// transaction pooler a cached statement outlives schema changes and fails with
// "cached plan must not change result type" for every client.
func withExecMode(dsn string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("parse database url: %s", RedactError(err, dsn))
	}
	q := u.Query()
	if q.Get("default_query_exec_mode") == "" {
		q.Set("default_query_exec_mode", "exec")
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}

// Target describes an endpoint for logs: everything but the password.
type Target struct {
	Host     string
	Port     uint16
	Database string
	User     string
	SSLMode  string
}

// Describe parses dsn into a loggable Target without touching the network.
func Describe(dsn string) (Target, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return Target{}, fmt.Errorf("parse database url: %s", RedactError(err, dsn))
	}
	mode := "disable"
	if cfg.TLSConfig != nil {
		mode = "tls"
	}
	if u, err := url.Parse(dsn); err == nil && u.Query().Get("sslmode") != "" {
		mode = u.Query().Get("sslmode")
	}
	return Target{Host: cfg.Host, Port: cfg.Port, Database: cfg.Database, User: cfg.User, SSLMode: mode}, nil
}

var urlUserinfo = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://[^:@/]*:([^@/]+)@`)

var kvPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)

// Redact returns dsn with its password replaced, in URL or keyword/value form.
func Redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
		q := u.Query()
		if q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	return kvPassword.ReplaceAllString(dsn, "${1}xxxxx")
}

// RedactError returns err's text with any password from dsn removed, for
// errors whose text may quote the connection string.
func RedactError(err error, dsn string) string {
	msg := err.Error()
	for _, secret := range passwordsIn(dsn) {
		if secret != "" {
			msg = strings.ReplaceAll(msg, secret, "xxxxx")
		}
	}
	return msg
}

func passwordsIn(dsn string) []string {
	var out []string
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		if p, ok := u.User.Password(); ok {
			out = append(out, p, url.QueryEscape(p), url.PathEscape(p))
		}
		if p := u.Query().Get("password"); p != "" {
			out = append(out, p)
		}
	}
	// url.Parse rejects some malformed URLs (a bad port, say) whose errors
	// still quote them: find the userinfo by pattern too.
	if m := urlUserinfo.FindStringSubmatch(dsn); m != nil {
		out = append(out, m[1])
		if p, err := url.PathUnescape(m[1]); err == nil {
			out = append(out, p)
		}
	}
	for _, m := range kvPassword.FindAllStringSubmatch(dsn, -1) {
		out = append(out, strings.Trim(m[2], "'"))
	}
	return out
}

// redactedError keeps the driver error for errors.Is/As while its text has
// the password removed.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func redacted(err error, dsn string) error {
	if err == nil {
		return nil
	}
	return &redactedError{msg: RedactError(err, dsn), err: err}
}
