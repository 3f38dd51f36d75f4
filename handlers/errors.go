// Package handlers is the JSON API: one struct per resource holding the narrow
// store interface it needs, middleware, and the route table in routes.go.
package handlers

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/dovvydive/backend/database"
)

// APIError is the one error shape every response uses:
// {"error": {"code": "...", "message": "...", "field": "..."}}.
type APIError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *APIError) Error() string { return e.Message }

func invalidParam(field, why string) *APIError {
	return &APIError{Status: http.StatusBadRequest, Code: "invalid_parameter", Field: field, Message: field + ": " + why}
}

// writeError sends e and stops the handler chain.
func writeError(c *gin.Context, e *APIError) {
	if e.Status == http.StatusServiceUnavailable {
		c.Header("Retry-After", "1")
	}
	c.AbortWithStatusJSON(e.Status, gin.H{"error": e})
}

// writeStoreError maps a database error to a response. Driver text goes to
// the log only, never into the body.
func writeStoreError(c *gin.Context, err error) {
	// Whatever the driver reports, a failure after the request's deadline is
	// the deadline's doing: the database was too slow, so 503, never 500.
	if errors.Is(c.Request.Context().Err(), context.DeadlineExceeded) && !errors.Is(err, database.ErrNotFound) {
		err = errors.Join(database.ErrUnavailable, err)
	}
	switch {
	case errors.Is(err, database.ErrNotFound):
		writeError(c, &APIError{Status: http.StatusNotFound, Code: "not_found", Message: "no such resource"})
	case errors.Is(err, database.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		logger(c).Warn("database unavailable", "error", err.Error())
		writeError(c, &APIError{Status: http.StatusServiceUnavailable, Code: "database_unavailable",
			Message: "the database is not available right now; retry shortly"})
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads this response.
		c.AbortWithStatus(499)
	default:
		logger(c).Error("query failed", "error", err.Error())
		writeError(c, &APIError{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"})
	}
}

// logger returns the request's logger, carrying its request id.
func logger(c *gin.Context) *slog.Logger {
	l := slog.Default()
	if base, ok := c.Get(baseLoggerKey); ok {
		l = base.(*slog.Logger)
	}
	if id := c.GetString(requestIDKey); id != "" {
		l = l.With("request_id", id)
	}
	return l
}
