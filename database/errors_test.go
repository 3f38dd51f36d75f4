package database

import (
	"context"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/dovvydive/backend/models"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
)

func TestIsPermanent_ClassifiesConnectionErrors(t *testing.T) {
	pg := func(code, msg string) error { return &pgconn.PgError{Code: code, Message: msg} }
	cases := []struct {
		name      string
		err       error
		permanent bool
	}{
		{"wrong password", pg("28P01", `password authentication failed for user "app"`), true},
		{"no pg_hba entry", pg("28000", `no pg_hba.conf entry for host "10.0.0.1"`), true},
		{"unknown database", pg("3D000", `database "nope" does not exist`), true},
		{"unknown role", pg("28000", `role "nobody" does not exist`), true},
		{"Neon proxy auth failure arrives as XX000", pg("XX000", "password authentication failed for user 'neondb_owner'"), true},
		{"Neon unknown endpoint", pg("XX000", "The requested endpoint could not be found, or you don't have access to it. endpoint not found"), true},
		{"TLS unknown authority", fmt.Errorf("tls: %w", x509.UnknownAuthorityError{}), true},
		{"TLS wrong host", fmt.Errorf("tls: %w", x509.HostnameError{Host: "db"}), true},
		{"server has no TLS", errors.New("tls error: server refused TLS connection"), true},
		{"malformed dsn", &pgconn.ParseConfigError{}, true},

		{"connection refused", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, false},
		{"connection reset", fmt.Errorf("read: %w", syscall.ECONNRESET), false},
		{"eof", io.ErrUnexpectedEOF, false},
		{"timeout", context.DeadlineExceeded, false},
		{"admin shutdown", pg("57P01", "terminating connection due to administrator command"), false},
		{"starting up", pg("57P03", "the database system is starting up"), false},
		{"too many connections", pg("53300", "sorry, too many clients already"), false},
		{"pgbouncer login failing", pg("08P01", "server login has been failing, try again later (server_login_retry)"), false},
		{"Neon compute waking", pg("XX000", "Couldn't connect to compute node"), false},
		{"Neon control plane", pg("XX000", "Control plane request failed"), false},
		{"Neon endpoint busy", pg("XX000", "Too many connections to this endpoint"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.permanent, IsPermanent(tc.err))
			assert.Equal(t, tc.permanent, IsPermanent(fmt.Errorf("connect: %w", tc.err)), "wrapped")
		})
	}
}

func TestClassify_MapsConnectionFailuresToUnavailable(t *testing.T) {
	for _, err := range []error{
		context.DeadlineExceeded,
		&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED},
		&pgconn.PgError{Code: "57P01"},
		&pgconn.PgError{Code: "53300"},
		fmt.Errorf("commit: %w", sql.ErrTxDone),
	} {
		assert.ErrorIs(t, classify(err), models.ErrUnavailable, "%v", err)
	}
	assert.NotErrorIs(t, classify(&pgconn.PgError{Code: "42P01"}), models.ErrUnavailable, "a missing table is a bug, not an outage")
}
