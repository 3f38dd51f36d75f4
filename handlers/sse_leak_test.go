package handlers_test

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// Not parallel: goleak compares every goroutine of the process, so this
// runs while no other test of the package does.
func TestMessages_ClientDisconnectCancelsGenerationWithoutLeakingGoroutines(t *testing.T) {
	db := seededDB(t)
	stub := &stubPlanner{block: true, started: make(chan struct{}), ended: make(chan error, 1)}
	srv := newServer(t, db, func(c *serverConfig) { c.Planner = stub; c.RequestTimeout = time.Minute })
	token := guest(t, srv)
	id := newConversation(t, srv, token)
	ignore := goleak.IgnoreCurrent()

	ctx, cancel := context.WithCancel(context.Background())
	client := &http.Client{Transport: &http.Transport{}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/api/v1/conversations/"+id+"/messages",
		strings.NewReader(messageJSON("stream and hang up")))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "text/event-stream")
	res, err := client.Do(req)
	require.NoError(t, err)
	line, err := bufio.NewReader(res.Body).ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "event: delta\n", line, "the first piece arrives before generation ends")

	cancel() // the client goes away mid-answer
	res.Body.Close()
	select {
	case err := <-stub.ended:
		assert.ErrorIs(t, err, context.Canceled, "generation is cancelled")
	case <-time.After(5 * time.Second):
		t.Fatal("generation still running 5 s after the client left")
	}
	client.CloseIdleConnections()
	// The server's handler goroutine returns once the planner has; the
	// Idempotency-less message stays, no reply is stored.
	assert.Eventually(t, func() bool {
		return countRows(t, db, `SELECT count(*) FROM messages WHERE conversation_id = $1`, id) == 1
	}, 5*time.Second, 50*time.Millisecond)
	goleak.VerifyNone(t, ignore)
}
