package app

import (
	"io"
	"log/slog"
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
