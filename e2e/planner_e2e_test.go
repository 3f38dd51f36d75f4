package e2e

import (
	"bufio"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/database/dbtest"
)

func TestServe_TwoInstancesShareOneSessionsQuotaExactly(t *testing.T) {
	t.Parallel()
	dsn := dbtest.Migrated(t)
	twoInstancesShareOneQuota(t, func() map[string]string { return plannerEnv(dsn) }, dsn)
}

// Through the Neon replica: both instances on PgBouncer 1.24 in transaction
// mode, where only a row lock taken inside the transaction serialises the
// quota (session-level locks would not survive the pooler).
func TestNeon_TwoInstancesThroughThePoolerShareOneSessionsQuotaExactly(t *testing.T) {
	t.Parallel()
	neon := dbtest.Neon(t, true)
	env := func() map[string]string {
		e := plannerEnv("")
		delete(e, "DATABASE_URL")
		for k, v := range neonEnv(neon.PooledURL, neon.DirectURL) {
			e[k] = v
		}
		return e
	}
	twoInstancesShareOneQuota(t, env, neon.DirectURL)
}

// twoInstancesShareOneQuota posts 150 messages at once for one session over
// two serve processes and checks that exactly the hourly quota (100) is
// admitted and stored. dsn reads the result back.
func twoInstancesShareOneQuota(t *testing.T, env func() map[string]string, dsn string) {
	code, _, stderr := runCmd(t, env(), "seed")
	require.Zero(t, code, stderr)
	a := start(t, env(), "serve")
	b := start(t, env(), "serve")
	a.waitStatus(t, "/readyz", http.StatusOK, 30*time.Second)
	b.waitStatus(t, "/readyz", http.StatusOK, 30*time.Second)

	client := &http.Client{Timeout: 90 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 100}}
	status, _, raw := postJSON(t, client, a.url("/api/v1/sessions"), "", `{}`)
	require.Equal(t, http.StatusCreated, status, string(raw))
	var session struct{ Data struct{ Token string } }
	require.NoError(t, json.Unmarshal(raw, &session))
	token := session.Data.Token
	status, _, raw = postJSON(t, client, b.url("/api/v1/conversations"), token, `{"title":"e2e"}`)
	require.Equal(t, http.StatusCreated, status, string(raw))
	var conv struct{ Data struct{ ID string } }
	require.NoError(t, json.Unmarshal(raw, &conv))

	// 150 posts at once, alternating between the two processes.
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[int]int{}
	start := make(chan struct{})
	for i := range 150 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := a
			if i%2 == 1 {
				p = b
			}
			<-start
			status, h, raw := postJSON(t, client, p.url("/api/v1/conversations/"+conv.Data.ID+"/messages"), token,
				fmt.Sprintf(`{"content":"Turtles in Sabah in May, question %d?"}`, i))
			if status == http.StatusTooManyRequests && h.Get("Retry-After") == "" {
				t.Errorf("429 without Retry-After: %s", raw)
			}
			mu.Lock()
			counts[status]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	assert.Equal(t, map[int]int{http.StatusCreated: 100, http.StatusTooManyRequests: 50}, counts)

	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	defer db.Close()
	var users, replies int
	require.NoError(t, db.QueryRow(`SELECT count(*) FILTER (WHERE role = 'user'), count(*) FILTER (WHERE role = 'assistant')
		FROM messages WHERE conversation_id = $1`, conv.Data.ID).Scan(&users, &replies))
	assert.Equal(t, 100, users, "exactly the admitted user messages are stored")
	assert.Equal(t, 100, replies)
	assert.NotContains(t, a.stderr.String()+b.stderr.String(), "Turtles in Sabah", "message content is never logged")
}

func TestServe_EventStreamIsNotCompressedAndArrivesAsEvents(t *testing.T) {
	t.Parallel()
	dsn := dbtest.Migrated(t)
	code, _, stderr := runCmd(t, plannerEnv(dsn), "seed")
	require.Zero(t, code, stderr)
	p := start(t, plannerEnv(dsn), "serve")
	p.waitStatus(t, "/readyz", http.StatusOK, 30*time.Second)

	// DisableCompression: the client neither asks for gzip itself nor
	// decodes it silently, so the header below is what the server sent.
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableCompression: true}}
	status, _, raw := postJSON(t, client, p.url("/api/v1/sessions"), "", `{}`)
	require.Equal(t, http.StatusCreated, status, string(raw))
	var session struct{ Data struct{ Token string } }
	require.NoError(t, json.Unmarshal(raw, &session))
	status, _, raw = postJSON(t, client, p.url("/api/v1/conversations"), session.Data.Token, `{}`)
	require.Equal(t, http.StatusCreated, status, string(raw))
	var conv struct{ Data struct{ ID string } }
	require.NoError(t, json.Unmarshal(raw, &conv))

	req, _ := http.NewRequest(http.MethodPost, p.url("/api/v1/conversations/"+conv.Data.ID+"/messages"),
		strings.NewReader(`{"content":"I am advanced open water, hammerheads in April?"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+session.Data.Token)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Accept-Encoding", "gzip")
	res, err := client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "text/event-stream", res.Header.Get("Content-Type"))
	assert.Empty(t, res.Header.Get("Content-Encoding"), "gzip would hold events back until its buffer fills")
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var names []string
	for sc.Scan() {
		if name, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
			names = append(names, name)
		}
	}
	require.NotEmpty(t, names)
	assert.Equal(t, "delta", names[0])
	assert.Equal(t, "done", names[len(names)-1])

	// The JSON answer of the same route is compressed when asked for.
	status, h, _ := postJSON(t, client, p.url("/api/v1/conversations/"+conv.Data.ID+"/messages"), session.Data.Token,
		`{"content":"and in May?"}`, "Accept-Encoding", "gzip")
	require.Equal(t, http.StatusCreated, status)
	assert.Equal(t, "gzip", h.Get("Content-Encoding"))
}
