package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
)

const (
	requestIDKey  = "request_id"
	baseLoggerKey = "logger"
)

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// unlogged are the paths scraped and probed every few seconds: a line per
// probe would drown the requests people read logs for.
var unlogged = map[string]bool{"/metrics": true, "/livez": true}

// requestLog gives each request an id (the caller's X-Request-ID when it is
// sane, else a new UUID) and one log line at the end. Handlers that log get a
// logger carrying the id from logger(c), built only when they ask: most
// requests log nothing else, and building it for each was a visible cost.
func requestLog(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		id := c.GetHeader("X-Request-ID")
		if !validRequestID.MatchString(id) {
			id = uuid.NewString()
		}
		c.Header("X-Request-ID", id)
		c.Set(requestIDKey, id)
		c.Set(baseLoggerKey, log)
		c.Next()
		status := c.Writer.Status()
		if unlogged[c.Request.URL.Path] && status < 500 {
			return
		}
		level := slog.LevelInfo
		switch {
		case status >= 500:
			level = slog.LevelError
		case status >= 400:
			level = slog.LevelWarn
		}
		log.LogAttrs(c.Request.Context(), level, "request",
			slog.String("request_id", id),
			slog.String("method", c.Request.Method),
			slog.String("path", c.Request.URL.Path),
			slog.Int("status", status),
			slog.Float64("latency_ms", float64(time.Since(start).Microseconds())/1000),
			slog.Int("bytes", c.Writer.Size()),
			slog.String("client_ip", c.ClientIP()))
	}
}

// recovery turns a panic into a JSON 500; the stack goes to the log only.
func recovery() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				logger(c).Error("panic", "value", fmt.Sprint(r), "stack", string(debug.Stack()))
				writeError(c, &APIError{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"})
			}
		}()
		c.Next()
	}
}

// limitBody answers 413 for bodies over max bytes: at once when the
// Content-Length says so, else when a handler reads past the limit.
func limitBody(max int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > max {
			writeError(c, &APIError{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large",
				Field: "body", Message: fmt.Sprintf("body: must be at most %d bytes", max)})
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, max)
		c.Next()
	}
}

// deadline bounds every request's work, queries and the wait for a pooled
// connection included, so a slow or absent database yields a 503 in time
// instead of requests piling up.
func deadline(d time.Duration) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), d)
		defer cancel()
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}
