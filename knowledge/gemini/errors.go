package gemini

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// APIError is an error answer from the Gemini API: a non-2xx response, or an
// error event inside a stream.
type APIError struct {
	// Code is the HTTP status code; for an error inside a stream (whose
	// response was 200) it is the code Google's error body names.
	Code int
	// Status is Google's canonical status (e.g. RESOURCE_EXHAUSTED), or the
	// HTTP status text when the body did not name one.
	Status string
	// Message is Google's message, or the start of a body that was not
	// Google's JSON. It never contains the API key.
	Message string
	// RetryAfter is the delay the response's Retry-After header asked for, 0
	// when it named none. The SDK's errors lost the headers; ours keep it.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("gemini: HTTP %d %s", e.Code, e.Status)
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// errorBody is Google's error JSON: {"error":{"code","message","status"}}.
type errorBody struct {
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
	} `json:"error"`
}

// apiError reads a non-2xx response into an *APIError.
func (c *Client) apiError(resp *http.Response) *APIError {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
	e := &APIError{Code: resp.StatusCode, RetryAfter: ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	var body errorBody
	if json.Unmarshal(data, &body) == nil && body.Error != nil {
		e.Status, e.Message = body.Error.Status, body.Error.Message
	} else {
		// A proxy's page or plain text: keep its start, for the logs.
		// Redacted before the cut, so no part of a key survives it.
		e.Message = truncate(c.redact(strings.TrimSpace(string(data))), maxMessageBytes)
	}
	if e.Status == "" {
		e.Status = http.StatusText(resp.StatusCode)
	}
	e.Message = c.redact(e.Message)
	return e
}

// streamError returns the *APIError of an event that carries Google's error
// JSON, or nil.
func (c *Client) streamError(body errorBody) *APIError {
	if body.Error == nil {
		return nil
	}
	e := &APIError{Code: body.Error.Code, Status: body.Error.Status, Message: c.redact(body.Error.Message)}
	if e.Status == "" {
		e.Status = http.StatusText(e.Code)
	}
	return e
}

// redact removes the API key from text that came from the server, in case
// it was echoed back.
func (c *Client) redact(s string) string {
	return strings.ReplaceAll(s, c.apiKey, "[redacted]")
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// ParseRetryAfter reads a Retry-After value, delay-seconds or an HTTP date,
// capped at an hour; 0 when it is empty or unreadable.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.Atoi(v); err == nil {
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now).Round(time.Second)
	}
	return min(max(d, 0), time.Hour)
}
