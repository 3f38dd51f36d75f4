package app

import (
	"io"
	"log/slog"
	"time"
)

// NewLogger returns the process logger in LOG_FORMAT; by default JSON in
// production, where logs are collected, and text elsewhere, where people
// read them.
func NewLogger(cfg AppConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" || (cfg.LogFormat == "" && cfg.Env == EnvProduction) {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// newServeLogger is NewLogger for the server: info lines (one per request)
// are written in batches at most 100 ms apart, warnings and errors at once.
// Call the returned flush before the process exits.
func newServeLogger(cfg AppConfig, w io.Writer) (*slog.Logger, func() error) {
	bw := newBatchWriter(w, 100*time.Millisecond, 32<<10)
	log := NewLogger(cfg, bw)
	return slog.New(flushOnWarn{log.Handler(), bw}), bw.Close
}
