package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/dovvydive/backend/database"
	"github.com/dovvydive/backend/handlers"
	"github.com/dovvydive/backend/knowledge/embedding"
	"github.com/dovvydive/backend/planner"
	"github.com/dovvydive/backend/seeds"
)

// Serve runs the HTTP API until ctx is cancelled, then shuts down gracefully.
// The port is bound first, so probes get answers (503 from database routes)
// while the database is still being reached, migrated and seeded.
func Serve(ctx context.Context, cfg Config, log *slog.Logger) error {
	// Embedder: the one that made the stored vectors (checked once connected).
	emb, err := cfg.NewEmbedder(ctx)
	if err != nil {
		return err
	}

	// Database handle: validated, not yet connected.
	db, err := database.New(cfg.Database, log)
	if err != nil {
		return err
	}
	defer func() {
		if err := db.Close(); err != nil {
			log.Warn("database: close", "error", err.Error())
		}
		log.Info("database: pool closed")
	}()

	// Readiness waits for the whole startup (migrations and seeding too).
	started := &startupGate{DB: db}

	// Telemetry: metrics on the API port, or on their own with pprof.
	tel, err := newTelemetry(db, emb)
	if err != nil {
		return err
	}
	var metricsOnAPI http.Handler
	if cfg.Telemetry.MetricsPort == 0 {
		metricsOnAPI = tel.handler()
	} else {
		stop, err := serveOperatorPort(ctx, cfg.Telemetry, tel, log)
		if err != nil {
			return err
		}
		defer stop()
	}

	// Planner: the configured generator over hybrid retrieval in the database.
	gen, err := cfg.NewGenerator(ctx)
	if err != nil {
		return err
	}
	store := planner.Store{DB: db, EfSearch: cfg.Search.EfSearch}
	plan, err := planner.New(planner.Config{Embedder: tel.embedder, Retriever: store, Catalog: store, Generator: gen})
	if err != nil {
		return err
	}

	// HTTP: bind the port now.
	gin.SetMode(gin.ReleaseMode)
	router, err := handlers.NewRouter(handlers.RouterConfig{
		Log:            log,
		RequestTimeout: cfg.Server.RequestTimeout,
		MaxBodyBytes:   cfg.Server.MaxBodyBytes,
		TrustedProxies: cfg.Server.TrustedProxies,
		CORSOrigins:    cfg.Server.CORSOrigins,
		SessionSecret:  []byte(cfg.Session.Secret),
		SessionTTL:     time.Duration(cfg.Session.TTLHours) * time.Hour,
		Embedder:       tel.embedder,
		EfSearch:       cfg.Search.EfSearch,
		Metrics:        tel.http,
		MetricsHandler: metricsOnAPI,
		MinScore:       cfg.Search.MinScore,
		// The planner's session rules.
		SessionMaxAge:     time.Duration(cfg.Session.AbsoluteTTLHours) * time.Hour,
		SessionsPerIPHour: cfg.Session.CreatePerIPPerHour,
		MessagesPerHour:   cfg.Planner.QuotaPerHour,
		Planner:           plan,
	}, started)
	if err != nil {
		return err
	}
	handler, err := compress(router)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(cfg.Server.Port)))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := newHTTPServer(cfg.Server, handler, log)
	serverErr := make(chan error, 1)
	go func() { serverErr <- srv.Serve(ln) }()
	log.Info("http: listening", "addr", ln.Addr().String())

	// Database: migrate, connect, seed, in the background.
	dbCtx, cancelDB := context.WithCancel(ctx)
	defer cancelDB()
	dbErr := make(chan error, 1)
	go func() {
		err := prepareDatabase(dbCtx, cfg, db, emb, log)
		if err == nil {
			started.done.Store(true)
		}
		dbErr <- err
	}()

	// Run until a signal, a server failure or a fatal database error.
	var runErr error
	for waiting := true; waiting; {
		select {
		case <-ctx.Done():
			log.Info("shutdown: signal received")
			waiting = false
		case err := <-serverErr:
			runErr = fmt.Errorf("http server: %w", err)
			waiting = false
		case err := <-dbErr:
			if err != nil && ctx.Err() == nil {
				runErr = err
				waiting = false
			}
			dbErr = nil // prepared (or interrupted by shutdown): stop selecting on it
		}
	}
	cancelDB()

	// Shutdown: stop accepting, let in-flight requests finish, then the
	// deferred Close releases the pool.
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Server.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
		if runErr == nil {
			runErr = fmt.Errorf("shutdown: in-flight requests did not finish within %s", cfg.Server.ShutdownTimeout)
		}
	}
	log.Info("http: stopped")
	return runErr
}

// startupGate reports not-ready until serve's startup has finished, so a
// load balancer sends no traffic to an instance that is still seeding.
type startupGate struct {
	*database.DB
	done atomic.Bool
}

func (g *startupGate) Ready(ctx context.Context) error {
	if !g.done.Load() {
		return handlers.ErrStarting
	}
	return g.DB.Ready(ctx)
}

// prepareDatabase brings the schema up to date, opens the application pool and
// optionally seeds. Migrations run first, over their own (direct) connection,
// so that no API query ever sees a half-migrated schema.
func prepareDatabase(ctx context.Context, cfg Config, db *database.DB, emb embedding.Embedder, log *slog.Logger) error {
	if cfg.Database.AutoMigrate {
		if err := migrateUp(ctx, cfg, log); err != nil {
			return err
		}
	}
	if err := db.Connect(ctx); err != nil {
		return err
	}
	if !cfg.Database.AutoMigrate {
		if err := db.Ready(ctx); err != nil {
			log.Warn("database: schema is not current and auto_migrate is off; /readyz answers 503 until `migrate up` runs", "reason", err.Error())
		}
	}
	if err := db.CheckEmbeddingModel(ctx, emb.Model()); err != nil {
		return err
	}
	if cfg.Seed.OnStart {
		res, err := seeds.Load(ctx, db, emb)
		if err != nil {
			return err
		}
		log.Info("seed: loaded", "operators_changed", res.Operators, "sites_loaded", res.Sites.Loaded,
			"sites_unchanged", res.Sites.Unchanged, "chunks_written", res.Sites.Chunks)
	}
	log.Info("database: ready")
	return nil
}

// migrateUp applies pending migrations under goose's lock.
func migrateUp(ctx context.Context, cfg Config, log *slog.Logger) error {
	m, err := database.NewMigrator(ctx, cfg.Database, log)
	if err != nil {
		return err
	}
	defer m.Close()
	n, err := m.Up(ctx)
	if err != nil {
		return err
	}
	v, err := m.Version(ctx)
	if err != nil {
		return err
	}
	log.Info("migrations: up to date", "applied_now", n, "version", v)
	return nil
}

// MaxHeaderBytes bounds a request's headers; Go answers a larger one with
// 431 itself (in plain text: net/http offers no hook for its body).
const MaxHeaderBytes = 64 << 10

// newHTTPServer returns the server for handler. The request timeout bounds
// reading the whole request too, so a body sent at a byte a second holds a
// connection no longer than any other slow request.
func newHTTPServer(sc ServerConfig, handler http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: min(10*time.Second, sc.RequestTimeout),
		ReadTimeout:       sc.RequestTimeout,
		WriteTimeout:      sc.RequestTimeout + 5*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}
