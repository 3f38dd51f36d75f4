package models

import (
	"errors"
	"fmt"
	"time"
)

// Named errors of the domain, which the rest of the program maps to
// behaviour (HTTP status, exit codes): database translates driver errors to
// these (and nowhere else), services return them, and handlers map them to
// answers in one place (handlers/errors.go).
var (
	// ErrNotFound means the requested resource does not exist (or belongs to
	// another session, which is told apart from nothing).
	ErrNotFound = errors.New("not found")
	// ErrUnavailable means the database cannot answer now: not yet connected,
	// down, overloaded, or too slow for the caller's deadline.
	ErrUnavailable = errors.New("database unavailable")
	// ErrInvalid means an argument the database would refuse (too long, NUL
	// bytes, a malformed cursor); the wrapping error names the field.
	ErrInvalid = errors.New("invalid input")
	// ErrSessionExpired means the guest session existed but has expired
	// (idle too long or past its absolute cap) and is not yet purged.
	ErrSessionExpired = errors.New("session expired")
	// ErrQuotaExceeded is matched by *QuotaError and *CreationLimitError.
	ErrQuotaExceeded = errors.New("quota exceeded")
	// ErrIdempotencyInFlight means a request with the same Idempotency-Key
	// is still being processed (HTTP 409).
	ErrIdempotencyInFlight = errors.New("a request with this idempotency key is still in progress")
	// ErrIdempotencyMismatch means an Idempotency-Key was reused for a
	// different request (HTTP 422).
	ErrIdempotencyMismatch = errors.New("idempotency key reused with a different request")
)

// QuotaError rejects a user message: the session has sent Limit messages in
// the rolling window. The message was not stored and does not count.
type QuotaError struct {
	Limit      int
	Window     time.Duration
	RetryAfter time.Duration // until the oldest counted message leaves the window
}

// CreationLimitError rejects a new guest session: the client has created
// Limit sessions in the rolling window.
type CreationLimitError struct {
	Limit      int
	Window     time.Duration
	RetryAfter time.Duration
}

// Seconds rounds d up to whole seconds, at least 1: the unit of Retry-After
// and RateLimit-Reset, where 0 would invite an immediate retry.
func Seconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("message quota of %d per %s exceeded; retry in %s", e.Limit, e.Window, e.RetryAfter)
}

// Is makes errors.Is(err, ErrQuotaExceeded) true.
func (e *QuotaError) Is(target error) bool { return target == ErrQuotaExceeded }

func (e *CreationLimitError) Error() string {
	return fmt.Sprintf("session creation limit of %d per %s reached; retry in %s", e.Limit, e.Window, e.RetryAfter)
}

// Is makes errors.Is(err, ErrQuotaExceeded) true.
func (e *CreationLimitError) Is(target error) bool { return target == ErrQuotaExceeded }
