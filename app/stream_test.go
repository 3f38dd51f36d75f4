package app

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/database"
	"github.com/dovvydive/backend/database/dbtest"
	"github.com/dovvydive/backend/handlers"
	"github.com/dovvydive/backend/knowledge/embedding"
	"github.com/dovvydive/backend/planner"
)

// slowPlanner emits one piece, then waits until released.
type slowPlanner struct{ release chan struct{} }

func (p slowPlanner) Plan(ctx context.Context, _ planner.Turn, emit func(string) error) (planner.Reply, error) {
	if err := emit("First piece. "); err != nil {
		return planner.Reply{}, err
	}
	select {
	case <-p.release:
	case <-ctx.Done():
		return planner.Reply{}, ctx.Err()
	}
	_ = emit("Second piece.")
	return planner.Reply{Content: "First piece. Second piece.", Model: "slow"}, nil
}

// The gzip wrapper serve puts around the router must pass each event
// through as it is written: the first piece reaches the client while the
// generator is still working.
func TestCompress_StreamsEventsAsTheyAreWritten(t *testing.T) {
	t.Parallel()
	db, err := database.Open(context.Background(), dbtest.Config(dbtest.Migrated(t)), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	p := slowPlanner{release: make(chan struct{})}
	services, err := newServices(testServicesConfig(), db, embedding.Hash{}, p, nil)
	require.NoError(t, err)
	router, err := handlers.NewRouter(handlers.RouterConfig{Log: slog.New(slog.DiscardHandler), RequestTimeout: 30 * time.Second,
		MaxBodyBytes: 1 << 20, SessionSecret: []byte(strings.Repeat("s", 32))}, services)
	require.NoError(t, err)
	h, err := compress(router)
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	post := func(path, token, body string, header ...string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept-Encoding", "gzip")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		res, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
		require.NoError(t, err)
		return res
	}
	readData := func(res *http.Response) string {
		defer res.Body.Close()
		var out struct{ Data map[string]any }
		require.NoError(t, jsonDecode(res, &out))
		id, _ := out.Data["id"].(string)
		if tok, ok := out.Data["token"].(string); ok {
			return tok
		}
		return id
	}
	token := readData(post("/api/v1/sessions", "", `{}`))
	conv := readData(post("/api/v1/conversations", token, `{}`))

	res := post("/api/v1/conversations/"+conv+"/messages", token, `{"content":"hello"}`, "Accept", "text/event-stream")
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Empty(t, res.Header.Get("Content-Encoding"))
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	select {
	case line := <-lines:
		assert.Equal(t, "event: delta", line)
	case <-time.After(5 * time.Second):
		t.Fatal("the first event did not arrive while generation was still running: something buffers the stream")
	}
	close(p.release)
	var last string
	for line := range lines {
		if strings.HasPrefix(line, "event: ") {
			last = line
		}
	}
	assert.Equal(t, "event: done", last)
}

func jsonDecode(res *http.Response, v any) error { return json.NewDecoder(res.Body).Decode(v) }
