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

// newServeLoggers are NewLogger for the server: the process log, written at
// once, and the access log (a line per request), written in batches at most
// 100 ms apart unless a line is a warning or an error. Both go through one
// batch, so lines keep their order. Call flush before the process exits.
func newServeLoggers(cfg AppConfig, w io.Writer) (log, access *slog.Logger, flush func() error) {
	bw := newBatchWriter(w, 100*time.Millisecond, 32<<10)
	h := NewLogger(cfg, bw).Handler()
	return slog.New(flushFrom{h, bw, slog.LevelDebug - 8}), slog.New(flushFrom{h, bw, slog.LevelWarn}), bw.Close
}
