package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"regexp"
	"runtime/debug"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
)

// unlogged are the paths scraped and probed every few seconds: a line per
// probe would drown the requests people read logs for.
var unlogged = map[string]bool{"/metrics": true, "/livez": true}

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// edge is the first middleware every request meets, in one gin handler so
// that a request gets one derived context and one copy of *http.Request
// instead of one per concern (they showed in the CPU profile of /health). It
//   - gives the request an id: the caller's X-Request-ID when it is sane,
//     else a new UUID;
//   - records gin's ClientIP (the peer address, or X-Forwarded-For only from
//     a trusted proxy) for handlers huma calls;
//   - bounds the request's work by the deadline, queries and the wait for a
//     pooled connection included, so a slow or absent database yields a 503
//     in time instead of requests piling up;
//   - turns a panic into a JSON 500, the stack going to the log only;
//   - counts the request in metrics (when m is set) and writes its one line
//     to access at the end; a request whose client went away is counted and
//     logged (at info) as 499, never as the 5xx its failure would have been.
//
// The context carries a requestInfo; loggerFrom builds a logger with the id
// only when a handler logs, which most requests never do.
func edge(log, access *slog.Logger, timeout time.Duration, m *HTTPMetrics) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		if m != nil {
			m.inFlight.Inc()
			defer m.inFlight.Dec()
		}
		id := c.GetHeader("X-Request-ID")
		if !validRequestID.MatchString(id) {
			id = uuid.NewString()
		}
		c.Header("X-Request-ID", id)
		info := &requestInfo{base: log, id: id, clientIP: c.ClientIP()}
		ctx, cancel := context.WithTimeout(context.WithValue(c.Request.Context(), requestInfoKey, info), timeout)
		defer cancel()
		c.Request = c.Request.WithContext(ctx)

		func() {
			defer func() {
				if r := recover(); r != nil {
					if r == http.ErrAbortHandler {
						panic(r)
					}
					loggerFrom(ctx).Error("panic", "value", fmt.Sprint(r), "stack", string(debug.Stack()))
					writeError(c, internalError())
				}
			}()
			c.Next()
		}()

		status := c.Writer.Status()
		if status >= 500 && clientGone(ctx) {
			// A failure after the client left is the leaving's doing, even
			// where no handler mapped it to clientClosed: a 5xx here would
			// page an operator for a client that hung up.
			status = statusClientClosedRequest
		}
		if m != nil {
			m.observe(c, status, start)
		}
		if unlogged[c.Request.URL.Path] && status < 500 {
			return
		}
		level := slog.LevelInfo
		switch {
		case status == statusClientClosedRequest:
			// Nobody failed and nobody waits for an answer: a note, at info.
		case status >= 500:
			level = slog.LevelError
		case status >= 400:
			level = slog.LevelWarn
		}
		access.LogAttrs(ctx, level, "request",
			slog.String("request_id", id),
			slog.String("method", c.Request.Method),
			slog.String("path", loggedPath(c.Request.URL.Path)), // share tokens redacted (shares.go)
			slog.Int("status", status),
			slog.Float64("latency_ms", float64(time.Since(start).Microseconds())/1000),
			slog.Int("bytes", c.Writer.Size()),
			slog.String("client_ip", info.clientIP))
	}
}

// limitBody answers 413 for bodies over max bytes: at once when the
// Content-Length says so, else when a handler reads past the limit.
func limitBody(max int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > max {
			writeError(c, newAPIError(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "body",
				fmt.Sprintf("must be at most %d bytes", max)))
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, max)
		c.Next()
	}
}

// mediaTypeCase lower-cases the media type of Content-Type, which RFC 9110
// makes case-insensitive (huma looks its decoders up case-sensitively), so
// APPLICATION/JSON is JSON. A value that does not parse is left for huma to
// refuse with a 415.
func mediaTypeCase() gin.HandlerFunc {
	return func(c *gin.Context) {
		if ct := c.GetHeader("Content-Type"); ct != "" {
			if mt, params, err := mime.ParseMediaType(ct); err == nil {
				c.Request.Header.Set("Content-Type", mime.FormatMediaType(mt, params))
			}
		}
		c.Next()
	}
}

// clientIPFrom returns the client address edge recorded.
func clientIPFrom(ctx context.Context) string {
	if info, ok := ctx.Value(requestInfoKey).(*requestInfo); ok {
		return info.clientIP
	}
	return ""
}
