package handlers_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/database"
	"github.com/dovvydive/backend/knowledge/embedding"
	"github.com/dovvydive/backend/planner"
)

// plannerServer is newServer with a request timeout that leaves the
// planner room under -race and a fully parallel test run (the 2 s default
// is for the fault tests of the other routes).
func plannerServer(t *testing.T, db *database.DB, adjust ...func(*serverConfig)) server {
	t.Helper()
	return newServer(t, db, append([]func(*serverConfig){func(c *serverConfig) {
		c.RequestTimeout, c.EfSearch = 30*time.Second, 100
	}}, adjust...)...)
}

// guest starts a session and returns its token.
func guest(t *testing.T, srv server) string {
	t.Helper()
	r := post(t, srv.URL+"/api/v1/sessions", "application/json", `{}`)
	require.Equal(t, http.StatusCreated, r.status, r.raw)
	return r.body["data"].(map[string]any)["token"].(string)
}

// call sends an authenticated JSON request.
func call(t *testing.T, method, url, token, body string, header ...string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(t, req)
}

func newConversation(t *testing.T, srv server, token string) string {
	t.Helper()
	r := call(t, http.MethodPost, srv.URL+"/api/v1/conversations", token, `{"title":"Sabah in May"}`)
	require.Equal(t, http.StatusCreated, r.status, r.raw)
	return r.body["data"].(map[string]any)["id"].(string)
}

func messageJSON(content string) string {
	b, _ := json.Marshal(map[string]string{"content": content})
	return string(b)
}

func countRows(t *testing.T, db *database.DB, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, db.SQL().QueryRow(query, args...).Scan(&n))
	return n
}

func TestConversations_CreateListGetDeleteInCamelCaseAndUncached(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	srv := plannerServer(t, db)
	token := guest(t, srv)

	created := call(t, http.MethodPost, srv.URL+"/api/v1/conversations", token, `{"title":"Sipadan trip"}`)
	require.Equal(t, http.StatusCreated, created.status, created.raw)
	assert.Equal(t, "no-store", created.header.Get("Cache-Control"))
	conv := created.body["data"].(map[string]any)
	for _, key := range []string{"id", "title", "createdAt", "updatedAt"} {
		assert.Contains(t, conv, key)
	}
	untitled := call(t, http.MethodPost, srv.URL+"/api/v1/conversations", token, "")
	require.Equal(t, http.StatusCreated, untitled.status, untitled.raw)
	assert.Equal(t, "", untitled.body["data"].(map[string]any)["title"])

	// Newest first, one per page, then the cursor runs out.
	first := call(t, http.MethodGet, srv.URL+"/api/v1/conversations?limit=1", token, "")
	require.Equal(t, http.StatusOK, first.status, first.raw)
	assert.Equal(t, "no-store", first.header.Get("Cache-Control"))
	assert.Equal(t, untitled.body["data"].(map[string]any)["id"], first.body["data"].([]any)[0].(map[string]any)["id"])
	cursor := first.body["page"].(map[string]any)["nextCursor"].(string)
	second := call(t, http.MethodGet, srv.URL+"/api/v1/conversations?limit=1&cursor="+cursor, token, "")
	require.Equal(t, http.StatusOK, second.status, second.raw)
	assert.Equal(t, conv["id"], second.body["data"].([]any)[0].(map[string]any)["id"])
	assert.Nil(t, second.body["page"].(map[string]any)["nextCursor"])
	bad := call(t, http.MethodGet, srv.URL+"/api/v1/conversations?cursor=bm9wZQ", token, "")
	assert.Equal(t, http.StatusBadRequest, bad.status)
	assert.Equal(t, "cursor", errorOf(t, bad)["field"])

	// Three exchanges: six messages, read two at a time from the newest.
	id := conv["id"].(string)
	for _, q := range []string{"Where can I see turtles in Sabah?", "I am open water certified", "我想七月去"} {
		r := call(t, http.MethodPost, srv.URL+"/api/v1/conversations/"+id+"/messages", token, messageJSON(q))
		require.Equal(t, http.StatusCreated, r.status, r.raw)
	}
	got := call(t, http.MethodGet, srv.URL+"/api/v1/conversations/"+id+"?limit=2", token, "")
	require.Equal(t, http.StatusOK, got.status, got.raw)
	assert.Equal(t, "no-store", got.header.Get("Cache-Control"))
	msgs := got.body["data"].(map[string]any)["messages"].([]any)
	require.Len(t, msgs, 2)
	assert.Equal(t, "我想七月去", msgs[0].(map[string]any)["content"], "oldest first within the page")
	cons := got.body["data"].(map[string]any)["constraints"].(map[string]any)
	assert.Equal(t, []any{7.0}, cons["months"], "the conversation's current understanding")
	assert.Equal(t, "open_water", cons["certification"])
	assert.Equal(t, "assistant", msgs[1].(map[string]any)["role"])
	older := got.body["page"].(map[string]any)["nextCursor"].(string)
	var all []any
	for cursor := older; cursor != ""; {
		page := call(t, http.MethodGet, srv.URL+"/api/v1/conversations/"+id+"?limit=2&cursor="+cursor, token, "")
		require.Equal(t, http.StatusOK, page.status, page.raw)
		all = append(page.body["data"].(map[string]any)["messages"].([]any), all...)
		cursor, _ = page.body["page"].(map[string]any)["nextCursor"].(string)
	}
	require.Len(t, all, 4)
	assert.Equal(t, "Where can I see turtles in Sabah?", all[0].(map[string]any)["content"])

	del := call(t, http.MethodDelete, srv.URL+"/api/v1/conversations/"+id, token, "")
	assert.Equal(t, http.StatusNoContent, del.status, del.raw)
	assert.Equal(t, 0, countRows(t, db, `SELECT count(*) FROM messages WHERE conversation_id = $1`, id), "its messages are gone")
	again := call(t, http.MethodGet, srv.URL+"/api/v1/conversations/"+id, token, "")
	assert.Equal(t, http.StatusNotFound, again.status)
	assert.Equal(t, http.StatusNotFound, call(t, http.MethodDelete, srv.URL+"/api/v1/conversations/"+id, token, "").status)
}

func TestConversations_AnotherSessionsConversationIsNotFound(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	srv := plannerServer(t, db)
	owner, intruder := guest(t, srv), guest(t, srv)
	id := newConversation(t, srv, owner)
	r := call(t, http.MethodPost, srv.URL+"/api/v1/conversations/"+id+"/messages", owner, messageJSON("Turtles near Semporna?"))
	require.Equal(t, http.StatusCreated, r.status, r.raw)

	for name, res := range map[string]response{
		"get":    call(t, http.MethodGet, srv.URL+"/api/v1/conversations/"+id, intruder, ""),
		"delete": call(t, http.MethodDelete, srv.URL+"/api/v1/conversations/"+id, intruder, ""),
		"post":   call(t, http.MethodPost, srv.URL+"/api/v1/conversations/"+id+"/messages", intruder, messageJSON("hello")),
	} {
		assert.Equal(t, http.StatusNotFound, res.status, name)
		assert.Equal(t, "not_found", errorOf(t, res)["code"], name)
		assert.NotContains(t, res.raw, "Turtles", name)
	}
	list := call(t, http.MethodGet, srv.URL+"/api/v1/conversations", intruder, "")
	assert.Equal(t, []any{}, list.body["data"])
	assert.Equal(t, 2, countRows(t, db, `SELECT count(*) FROM messages WHERE conversation_id = $1`, id), "nothing added or deleted")
}

func TestAuth_AcceptsOnlyBearerWithTheCanonicalToken(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	srv := plannerServer(t, db)
	token := guest(t, srv)
	id, sig, _ := strings.Cut(token, ".")
	cases := []struct {
		name, header string
		status       int
	}{
		{"Bearer", "Bearer " + token, 200},
		{"lower-case scheme", "bearer " + token, 200},
		{"upper-case scheme", "BEARER " + token, 200},
		{"missing", "", 401},
		{"bare token", token, 401},
		{"Basic", "Basic " + token, 401},
		{"braced id", "Bearer {" + id + "}." + sig, 401},
		{"urn id", "Bearer urn:uuid:" + id + "." + sig, 401},
		{"upper-case id", "Bearer " + strings.ToUpper(id) + "." + sig, 401},
		{"padded signature", "Bearer " + token + "=", 401},
		{"no signature", "Bearer " + id, 401},
		{"another id", "Bearer " + uuid.NewString() + "." + sig, 401},
	}
	for _, tc := range cases {
		for _, path := range []string{"/api/v1/sessions/current", "/api/v1/conversations"} {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			r := do(t, req)
			assert.Equal(t, tc.status, r.status, "%s %s", tc.name, path)
			if tc.status == 401 {
				assert.Equal(t, "unauthorized", errorOf(t, r)["code"], tc.name)
				assert.Equal(t, `Bearer error="invalid_token"`, r.header.Get("WWW-Authenticate"), tc.name)
			}
		}
	}
}

func TestAuth_ExpiredOrDeletedSessionIsSessionExpired(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	srv := plannerServer(t, db)
	expired, deleted := guest(t, srv), guest(t, srv)
	expiredID, _, _ := strings.Cut(expired, ".")
	deletedID, _, _ := strings.Cut(deleted, ".")
	conv := newConversation(t, srv, expired)
	_, err := db.SQL().Exec(`UPDATE guest_sessions SET created_at = now() - interval '2 days', last_seen_at = now() - interval '2 days',
		expires_at = now() - interval '1 second', absolute_expires_at = now() WHERE id = $1`, expiredID)
	require.NoError(t, err)
	_, err = db.SQL().Exec(`DELETE FROM guest_sessions WHERE id = $1`, deletedID)
	require.NoError(t, err)

	for name, r := range map[string]response{
		"expired current":  call(t, http.MethodGet, srv.URL+"/api/v1/sessions/current", expired, ""),
		"expired list":     call(t, http.MethodGet, srv.URL+"/api/v1/conversations", expired, ""),
		"expired message":  call(t, http.MethodPost, srv.URL+"/api/v1/conversations/"+conv+"/messages", expired, messageJSON("hi")),
		"deleted current":  call(t, http.MethodGet, srv.URL+"/api/v1/sessions/current", deleted, ""),
		"deleted creating": call(t, http.MethodPost, srv.URL+"/api/v1/conversations", deleted, ""),
	} {
		assert.Equal(t, http.StatusUnauthorized, r.status, name)
		assert.Equal(t, "session_expired", errorOf(t, r)["code"], name)
		assert.Equal(t, `Bearer error="invalid_token"`, r.header.Get("WWW-Authenticate"), name)
	}
}

func TestAuth_RequestsSlideTheSessionsExpiry(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	srv := plannerServer(t, db)
	token := guest(t, srv)
	id, _, _ := strings.Cut(token, ".")
	_, err := db.SQL().Exec(`UPDATE guest_sessions SET last_seen_at = now() - interval '30 minutes',
		expires_at = now() + interval '30 minutes' WHERE id = $1`, id)
	require.NoError(t, err)
	r := call(t, http.MethodGet, srv.URL+"/api/v1/conversations", token, "")
	require.Equal(t, http.StatusOK, r.status, r.raw)
	var expires time.Time
	require.NoError(t, db.SQL().QueryRow(`SELECT expires_at FROM guest_sessions WHERE id = $1`, id).Scan(&expires))
	assert.WithinDuration(t, time.Now().Add(time.Hour), expires, time.Minute, "renewed to now + SESSION_TTL")
}

func TestSessions_CreationIsCappedPerClientIgnoringUntrustedForwardedFor(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	srv := plannerServer(t, db, func(c *serverConfig) { c.SessionsPerIPHour = 2 })
	for i := range 2 {
		r := post(t, srv.URL+"/api/v1/sessions", "application/json", `{}`, "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i))
		require.Equal(t, http.StatusCreated, r.status, r.raw)
	}
	r := post(t, srv.URL+"/api/v1/sessions", "application/json", `{}`, "X-Forwarded-For", "198.51.100.7")
	assert.Equal(t, http.StatusTooManyRequests, r.status, "a spoofed X-Forwarded-For changes nothing")
	assert.Equal(t, "too_many_sessions", errorOf(t, r)["code"])
	assert.NotEmpty(t, r.header.Get("Retry-After"))

	// Behind a trusted proxy, each forwarded client has its own allowance.
	proxied := plannerServer(t, db, func(c *serverConfig) {
		c.SessionsPerIPHour = 2
		c.TrustedProxies = []string{"127.0.0.1"}
	})
	for _, ip := range []string{"203.0.113.10", "203.0.113.10", "203.0.113.11"} {
		r := post(t, proxied.URL+"/api/v1/sessions", "application/json", `{}`, "X-Forwarded-For", ip)
		assert.Equal(t, http.StatusCreated, r.status, ip)
	}
	r = post(t, proxied.URL+"/api/v1/sessions", "application/json", `{}`, "X-Forwarded-For", "203.0.113.10")
	assert.Equal(t, http.StatusTooManyRequests, r.status)
}

func TestMessages_BadInputNamesTheFieldAndStoresNothing(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	srv := plannerServer(t, db)
	token := guest(t, srv)
	id := newConversation(t, srv, token)
	url := srv.URL + "/api/v1/conversations/" + id + "/messages"
	cases := []struct {
		name, url, body string
		field           string
	}{
		{"empty", url, `{"content":""}`, "content"},
		{"whitespace", url, `{"content":" \n\t "}`, "content"},
		{"too long", url, messageJSON(strings.Repeat("潜", 4001)), "content"},
		{"NUL", url, `{"content":"a\u0000b"}`, "content"},
		{"missing", url, `{}`, "content"},
		{"unknown field", url, `{"content":"hi","role":"assistant"}`, "role"},
		{"malformed id", srv.URL + "/api/v1/conversations/not-a-uuid/messages", `{"content":"hi"}`, "id"},
	}
	for _, tc := range cases {
		r := call(t, http.MethodPost, tc.url, token, tc.body)
		assert.Equal(t, http.StatusBadRequest, r.status, tc.name)
		assert.Equal(t, tc.field, errorOf(t, r)["field"], tc.name)
	}
	for _, key := range []string{"ключ", strings.Repeat("k", 256)} {
		r := call(t, http.MethodPost, url, token, messageJSON("hi"), "Idempotency-Key", key)
		assert.Equal(t, http.StatusBadRequest, r.status, r.raw)
		assert.Equal(t, "Idempotency-Key", errorOf(t, r)["field"])
	}
	ok := call(t, http.MethodPost, url, token, messageJSON(strings.Repeat("潜", 4000)))
	assert.Equal(t, http.StatusCreated, ok.status, "4,000 characters are allowed: %s\n%s", ok.raw, srv.logs.String())
	assert.Equal(t, 1, countRows(t, db, `SELECT count(*) FROM messages WHERE role = 'user'`))
	for _, bad := range []string{"/api/v1/conversations/not-a-uuid", "/api/v1/conversations/" + id + "x"} {
		assert.Equal(t, http.StatusBadRequest, call(t, http.MethodGet, srv.URL+bad, token, "").status, bad)
	}
	long := call(t, http.MethodPost, srv.URL+"/api/v1/conversations", token, `{"title":"`+strings.Repeat("x", 201)+`"}`)
	assert.Equal(t, "title", errorOf(t, long)["field"])
}

func TestMessages_ReplyIsGroundedWithRateLimitHeadersAndQuotaIsEnforced(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	srv := plannerServer(t, db, func(c *serverConfig) { c.MessagesPerHour = 3 })
	token := guest(t, srv)
	id := newConversation(t, srv, token)
	url := srv.URL + "/api/v1/conversations/" + id + "/messages"

	r := call(t, http.MethodPost, url, token, messageJSON("I am an open water diver. Where can I see turtles in Semporna in May?"))
	require.Equal(t, http.StatusCreated, r.status, r.raw)
	assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
	assert.Equal(t, "3", r.header.Get("RateLimit-Limit"))
	assert.Equal(t, "2", r.header.Get("RateLimit-Remaining"))
	assert.NotEmpty(t, r.header.Get("RateLimit-Reset"))
	data := r.body["data"].(map[string]any)
	msg, reply := data["message"].(map[string]any), data["reply"].(map[string]any)
	assert.Equal(t, "user", msg["role"])
	assert.Equal(t, "assistant", reply["role"])
	assert.Contains(t, reply["model"], "extractive")
	assert.NotEmpty(t, reply["content"])
	sites := reply["sites"].([]any)
	require.NotEmpty(t, sites)
	for _, key := range []string{"id", "slug", "nameEn", "nameZh", "reason"} {
		assert.Contains(t, sites[0], key)
	}
	cites := reply["citations"].([]any)
	require.NotEmpty(t, cites)
	for _, key := range []string{"siteId", "slug", "nameEn", "nameZh", "chunkIndex", "score"} {
		assert.Contains(t, cites[0], key)
	}
	cons := reply["constraints"].(map[string]any)
	assert.Equal(t, "open_water", cons["certification"])
	assert.Equal(t, []any{5.0}, cons["months"])

	// Constraints persist: the next message does not repeat them.
	next := call(t, http.MethodPost, url, token, messageJSON("What about sharks?"))
	require.Equal(t, http.StatusCreated, next.status, next.raw)
	assert.Equal(t, "open_water", next.body["data"].(map[string]any)["reply"].(map[string]any)["constraints"].(map[string]any)["certification"])

	require.Equal(t, http.StatusCreated, call(t, http.MethodPost, url, token, messageJSON("and macro?")).status)
	over := call(t, http.MethodPost, url, token, messageJSON("one more"))
	assert.Equal(t, http.StatusTooManyRequests, over.status, over.raw)
	assert.Equal(t, "quota_exceeded", errorOf(t, over)["code"])
	assert.NotEmpty(t, over.header.Get("Retry-After"))
	assert.Equal(t, "0", over.header.Get("RateLimit-Remaining"))
	assert.Equal(t, 3, countRows(t, db, `SELECT count(*) FROM messages WHERE role = 'user'`), "a rejected message is not stored")
	assert.NotContains(t, srv.logs.String(), "turtles", "message content is never logged")
}

// stubPlanner answers with a fixed reply; fail makes it fail as Gemini would;
// block makes it emit one piece and then wait for the request to end.
type stubPlanner struct {
	fail    atomic.Bool
	block   bool
	calls   atomic.Int32
	started chan struct{}
	ended   chan error
}

func (p *stubPlanner) Plan(ctx context.Context, turn planner.Turn, emit func(string) error) (planner.Reply, error) {
	p.calls.Add(1)
	if p.fail.Load() {
		return planner.Reply{}, &planner.ErrUpstream{Name: "gemini", Err: errors.New("503 from upstream")}
	}
	if p.block {
		if emit != nil {
			if err := emit("Thinking about "); err != nil {
				return planner.Reply{}, err
			}
		}
		close(p.started)
		<-ctx.Done()
		p.ended <- ctx.Err()
		return planner.Reply{}, ctx.Err()
	}
	reply := planner.Reply{Content: "Try Sipadan.", Citations: []planner.Citation{}, Sites: []planner.SiteRef{},
		Constraints: planner.Extract(turn.Message, turn.PrevConstraints), Model: "stub"}
	if emit != nil {
		for _, piece := range []string{"Try ", "Sipadan."} {
			if err := emit(piece); err != nil {
				return planner.Reply{}, err
			}
		}
	}
	return reply, nil
}

func TestMessages_IdempotencyKeyReplaysRefusesAndRegenerates(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	stub := &stubPlanner{}
	srv := plannerServer(t, db, func(c *serverConfig) { c.Planner = stub })
	token := guest(t, srv)
	id := newConversation(t, srv, token)
	url := srv.URL + "/api/v1/conversations/" + id + "/messages"
	users := func() int {
		return countRows(t, db, `SELECT count(*) FROM messages WHERE conversation_id = $1 AND role = 'user'`, id)
	}

	first := call(t, http.MethodPost, url, token, messageJSON("Sipadan in May?"), "Idempotency-Key", "k1")
	require.Equal(t, http.StatusCreated, first.status, first.raw)
	replay := call(t, http.MethodPost, url, token, messageJSON("Sipadan in May?"), "Idempotency-Key", "k1")
	require.Equal(t, http.StatusCreated, replay.status, replay.raw)
	assert.Equal(t, first.body, replay.body, "the same answer")
	assert.Equal(t, int32(1), stub.calls.Load(), "a replay does not generate")
	assert.Equal(t, 1, users())

	other := call(t, http.MethodPost, url, token, messageJSON("Tioman in July?"), "Idempotency-Key", "k1")
	assert.Equal(t, http.StatusUnprocessableEntity, other.status, other.raw)
	assert.Equal(t, "idempotency_mismatch", errorOf(t, other)["code"])
	assert.Equal(t, "Idempotency-Key", errorOf(t, other)["field"])
	assert.Equal(t, "100", other.header.Get("RateLimit-Limit"))
	assert.Equal(t, "99", other.header.Get("RateLimit-Remaining"))

	// Generation fails: 503 naming gemini, the message stays, no reply.
	stub.fail.Store(true)
	failed := call(t, http.MethodPost, url, token, messageJSON("Layang-Layang in April?"), "Idempotency-Key", "k2")
	assert.Equal(t, http.StatusServiceUnavailable, failed.status, failed.raw)
	assert.Equal(t, "generator_unavailable", errorOf(t, failed)["code"])
	assert.Contains(t, errorOf(t, failed)["message"], "gemini")
	assert.NotEmpty(t, failed.header.Get("RateLimit-Remaining"))
	assert.Equal(t, 2, users(), "the user message is kept")
	assert.Equal(t, 1, countRows(t, db, `SELECT count(*) FROM messages WHERE conversation_id = $1 AND role = 'assistant'`, id))

	// The retry regenerates without a second user message.
	stub.fail.Store(false)
	retry := call(t, http.MethodPost, url, token, messageJSON("Layang-Layang in April?"), "Idempotency-Key", "k2")
	require.Equal(t, http.StatusCreated, retry.status, retry.raw)
	assert.Equal(t, 2, users())
	assert.Equal(t, 2, countRows(t, db, `SELECT count(*) FROM messages WHERE conversation_id = $1 AND role = 'assistant'`, id))
	assert.NotContains(t, srv.logs.String(), "Layang-Layang in April", "message content is never logged")
}

func TestMessages_KeyStillInFlightIsAConflict(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	stub := &stubPlanner{block: true, started: make(chan struct{}), ended: make(chan error, 1)}
	// The first request holds its key until its deadline.
	srv := plannerServer(t, db, func(c *serverConfig) { c.Planner = stub; c.RequestTimeout = 3 * time.Second })
	token := guest(t, srv)
	id := newConversation(t, srv, token)
	url := srv.URL + "/api/v1/conversations/" + id + "/messages"

	go func() {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(messageJSON("slow one")))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Idempotency-Key", "slow")
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
		}
	}()
	<-stub.started
	r := call(t, http.MethodPost, url, token, messageJSON("slow one"), "Idempotency-Key", "slow")
	assert.Equal(t, http.StatusConflict, r.status, r.raw)
	assert.Equal(t, "idempotency_conflict", errorOf(t, r)["code"])
	<-stub.ended
}

// sse posts a message asking for an event stream.
func sse(t *testing.T, ctx context.Context, url, token, content string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(messageJSON(content)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "text/event-stream")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	return res
}

// event is one Server-Sent Event with every field it carried.
type event struct{ name, id, data string }

func readEvents(t *testing.T, r io.Reader) []event {
	t.Helper()
	var out []event
	var cur event
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			cur.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "id: "):
			cur.id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "data: "):
			cur.data = strings.TrimPrefix(line, "data: ")
		case line == "":
			out = append(out, cur)
			cur = event{}
		}
	}
	return out
}

func TestMessages_EventStreamSendsDeltasThenTheSameBodyAsJSON(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	srv := plannerServer(t, db)
	token := guest(t, srv)
	id := newConversation(t, srv, token)
	res := sse(t, context.Background(), srv.URL+"/api/v1/conversations/"+id+"/messages", token, "Hammerheads at Layang-Layang, advanced diver, April")
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "text/event-stream", res.Header.Get("Content-Type"))
	assert.Contains(t, res.Header.Get("Cache-Control"), "no-cache")
	assert.Contains(t, res.Header.Get("Cache-Control"), "no-store")
	assert.Equal(t, "no", res.Header.Get("X-Accel-Buffering"))
	assert.NotEmpty(t, res.Header.Get("RateLimit-Remaining"))
	events := readEvents(t, res.Body)
	require.Greater(t, len(events), 2)
	var text strings.Builder
	for _, e := range events[:len(events)-1] {
		require.Equal(t, "delta", e.name)
		var d map[string]string
		require.NoError(t, json.Unmarshal([]byte(e.data), &d))
		text.WriteString(d["content"])
	}
	last := events[len(events)-1]
	require.Equal(t, "done", last.name)
	var done map[string]any
	require.NoError(t, json.Unmarshal([]byte(last.data), &done))
	reply := done["data"].(map[string]any)["reply"].(map[string]any)
	assert.Equal(t, reply["content"], text.String(), "the deltas add up to the stored reply")
	assert.Contains(t, reply["content"], "Layang")

	// The stored conversation holds what was streamed.
	got := call(t, http.MethodGet, srv.URL+"/api/v1/conversations/"+id, token, "")
	msgs := got.body["data"].(map[string]any)["messages"].([]any)
	require.Len(t, msgs, 2)
	assert.Equal(t, reply["id"], msgs[1].(map[string]any)["id"])
}

func TestMessages_EventStreamFailureBeforeTheFirstPieceIsAJSON503(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	stub := &stubPlanner{}
	stub.fail.Store(true)
	srv := plannerServer(t, db, func(c *serverConfig) { c.Planner = stub })
	token := guest(t, srv)
	id := newConversation(t, srv, token)
	res := sse(t, context.Background(), srv.URL+"/api/v1/conversations/"+id+"/messages", token, "Sipadan?")
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	assert.Equal(t, http.StatusServiceUnavailable, res.StatusCode)
	assert.Contains(t, string(body), "generator_unavailable")
	assert.Contains(t, string(body), "gemini")
	assert.Equal(t, 1, countRows(t, db, `SELECT count(*) FROM messages WHERE conversation_id = $1`, id), "the user message stays")
}

// fakeGemini answers every Gemini call with status.
func fakeGemini(t *testing.T, status int) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":{"code":%d,"message":"fake failure","status":"UNAVAILABLE"}}`, status)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestMessages_GeminiFailureIs503NamingItAndKeepsTheMessage(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	for _, status := range []int{http.StatusServiceUnavailable, http.StatusTooManyRequests} {
		fake := fakeGemini(t, status)
		gen, err := planner.NewGemini(context.Background(), planner.GeminiConfig{APIKey: "test-key", BaseURL: fake.URL, Timeout: 5 * time.Second})
		require.NoError(t, err)
		store := planner.Store{DB: db, EfSearch: 100}
		p, err := planner.New(planner.Config{Embedder: embedding.Hash{}, Retriever: store, Catalog: store, Generator: gen})
		require.NoError(t, err)
		srv := plannerServer(t, db, func(c *serverConfig) { c.Planner = p })
		token := guest(t, srv)
		id := newConversation(t, srv, token)
		secret := fmt.Sprintf("private question %d about Mabul", status)
		r := call(t, http.MethodPost, srv.URL+"/api/v1/conversations/"+id+"/messages", token, messageJSON(secret))
		assert.Equal(t, http.StatusServiceUnavailable, r.status, r.raw)
		assert.Equal(t, "generator_unavailable", errorOf(t, r)["code"])
		assert.Contains(t, errorOf(t, r)["message"], "gemini")
		assert.NotEmpty(t, r.header.Get("Retry-After"))
		assert.NotContains(t, r.raw, secret)
		assert.Equal(t, 1, countRows(t, db, `SELECT count(*) FROM messages WHERE conversation_id = $1 AND role = 'user'`, id))
		assert.Equal(t, 0, countRows(t, db, `SELECT count(*) FROM messages WHERE conversation_id = $1 AND role = 'assistant'`, id))
		assert.NotContains(t, srv.logs.String(), secret, "message content is never logged")
	}
}

func TestMessages_ConcurrentPostsForOneSessionStopAtTheQuota(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	srv := plannerServer(t, db, func(c *serverConfig) { c.MessagesPerHour = 10 })
	token := guest(t, srv)
	id := newConversation(t, srv, token)
	var wg sync.WaitGroup
	var created, limited atomic.Int32
	for i := range 25 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := call(t, http.MethodPost, srv.URL+"/api/v1/conversations/"+id+"/messages", token, messageJSON(fmt.Sprintf("question %d", i)))
			switch r.status {
			case http.StatusCreated:
				created.Add(1)
			case http.StatusTooManyRequests:
				limited.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(10), created.Load())
	assert.Equal(t, int32(15), limited.Load())
	assert.Equal(t, 10, countRows(t, db, `SELECT count(*) FROM messages WHERE role = 'user' AND conversation_id = $1`, id))
}

// slowStub stands for a generator slower than the request deadline.
type slowStub struct{}

func (slowStub) Plan(ctx context.Context, _ planner.Turn, _ func(string) error) (planner.Reply, error) {
	<-ctx.Done()
	return planner.Reply{}, ctx.Err()
}

func TestMessages_GenerationPastTheRequestTimeoutIsA503ForTheGenerator(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	srv := plannerServer(t, db, func(c *serverConfig) { c.Planner = slowStub{}; c.RequestTimeout = time.Second })
	token := guest(t, srv)
	id := newConversation(t, srv, token)
	r := call(t, http.MethodPost, srv.URL+"/api/v1/conversations/"+id+"/messages", token, messageJSON("slow"))
	assert.Equal(t, http.StatusServiceUnavailable, r.status, r.raw)
	assert.Equal(t, "generator_unavailable", errorOf(t, r)["code"], "not the database's fault")
	assert.Equal(t, 1, countRows(t, db, `SELECT count(*) FROM messages WHERE conversation_id = $1`, id))
}

// brokenStream emits a piece, then its upstream fails.
type brokenStream struct{}

func (brokenStream) Plan(_ context.Context, _ planner.Turn, emit func(string) error) (planner.Reply, error) {
	if err := emit("Sipadan is "); err != nil {
		return planner.Reply{}, err
	}
	return planner.Reply{}, &planner.ErrUpstream{Name: "gemini", Err: errors.New("stream reset")}
}

func TestMessages_EventStreamFailureAfterTheFirstPieceEndsWithAnErrorEvent(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	srv := plannerServer(t, db, func(c *serverConfig) { c.Planner = brokenStream{} })
	token := guest(t, srv)
	id := newConversation(t, srv, token)
	res := sse(t, context.Background(), srv.URL+"/api/v1/conversations/"+id+"/messages", token, "Sipadan?")
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	events := readEvents(t, res.Body)
	require.Len(t, events, 2)
	assert.Equal(t, "delta", events[0].name)
	assert.Equal(t, "error", events[1].name)
	assert.Contains(t, events[1].data, "generator_unavailable")
	assert.Equal(t, 1, countRows(t, db, `SELECT count(*) FROM messages WHERE conversation_id = $1`, id), "no reply stored")
}
