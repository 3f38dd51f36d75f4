package database_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/database"
	"github.com/dovvydive/backend/database/dbtest"
	"github.com/dovvydive/backend/models"
)

// countingProxy forwards TCP to target and counts the client's writes that
// reach it: each is one message batch the client sent and then waited on,
// so the count measures round trips (on loopback a batch arrives in one read).
type countingProxy struct {
	addr   string
	writes atomic.Int64
}

func startCountingProxy(t *testing.T, target string) *countingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	p := &countingProxy{addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			go func() { io.Copy(c, s); c.Close() }()
			go func() {
				buf := make([]byte, 64<<10)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						p.writes.Add(1)
						if _, werr := s.Write(buf[:n]); werr != nil {
							break
						}
					}
					if err != nil {
						break
					}
				}
				s.Close()
			}()
		}
	}()
	return p
}

func TestQuota_AMessageAndItsReplyTakeAtMostSixRoundTrips(t *testing.T) {
	t.Parallel()
	if dbtest.Provider() == database.ProviderNeon {
		t.Skip("measured on the plain server: TLS records do not map to client batches")
	}
	dsn := dbtest.Migrated(t)
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	proxy := startCountingProxy(t, u.Host)
	u.Host = proxy.addr
	db := openPool(t, u.String(), 1)
	ctx := context.Background()
	session := newSession(t, db)
	conv := newConversation(t, db, session)

	measure := func(f func() error) int64 {
		t.Helper()
		before := proxy.writes.Load()
		require.NoError(t, f())
		return proxy.writes.Load() - before
	}
	// The second turn is measured: in the default exec mode (cache_statement)
	// a statement's first use on a connection costs one more round trip to
	// prepare it; behind a pooler (exec mode) there is none.
	var auth, user, reply int64
	for _, key := range []string{"k1", "k2"} {
		auth = measure(func() error { _, err := db.AuthenticateSession(ctx, session, time.Hour); return err })
		user = measure(func() error {
			_, err := db.AddUserMessage(ctx, session, conv, "Hammerheads in April?", hourly, &models.IdempotencyRequest{Key: key, Fingerprint: "f"})
			return err
		})
		reply = measure(func() error {
			_, err := db.AddAssistantMessage(ctx, session, conv, models.AssistantReply{Content: "Layang-Layang.", IdempotencyKey: key})
			return err
		})
	}
	t.Logf("round trips: authenticate %d, user message %d, reply %d", auth, user, reply)
	assert.LessOrEqual(t, auth+user+reply, int64(6))

	rejected := measure(func() error {
		_, err := db.AddUserMessage(ctx, session, conv, "again", models.Quota{Limit: 1, Window: time.Hour}, nil)
		if errors.Is(err, models.ErrQuotaExceeded) {
			return nil
		}
		return err
	})
	t.Logf("round trips: rejected message %d", rejected)
}
