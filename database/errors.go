package database

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
)

// Named errors the rest of the program maps to behaviour (HTTP status, exit
// codes). Driver errors are translated to these here and nowhere else.
var (
	// ErrNotFound means the requested row does not exist.
	ErrNotFound = errors.New("not found")
	// ErrUnavailable means the database cannot answer now: not yet connected,
	// down, overloaded, or too slow for the caller's deadline.
	ErrUnavailable = errors.New("database unavailable")
	// ErrPgvectorMissing means the server has no pgvector to create.
	ErrPgvectorMissing = errors.New("pgvector is not installed on this server")
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

func (e *QuotaError) Error() string {
	return fmt.Sprintf("message quota of %d per %s exceeded; retry in %s", e.Limit, e.Window, e.RetryAfter)
}

// Is makes errors.Is(err, ErrQuotaExceeded) true.
func (e *QuotaError) Is(target error) bool { return target == ErrQuotaExceeded }

// CreationLimitError rejects a new guest session: the client has created
// Limit sessions in the rolling window.
type CreationLimitError struct {
	Limit      int
	Window     time.Duration
	RetryAfter time.Duration
}

func (e *CreationLimitError) Error() string {
	return fmt.Sprintf("session creation limit of %d per %s reached; retry in %s", e.Limit, e.Window, e.RetryAfter)
}

// Is makes errors.Is(err, ErrQuotaExceeded) true.
func (e *CreationLimitError) Is(target error) bool { return target == ErrQuotaExceeded }

// Seconds rounds d up to whole seconds, at least 1: the unit of Retry-After
// and RateLimit-Reset, where 0 would invite an immediate retry.
func Seconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}

// IsPermanent reports whether a connection error will not go away by waiting:
// bad credentials, an unknown database or role, TLS verification failures and
// malformed connection strings. Everything else (refused, reset, timeouts,
// admin shutdown, too many connections, a Neon compute waking up) is transient.
//
// Neon's proxy reports its own errors with SQLSTATE XX000, authentication
// failures included, and PgBouncer uses 08P01, so messages are classified too.
func IsPermanent(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var parseErr *pgconn.ParseConfigError
	if errors.As(err, &parseErr) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "28P01", "28000", "3D000", "42704":
			return true
		}
		if permanentMessage(pgErr.Message) {
			return true
		}
		if strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "53") ||
			strings.HasPrefix(pgErr.Code, "57P") || pgErr.Code == "XX000" {
			return false
		}
	}
	var (
		unknownAuth x509.UnknownAuthorityError
		hostErr     x509.HostnameError
		certInvalid x509.CertificateInvalidError
		verifyErr   *tls.CertificateVerificationError
	)
	if errors.As(err, &unknownAuth) || errors.As(err, &hostErr) || errors.As(err, &certInvalid) || errors.As(err, &verifyErr) {
		return true
	}
	return permanentMessage(err.Error())
}

var permanentPhrases = []string{
	"password authentication failed",
	"authentication failed",
	"no pg_hba.conf entry",
	"does not exist", // database "x" / role "x" does not exist
	"server refused tls connection",
	"server does not support tls",
	"certificate signed by unknown authority",
	"certificate is not valid",
	"failed to verify certificate",
	"channel binding",
	"cannot parse",
	"invalid sslmode",
	"endpoint is disabled",
	"project not found",
	"endpoint not found",
}

func permanentMessage(msg string) bool {
	msg = strings.ToLower(msg)
	for _, p := range permanentPhrases {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// classify maps a query error to the named errors above. Errors it does not
// recognise pass through unchanged and become 500s upstream.
func classify(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return ErrNotFound
	case errors.Is(err, ErrUnavailable), errors.Is(err, ErrNotFound), errors.Is(err, ErrSessionExpired),
		errors.Is(err, ErrInvalid), errors.Is(err, ErrQuotaExceeded),
		errors.Is(err, ErrIdempotencyInFlight), errors.Is(err, ErrIdempotencyMismatch):
		return err
	case isConnectionError(err):
		return errors.Join(ErrUnavailable, err)
	}
	return err
}

// isConnectionError reports failures of the connection rather than of the
// statement: the caller may succeed later on another connection.
func isConnectionError(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		// database/sql rolls a transaction back when its context ends and then
		// reports the COMMIT as ErrTxDone; the connection itself as these.
		errors.Is(err, sql.ErrTxDone) || errors.Is(err, sql.ErrConnDone) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		c := pgErr.Code
		return strings.HasPrefix(c, "08") || strings.HasPrefix(c, "53") || strings.HasPrefix(c, "57") ||
			c == "40001" || c == "40P01" || (c == "XX000" && !permanentMessage(pgErr.Message))
	}
	return pgconn.SafeToRetry(err) || pgconn.Timeout(err)
}

// isConnectionLost reports that the connection broke under a statement
// (the server closed it or was terminated) rather than that the server is
// slow or the caller gave up: the case where another connection may work.
func isConnectionLost(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || pgconn.Timeout(err) {
		return false
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) || errors.Is(err, driver.ErrBadConn) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "57P01", "57P02", "57P03", "08000", "08003", "08006":
			return true
		}
	}
	return strings.Contains(err.Error(), "conn closed")
}
