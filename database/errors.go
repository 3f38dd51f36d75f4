package database

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/dovvydive/backend/models"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
)

// ErrPgvectorMissing means the server has no pgvector to create.
var ErrPgvectorMissing = errors.New("pgvector is not installed on this server")

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
		return models.ErrNotFound
	case errors.Is(err, models.ErrUnavailable), errors.Is(err, models.ErrNotFound), errors.Is(err, models.ErrSessionExpired),
		errors.Is(err, models.ErrInvalid), errors.Is(err, models.ErrQuotaExceeded),
		errors.Is(err, models.ErrIdempotencyInFlight), errors.Is(err, models.ErrIdempotencyMismatch):
		return err
	case isConnectionError(err):
		return errors.Join(models.ErrUnavailable, err)
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
