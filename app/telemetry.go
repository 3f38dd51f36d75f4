package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"time"

	"github.com/klauspost/compress/gzhttp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dovvydive/backend/database"
	"github.com/dovvydive/backend/handlers"
	"github.com/dovvydive/backend/knowledge/embedding"
)

// telemetry is what operators get besides the API: Prometheus metrics and,
// when enabled, pprof.
type telemetry struct {
	registry *prometheus.Registry
	http     *handlers.HTTPMetrics
	embedder embedding.Embedder // the configured embedder, counted
}

// newTelemetry registers the process, HTTP, database and embedder metrics.
func newTelemetry(db *database.DB, emb embedding.Embedder) (*telemetry, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, c := range db.Collectors() {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register database metrics: %w", err)
		}
	}
	hm, err := handlers.NewHTTPMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("register http metrics: %w", err)
	}
	counted, err := embedding.Instrument(emb, reg)
	if err != nil {
		return nil, fmt.Errorf("register embedder metrics: %w", err)
	}
	return &telemetry{registry: reg, http: hm, embedder: counted}, nil
}

func (t *telemetry) handler() http.Handler {
	return promhttp.HandlerFor(t.registry, promhttp.HandlerOpts{})
}

// compress gzips responses of 1 KiB and more for clients that accept it.
// Server-Sent Events are never compressed: a compressor holds bytes back
// until it has enough, and events must reach the client as they happen.
func compress(h http.Handler) (http.Handler, error) {
	wrap, err := gzhttp.NewWrapper(gzhttp.MinSize(1024), gzhttp.ExceptContentTypes([]string{"text/event-stream"}))
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return wrap(h), nil
}

// serveOperatorPort serves /metrics, and pprof when enabled, on their own
// listener until ctx ends. Binding it is synchronous, so a taken port fails
// startup instead of silently leaving operators blind.
func serveOperatorPort(ctx context.Context, cfg TelemetryConfig, t *telemetry, log *slog.Logger) (func(), error) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", t.handler())
	if cfg.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.MetricsAddr, strconv.Itoa(cfg.MetricsPort)))
	if err != nil {
		return nil, fmt.Errorf("listen for metrics: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics: server stopped", "error", err.Error())
		}
	}()
	log.Info("metrics: listening", "addr", ln.Addr().String(), "pprof", cfg.Pprof)
	return func() {
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}, nil
}
