package app

import (
	"io"
	"log/slog"
)

// NewLogger returns the process logger: JSON in production, where logs are
// collected; text elsewhere, where people read them.
func NewLogger(cfg AppConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Env == EnvProduction {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
