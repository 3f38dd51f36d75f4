package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/sync/errgroup"

	"github.com/dovvydive/backend/database"
	"github.com/dovvydive/backend/handlers"
	"github.com/dovvydive/backend/knowledge"
	"github.com/dovvydive/backend/knowledge/embedding"
	"github.com/dovvydive/backend/models"
	"github.com/dovvydive/backend/planner"
	"github.com/dovvydive/backend/seeds"
)

// Serve runs the HTTP API until ctx is cancelled, then shuts down gracefully.
// Its stages are visible: listen (the port is bound first, so probes get
// answers while the rest starts; see handlers.Starting), prepare the database (migrate, connect,
// check, seed), ready, and shutdown. The running stages are joined with an
// errgroup: a failed stage or a signal starts the shutdown, and Serve returns
// only when every stage has ended, so the pool is never closed under a
// prepare stage that is still using it.
func Serve(ctx context.Context, cfg Config, log, access *slog.Logger) error {
	// Stage 1, listen: bind the port before building anything, so a liveness
	// probe gets its answer within milliseconds of exec. Until the router is
	// built (the OpenAPI document alone takes a few milliseconds), the front
	// door serves handlers.Starting: /livez 200, everything else 503.
	ln, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(cfg.Server.Port)))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	front := newFrontDoor(handlers.Starting(cfg.Database.Provider))
	srv := newHTTPServer(cfg.Server, front, log)
	log.Info("http: listening", "addr", ln.Addr().String())
	stages, stagesCtx := errgroup.WithContext(ctx)
	stages.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http server: %w", err)
		}
		return nil
	})
	built := false
	defer func() { // a failed build: stop serving the starting answers
		if !built {
			_ = srv.Close()
			_ = stages.Wait()
		}
	}()

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
	ready := &readiness{DB: db}

	// Telemetry: /metrics on the API port, or on its own with pprof.
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
	services, err := newServices(cfg, ready, tel.embedder, plan, log)
	if err != nil {
		return err
	}

	// The router takes over from the starting answers.
	gin.SetMode(gin.ReleaseMode)
	router, err := handlers.NewRouter(handlers.RouterConfig{
		Log:            log,
		AccessLog:      access,
		RequestTimeout: cfg.Server.RequestTimeout,
		MaxBodyBytes:   cfg.Server.MaxBodyBytes,
		TrustedProxies: cfg.Server.TrustedProxies,
		CORSOrigins:    cfg.Server.CORSOrigins,
		SessionSecret:  []byte(cfg.Session.Secret),
		Metrics:        tel.http,
		MetricsHandler: metricsOnAPI,
	}, services)
	if err != nil {
		return err
	}
	handler, err := compress(router)
	if err != nil {
		return err
	}
	front.set(handler)
	built = true

	// Stage 2, prepare the database; then stage 3, ready.
	stages.Go(func() error {
		if err := prepareDatabase(stagesCtx, cfg, db, emb, log); err != nil {
			if stagesCtx.Err() != nil {
				log.Info("prepare: interrupted by the shutdown", "error", err.Error())
				return nil // the shutdown has its own cause
			}
			return err
		}
		ready.set(stageReady)
		log.Info("ready: serving")
		return nil
	})

	// Stage 4, shutdown: on a signal or a failed stage, /readyz turns 503 at
	// once; after a signal to a ready instance the listener keeps serving for
	// the drain period, so a balancer moves traffic away before the port
	// closes. Then stop accepting and let in-flight requests finish; the
	// deferred Close releases the pool.
	stages.Go(func() error {
		<-stagesCtx.Done()
		if ctx.Err() != nil {
			// Before /readyz turns 503: whoever sees it fail must already
			// get answers that close their connections.
			front.closing.Store(true)
		}
		wasReady := ready.stage.Swap(stageStopping) == stageReady
		if ctx.Err() != nil {
			log.Info("shutdown: signal received")
			if wasReady {
				drain(cfg.Server.DrainPeriod, log)
			}
		}
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Server.ShutdownTimeout)
		defer cancel()
		defer log.Info("http: stopped")
		if err := srv.Shutdown(shutdownCtx); err != nil {
			_ = srv.Close()
			return fmt.Errorf("shutdown: in-flight requests did not finish within %s", cfg.Server.ShutdownTimeout)
		}
		return nil
	})
	return stages.Wait()
}

// drain keeps serving for period, every answer with "Connection: close"
// (frontDoor.closing), so clients holding a connection reconnect to another
// instance. It does not use http.Server.SetKeepAlivesEnabled(false): that
// also closes every idle connection at once, while the balancer still has
// the instance in rotation and may be writing a request into one of them;
// that request is lost (a POST cannot be retried). Idle connections close at
// Shutdown instead, after the drain, when the balancer has stopped using
// them.
func drain(period time.Duration, log *slog.Logger) {
	if period <= 0 {
		return
	}
	log.Info("shutdown: draining; /readyz answers 503", "period", period.String())
	time.Sleep(period)
}

// Stages of the process, as readiness reports them.
const (
	stageStarting int32 = iota
	stageReady
	stageStopping
)

// readiness owns the answer to "may this instance get traffic?": not while
// it is starting (migrating, seeding) or stopping, and otherwise only when
// the database is ready. It is the Store the router sees.
type readiness struct {
	*database.DB
	stage atomic.Int32
}

func (r *readiness) set(stage int32) { r.stage.Store(stage) }

// Ready implements the readiness probe.
func (r *readiness) Ready(ctx context.Context) error {
	switch r.stage.Load() {
	case stageStarting:
		return handlers.ErrStarting
	case stageStopping:
		return handlers.ErrStopping
	}
	return r.DB.Ready(ctx)
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
	db.WarnPoolBudget(ctx)
	status, err := db.StatusCheck(ctx)
	if err != nil {
		return fmt.Errorf("database status: %w", err)
	}
	log.Info("database: status", "schema_version", status.SchemaVersion, "pgvector", status.VectorVersion,
		"latency_ms", float64(status.Latency.Microseconds())/1000)
	if err := status.Pending(); err != nil {
		log.Warn("database: schema is not current and auto_migrate is off; /readyz answers 503 until `migrate up` runs",
			"error", err.Error())
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

// frontDoor is the server's handler: the starting answers until set gives it
// the router, which then serves every request. While closing (the drain),
// every answer closes its connection.
type frontDoor struct {
	starting http.Handler
	router   atomic.Pointer[http.Handler]
	closing  atomic.Bool
}

func newFrontDoor(starting http.Handler) *frontDoor { return &frontDoor{starting: starting} }

func (f *frontDoor) set(h http.Handler) { f.router.Store(&h) }

func (f *frontDoor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.closing.Load() {
		// net/http closes the connection after a reply with this header.
		w.Header().Set("Connection", "close")
	}
	if h := f.router.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	f.starting.ServeHTTP(w, r)
}

// serviceStore is what the services read and write; *database.DB (through
// readiness) implements it.
type serviceStore interface {
	handlers.Store
	knowledge.SearchStore
	planner.ChatStore
}

// newServices builds the use cases the API calls, in the one place they
// are built: the knowledge search (ef_search, the relevance floor), the
// conversation over the planner (the message quota), the guest-session
// rules and the share links' key (derived from the session secret), from
// the configuration.
func newServices(cfg Config, store serviceStore, emb embedding.Embedder, plan planner.Answerer, log *slog.Logger) (handlers.Services, error) {
	searcher, err := knowledge.NewSearcher(store, emb, cfg.Search.EfSearch, cfg.Search.MinScore)
	if err != nil {
		return handlers.Services{}, fmt.Errorf("services: %w", err)
	}
	shareKey, err := models.NewShareKey([]byte(cfg.Session.Secret))
	if err != nil {
		return handlers.Services{}, fmt.Errorf("services: %w", err)
	}
	return handlers.Services{
		Store:    store,
		Searcher: searcher,
		Chat:     planner.NewChat(store, plan, cfg.Planner.QuotaPerHour, log),
		ShareKey: shareKey,
		Sessions: handlers.SessionLimits{
			TTL:             time.Duration(cfg.Session.TTLHours) * time.Hour,
			MaxAge:          time.Duration(cfg.Session.AbsoluteTTLHours) * time.Hour,
			CreatePerIPHour: cfg.Session.CreatePerIPPerHour,
		},
	}, nil
}
