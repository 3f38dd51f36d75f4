// Package handlers is the JSON API: one struct per resource holding the narrow
// store interface it needs, middleware, and the route table in routes.go.
package handlers

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/dovvydive/backend/knowledge"
	"github.com/dovvydive/backend/models"
	"github.com/dovvydive/backend/planner"
	"github.com/gin-gonic/gin"
)

// Error codes: the one vocabulary of the "code" field. The OpenAPI document
// lists them as the enum of ErrorDetail.code.
const (
	CodeInvalidInput         = "invalid_input" // 400: a parameter, header or body field is wrong
	CodeUnauthorized         = "unauthorized"
	CodeOriginNotAllowed     = "origin_not_allowed"
	CodeNotFound             = "not_found"
	CodeMethodNotAllowed     = "method_not_allowed"
	CodeRequestTimeout       = "request_timeout"
	CodeBodyTooLarge         = "body_too_large"
	CodeUnsupportedMediaType = "unsupported_media_type"
	CodeInternal             = "internal"
	CodeEmbeddingFailed      = "embedding_failed"
	CodeDatabaseUnavailable  = "database_unavailable"
	CodeEmbeddingUnavailable = "embedding_unavailable"
	// The planner's routes.
	CodeSessionExpired       = "session_expired"       // 401: the token was valid but its session expired or was purged
	CodeQuotaExceeded        = "quota_exceeded"        // 429: the session's message quota for the rolling hour is used up
	CodeTooManySessions      = "too_many_sessions"     // 429: this client created too many sessions in the last hour
	CodeIdempotencyConflict  = "idempotency_conflict"  // 409: a request with this Idempotency-Key is still running
	CodeIdempotencyMismatch  = "idempotency_mismatch"  // 422: the Idempotency-Key was used for a different request
	CodeGeneratorUnavailable = "generator_unavailable" // 503: the answer's generator (e.g. gemini) failed
	CodeStarting             = "starting"              // 503: the process has just started and is not serving yet
)

var errorCodes = []string{CodeInvalidInput, CodeUnauthorized, CodeOriginNotAllowed, CodeNotFound, CodeMethodNotAllowed,
	CodeRequestTimeout, CodeBodyTooLarge, CodeUnsupportedMediaType, CodeInternal, CodeEmbeddingFailed,
	CodeDatabaseUnavailable, CodeEmbeddingUnavailable, CodeSessionExpired, CodeQuotaExceeded, CodeTooManySessions,
	CodeIdempotencyConflict, CodeIdempotencyMismatch, CodeGeneratorUnavailable, CodeStarting}

// ErrorDetail is the inside of every error body.
type ErrorDetail struct {
	Code    string `json:"code" doc:"Stable, machine-readable error code."`
	Message string `json:"message" doc:"What is wrong, in words; starts with the field when there is one."`
	Field   string `json:"field,omitempty" doc:"JSON path of the body field (filters.maxDepth), or the name of the query parameter, path parameter or header."`
}

// APIError is the one error shape every response uses:
// {"error": {"code": "...", "message": "...", "field": "..."}}. It is what
// huma writes for its own validation errors too (see humaError).
type APIError struct {
	status int
	header http.Header // extra response headers (WWW-Authenticate, Retry-After, RateLimit-*)
	Detail ErrorDetail `json:"error"`
}

// Schema documents the error body once, as the component Error (with the
// code vocabulary as an enum), and refers to it: every error response and
// the stream's error event then share one generated type.
func (*APIError) Schema(r huma.Registry) *huma.Schema {
	const name = "Error"
	if r.Map()[name] == nil {
		detail := r.Schema(errorDetailType, true, "ErrorDetail")
		if s := r.SchemaFromRef(detail.Ref); s != nil && s.Properties["code"] != nil {
			s.Properties["code"].Enum = make([]any, len(errorCodes))
			for i, c := range errorCodes {
				s.Properties["code"].Enum[i] = c
			}
		}
		r.Map()[name] = &huma.Schema{Type: huma.TypeObject, Required: []string{"error"}, AdditionalProperties: false,
			Description: "The API's one error body.", Properties: map[string]*huma.Schema{"error": detail}}
	}
	return &huma.Schema{Ref: "#/components/schemas/" + name}
}

func (e *APIError) Error() string { return e.Detail.Message }

// GetStatus is the HTTP status huma answers with.
func (e *APIError) GetStatus() int { return e.status }

// GetHeaders adds Retry-After to every 503 (the outage is expected to
// pass) unless the error sets its own, and the error's own headers.
func (e *APIError) GetHeaders() http.Header {
	h := http.Header{}
	if e.status == http.StatusServiceUnavailable {
		h.Set("Retry-After", "1")
	}
	for k, v := range e.header {
		h[k] = v
	}
	return h
}

// withHeader sets a response header on e and returns e.
func (e *APIError) withHeader(name, value string) *APIError {
	if e.header == nil {
		e.header = http.Header{}
	}
	e.header.Set(name, value)
	return e
}

func newAPIError(status int, code, field, message string) *APIError {
	if field != "" {
		message = field + ": " + message
	}
	return &APIError{status: status, Detail: ErrorDetail{Code: code, Message: message, Field: field}}
}

// invalid is the 400 for any bad parameter, header or body field.
func invalid(field, why string) *APIError {
	return newAPIError(http.StatusBadRequest, CodeInvalidInput, field, why)
}

func internalError() *APIError {
	return newAPIError(http.StatusInternalServerError, CodeInternal, "", "internal error")
}

// writeError sends e from gin middleware (routes huma does not own: 404,
// 405, CORS, panics) and stops the handler chain.
func writeError(c *gin.Context, e *APIError) {
	for k, v := range e.GetHeaders() {
		c.Writer.Header()[k] = v
	}
	c.AbortWithStatusJSON(e.status, e)
}

// statusClientClosedRequest is nginx's 499: the client closed its connection
// before the answer was ready. It is never sent, since nobody is listening;
// it is what such a request is logged and counted as, so that clients
// hanging up (wrk at the end of a run, a user closing the tab) are not
// mistaken for the database failing.
const statusClientClosedRequest = 499

// clientGone reports that the request's client went away: net/http cancels
// a request's context when its connection closes. The request deadline edge
// sets ends the context with DeadlineExceeded instead, which stays a 503.
func clientGone(ctx context.Context) bool {
	return errors.Is(ctx.Err(), context.Canceled)
}

// clientClosed is the answer to a request whose client went away: status
// 499 and no body. Its JSON encoding fails on purpose, before a byte is
// written; huma then sees the request's context cancelled, writes nothing
// and keeps the 499 (huma's transformAndWrite).
type clientClosed struct{}

func (clientClosed) Error() string                { return "client closed the request" }
func (clientClosed) GetStatus() int               { return statusClientClosedRequest }
func (clientClosed) MarshalJSON() ([]byte, error) { return nil, errNoBody }

var errNoBody = errors.New("no body: the client is gone")

// errorFor is the one mapping from the errors of services and stores
// (models' named errors, the planner's and the knowledge search's) to the
// API's answers; every operation's error passes through it (see register).
// An *APIError, or any answer huma already knows how to write, is kept.
// Driver and upstream text goes to the log only, never into the body.
//
// The order matters: refusals of the request itself come first, then a
// client that went away (whatever failed, failed because it left: nothing
// to warn an operator about), then the services' failures.
func errorFor(ctx context.Context, err error) error {
	var status huma.StatusError
	if errors.As(err, &status) {
		return status
	}
	var (
		quota   *models.QuotaError
		capped  *models.CreationLimitError
		input   *knowledge.InputError
		up      *planner.ErrUpstream
		apiErr  *APIError
		matched = true
	)
	switch {
	case errors.As(err, &quota):
		apiErr = newAPIError(http.StatusTooManyRequests, CodeQuotaExceeded, "",
			"this session has sent its "+strconv.Itoa(quota.Limit)+" messages for the hour; retry after Retry-After seconds").
			withHeader("Retry-After", strconv.Itoa(models.Seconds(quota.RetryAfter)))
		withHeaders(apiErr, rateLimitHeaders(models.RateLimit{Limit: quota.Limit, Reset: quota.RetryAfter}))
	case errors.As(err, &capped):
		apiErr = newAPIError(http.StatusTooManyRequests, CodeTooManySessions, "",
			"this client has started too many sessions in the last hour; reuse one or retry later").
			withHeader("Retry-After", strconv.Itoa(models.Seconds(capped.RetryAfter)))
	case errors.Is(err, models.ErrIdempotencyInFlight):
		apiErr = newAPIError(http.StatusConflict, CodeIdempotencyConflict, "Idempotency-Key",
			"a request with this key is still being answered; retry shortly").withHeader("Retry-After", "1")
	case errors.Is(err, models.ErrIdempotencyMismatch):
		apiErr = newAPIError(http.StatusUnprocessableEntity, CodeIdempotencyMismatch, "Idempotency-Key",
			"was already used for a different message; use a new key")
	case errors.Is(err, models.ErrSessionExpired):
		apiErr = sessionExpired()
	case errors.As(err, &input):
		apiErr = invalid(input.Field, input.Message)
	default:
		matched = false
	}
	if matched {
		return apiErr
	}
	if clientGone(ctx) {
		return clientClosed{}
	}
	switch {
	case errors.As(err, &up) && up.Name == "embedding" && !knowledge.IsEmbeddingOutage(up.Err):
		// Like the 503s below: the upstream's name only, never its text,
		// which may quote the request.
		loggerFrom(ctx).Error("embedding failed unusably", "upstream", up.Name)
		return newAPIError(http.StatusBadGateway, CodeEmbeddingFailed, "",
			"the message could not be embedded; it is saved, but retrying it is unlikely to help")
	case up != nil:
		// Upstream names (gemini, embedding) are told to the client; their
		// error text, which may quote the request, goes to the log at warn
		// level only.
		loggerFrom(ctx).Warn("planner: upstream failed", "upstream", up.Name)
		code := CodeGeneratorUnavailable
		if up.Name == "embedding" {
			code = CodeEmbeddingUnavailable
		}
		e := newAPIError(http.StatusServiceUnavailable, code, "", up.Name+" is not available right now; your message is saved, retry shortly (with the same Idempotency-Key to avoid a second copy)")
		if up.RetryAfter > 0 {
			e.withHeader("Retry-After", strconv.Itoa(models.Seconds(up.RetryAfter)))
		}
		return e
	case errors.Is(err, planner.ErrAnswerTimeout):
		loggerFrom(ctx).Warn("planner: generation exceeded the request timeout")
		return newAPIError(http.StatusServiceUnavailable, CodeGeneratorUnavailable, "",
			"the answer took longer than the request timeout; your message is saved, retry shortly")
	case errors.Is(err, knowledge.ErrEmbeddingUnavailable):
		loggerFrom(ctx).Warn("embedding unavailable", "error", err.Error())
		return newAPIError(http.StatusServiceUnavailable, CodeEmbeddingUnavailable, "",
			"the embedding service is not available right now; retry shortly")
	case errors.Is(err, knowledge.ErrEmbeddingFailed):
		loggerFrom(ctx).Error("embedding failed", "error", err.Error())
		return newAPIError(http.StatusBadGateway, CodeEmbeddingFailed, "", "the query could not be embedded")
	}
	// Whatever the driver reports, a failure after the request's deadline is
	// the deadline's doing: the database was too slow, so 503, never 500.
	if errors.Is(ctx.Err(), context.DeadlineExceeded) && !errors.Is(err, models.ErrNotFound) {
		err = errors.Join(models.ErrUnavailable, err)
	}
	switch {
	case errors.Is(err, models.ErrNotFound):
		// Another session's resource is answered exactly like a missing one.
		return newAPIError(http.StatusNotFound, CodeNotFound, "", "no such resource")
	case errors.Is(err, models.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		loggerFrom(ctx).Warn("database unavailable", "error", err.Error())
		return newAPIError(http.StatusServiceUnavailable, CodeDatabaseUnavailable, "",
			"the database is not available right now; retry shortly")
	case errors.Is(err, context.Canceled):
		// Cancelled while the request's context is live (no such path is
		// known): answered as it always was.
		return newAPIError(statusClientClosedRequest, CodeRequestTimeout, "", "client closed the request")
	default:
		// models.ErrInvalid no handler named a field for (see inField) is a
		// bug here too.
		loggerFrom(ctx).Error("query failed", "error", err.Error())
		return internalError()
	}
}

// inField answers a store's models.ErrInvalid as the 400 of the request
// field it is about, which only the handler knows; other errors are left
// to errorFor.
func inField(err error, field, why string) error {
	if errors.Is(err, models.ErrInvalid) {
		return invalid(field, why)
	}
	return err
}

// withHeaders adds h to err's response headers when err is an *APIError.
func withHeaders(err error, h http.Header) error {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		for k, v := range h {
			if apiErr.header == nil {
				apiErr.header = http.Header{}
			}
			apiErr.header[k] = v
		}
	}
	return err
}

// humaError replaces huma.NewError: huma's own errors (validation, body
// parsing, content type, body size) come out in the API's one error shape,
// with the field named by its JSON path and huma's 422 turned into the 400
// this API has always used for bad input.
func humaError(status int, msg string, errs ...error) huma.StatusError {
	if status == 0 { // huma asks for an example of the error type
		return &APIError{}
	}
	var detail *huma.ErrorDetail
	for _, err := range errs {
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			status = http.StatusRequestEntityTooLarge
		case detail == nil:
			var d huma.ErrorDetailer
			if errors.As(err, &d) {
				detail = d.ErrorDetail()
			}
		}
	}
	// An operation that validates its own body (search, see searchBody)
	// learns of an unknown content type only when huma parses the body,
	// which reports it as a body error: it is still a 415.
	if detail != nil && strings.HasPrefix(detail.Message, huma.ErrUnknownContentType.Error()) {
		status = http.StatusUnsupportedMediaType
	}
	switch status {
	case http.StatusUnprocessableEntity, http.StatusBadRequest:
		if detail == nil {
			if msg == "request body is required" {
				return invalid("body", "required")
			}
			return invalid("body", "must be a JSON object")
		}
		field, why := fieldOf(detail)
		return invalid(field, why)
	case http.StatusRequestEntityTooLarge:
		return newAPIError(status, CodeBodyTooLarge, "body", "too large")
	case http.StatusUnsupportedMediaType:
		return newAPIError(status, CodeUnsupportedMediaType, "Content-Type", "must be application/json")
	case http.StatusRequestTimeout:
		return newAPIError(status, CodeRequestTimeout, "body", "not received within the request timeout")
	case http.StatusNotFound:
		return newAPIError(status, CodeNotFound, "", "no such resource")
	case http.StatusUnauthorized:
		return newAPIError(status, CodeUnauthorized, "", "unauthorized")
	}
	// Anything else huma raises (a response it could not write) is a bug here.
	slog.Error("api: unexpected error", "status", status, "message", msg)
	return internalError()
}

// bodyPath matches the "body.filters.maxDepth: why" messages of decodeJSON.
var bodyPath = regexp.MustCompile(`^body\.([^:]+): (.+)$`)

// fieldOf turns huma's location ("body.filters.maxDepth", "query.limit",
// "path.id", "header.Authorization") into the field clients see, and its
// message into words.
func fieldOf(d *huma.ErrorDetail) (field, why string) {
	loc, why := d.Location, d.Message
	if m := bodyPath.FindStringSubmatch(why); loc == "body" && m != nil {
		return m[1], m[2]
	}
	if _, rest, ok := strings.Cut(loc, "."); ok {
		loc = rest // drop "body", "query", "path" or "header"
	}
	switch {
	case why == "unknown query parameter":
		why = "unknown parameter"
	case why == "invalid integer":
		why = "must be an integer"
	case strings.HasPrefix(why, "required property "):
		// Reported on the object that lacks it: name the property itself.
		name := strings.TrimSuffix(strings.TrimPrefix(why, "required property "), " is missing")
		if loc == "body" || loc == "" {
			loc = name
		} else {
			loc += "." + name
		}
		why = "required"
	}
	return loc, why
}

type ctxKey int

const requestInfoKey ctxKey = iota

// requestInfo is what edge puts in a request's context.
type requestInfo struct {
	base     *slog.Logger
	id       string
	clientIP string
}

// loggerFrom returns the request's logger, carrying its request id.
func loggerFrom(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(requestInfoKey).(*requestInfo); ok {
		return l.base.With("request_id", l.id)
	}
	return slog.Default()
}
