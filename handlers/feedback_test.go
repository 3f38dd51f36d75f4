package handlers_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/database"
	"github.com/dovvydive/backend/handlers"
)

// exchange posts a message and returns the ids of the stored message and
// of the planner's reply.
func exchange(t *testing.T, srv server, token, conv, content string) (message, reply string) {
	t.Helper()
	r := call(t, http.MethodPost, srv.URL+"/api/v1/conversations/"+conv+"/messages", token, messageJSON(content))
	require.Equal(t, http.StatusCreated, r.status, r.raw)
	data := r.body["data"].(map[string]any)
	return data["message"].(map[string]any)["id"].(string), data["reply"].(map[string]any)["id"].(string)
}

// countedServer is plannerServer with metrics served at /metrics.
func countedServer(t *testing.T, db *database.DB) server {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := handlers.NewHTTPMetrics(reg)
	require.NoError(t, err)
	return plannerServer(t, db, func(c *serverConfig) {
		c.Metrics, c.MetricsHandler = m, promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	})
}

func metricsText(t *testing.T, srv server) string {
	t.Helper()
	res, err := http.Get(srv.URL + "/metrics")
	require.NoError(t, err)
	return readAll(t, res)
}

func TestFeedback_PutStoresReplacesAndDeleteRemovesCountedByRating(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	srv := countedServer(t, db)
	token := guest(t, srv)
	conv := newConversation(t, srv, token)
	_, reply := exchange(t, srv, token, conv, "Where can I see turtles in Sabah?")
	url := srv.URL + "/api/v1/conversations/" + conv + "/messages/" + reply + "/feedback"
	assert.Contains(t, metricsText(t, srv), `dovvydive_feedback_total{rating="down"} 0`, "both series exist before any rating")

	up := call(t, http.MethodPut, url, token, `{"rating":"up","comment":"  Exactly what I needed  "}`)
	require.Equal(t, http.StatusOK, up.status, up.raw)
	assert.Equal(t, "no-store", up.header.Get("Cache-Control"))
	f := up.body["data"].(map[string]any)
	assert.Equal(t, reply, f["messageId"])
	assert.Equal(t, "up", f["rating"])
	assert.Equal(t, "Exactly what I needed", f["comment"])
	for _, key := range []string{"createdAt", "updatedAt"} {
		assert.NotEmpty(t, f[key], key)
	}

	down := call(t, http.MethodPut, url, token, `{"rating":"down"}`)
	require.Equal(t, http.StatusOK, down.status, down.raw)
	g := down.body["data"].(map[string]any)
	assert.Equal(t, "down", g["rating"])
	assert.Equal(t, "", g["comment"], "PUT replaces: no comment now")
	assert.Equal(t, f["createdAt"], g["createdAt"], "the first rating's time stays")
	assert.GreaterOrEqual(t, g["updatedAt"], f["updatedAt"])
	assert.Equal(t, 1, countRows(t, db, `SELECT count(*) FROM message_feedback WHERE message_id = $1 AND rating = 'down' AND comment = ''`, reply))

	text := metricsText(t, srv)
	assert.Contains(t, text, `dovvydive_feedback_total{rating="up"} 1`)
	assert.Contains(t, text, `dovvydive_feedback_total{rating="down"} 1`)

	for range 2 { // deleting twice is fine: the rating is gone either way
		del := call(t, http.MethodDelete, url, token, "")
		require.Equal(t, http.StatusNoContent, del.status, del.raw)
	}
	assert.Zero(t, countRows(t, db, `SELECT count(*) FROM message_feedback`))
}

func TestFeedback_AnythingButTheCallersOwnReplyIsTheSame404(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	srv := plannerServer(t, db)
	token := guest(t, srv)
	conv := newConversation(t, srv, token)
	question, reply := exchange(t, srv, token, conv, "Where can I see turtles in Sabah?")
	other := newConversation(t, srv, token)
	stranger := guest(t, srv)
	strangersConv := newConversation(t, srv, stranger)
	path := func(conv, msg string) string {
		return srv.URL + "/api/v1/conversations/" + conv + "/messages/" + msg + "/feedback"
	}

	var bodies []string
	for name, tc := range map[string]struct{ token, url string }{
		"the diver's own message":         {token, path(conv, question)},
		"another session's reply":         {stranger, path(conv, reply)},
		"the reply under another session": {stranger, path(strangersConv, reply)},
		"the reply under another conv":    {token, path(other, reply)},
		"a missing message":               {token, path(conv, uuid.NewString())},
		"a missing conversation":          {token, path(uuid.NewString(), reply)},
	} {
		for _, method := range []string{http.MethodPut, http.MethodDelete} {
			body := ""
			if method == http.MethodPut {
				body = `{"rating":"down","comment":"wrong"}`
			}
			r := call(t, method, tc.url, tc.token, body)
			require.Equal(t, http.StatusNotFound, r.status, "%s %s: %s", method, name, r.raw)
			assert.Equal(t, "not_found", errorOf(t, r)["code"])
			bodies = append(bodies, r.raw)
		}
	}
	for _, b := range bodies {
		assert.Equal(t, bodies[0], b, "every refusal is the same body")
	}
	assert.Zero(t, countRows(t, db, `SELECT count(*) FROM message_feedback`))
}

func TestFeedback_BadInputIs400NamingTheFieldAndStoresNothing(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	srv := plannerServer(t, db)
	token := guest(t, srv)
	conv := newConversation(t, srv, token)
	_, reply := exchange(t, srv, token, conv, "Where can I see turtles in Sabah?")
	url := srv.URL + "/api/v1/conversations/" + conv + "/messages/" + reply + "/feedback"
	for _, tc := range []struct{ url, body, field string }{
		{url, `{"rating":"meh"}`, "rating"},
		{url, `{"rating":"UP"}`, "rating"},
		{url, `{}`, "rating"},
		{url, `{"rating":1}`, "rating"},
		{url, `{"rating":"up","comment":"` + strings.Repeat("x", 1001) + `"}`, "comment"},
		{url, `{"rating":"up","comment":"` + strings.Repeat("鲨", 1001) + `"}`, "comment"},
		{url, `{"rating":"up","stars":5}`, "stars"},
		{strings.Replace(url, reply, "not-a-uuid", 1), `{"rating":"up"}`, "messageId"},
		{strings.Replace(url, conv, "not-a-uuid", 1), `{"rating":"up"}`, "id"},
	} {
		r := call(t, http.MethodPut, tc.url, token, tc.body)
		require.Equal(t, http.StatusBadRequest, r.status, "%s: %s", tc.body, r.raw)
		assert.Equal(t, tc.field, errorOf(t, r)["field"], tc.body)
	}
	noAuth := call(t, http.MethodPut, url, "", `{"rating":"up"}`)
	assert.Equal(t, http.StatusUnauthorized, noAuth.status, noAuth.raw)
	ok := call(t, http.MethodPut, url, token, `{"rating":"up","comment":"`+strings.Repeat("鲨", 1000)+`"}`)
	assert.Equal(t, http.StatusOK, ok.status, "1,000 characters, not bytes")
	assert.Equal(t, 1, countRows(t, db, `SELECT count(*) FROM message_feedback`))
}

// After a reload a client reads back which replies it rated (as ai-chatbot
// reads a chat's votes): oldest reply first, nothing for an unrated one,
// and another session's conversation is a 404 like a missing one.
func TestFeedback_AConversationsRatingsReadBackOldestReplyFirst(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	srv := plannerServer(t, db)
	token := guest(t, srv)
	conv := newConversation(t, srv, token)
	list := srv.URL + "/api/v1/conversations/" + conv + "/feedback"

	r := call(t, http.MethodGet, list, token, "")
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.Equal(t, []any{}, r.body["data"], "a conversation without messages")

	_, first := exchange(t, srv, token, conv, "Where can I see turtles in Sabah?")
	_, unrated := exchange(t, srv, token, conv, "And in Terengganu?")
	_, third := exchange(t, srv, token, conv, "Any wrecks nearby?")
	msgURL := srv.URL + "/api/v1/conversations/" + conv + "/messages/"
	require.Equal(t, http.StatusOK, call(t, http.MethodPut, msgURL+third+"/feedback", token, `{"rating":"down","comment":"no wrecks named"}`).status)
	require.Equal(t, http.StatusOK, call(t, http.MethodPut, msgURL+first+"/feedback", token, `{"rating":"up"}`).status)

	r = call(t, http.MethodGet, list, token, "")
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
	data := r.body["data"].([]any)
	require.Len(t, data, 2, "the unrated reply %s is not listed", unrated)
	assert.Equal(t, first, data[0].(map[string]any)["messageId"])
	assert.Equal(t, "up", data[0].(map[string]any)["rating"])
	assert.Equal(t, third, data[1].(map[string]any)["messageId"])
	assert.Equal(t, "down", data[1].(map[string]any)["rating"])
	assert.Equal(t, "no wrecks named", data[1].(map[string]any)["comment"])

	other := guest(t, srv)
	theirs := call(t, http.MethodGet, list, other, "")
	missing := call(t, http.MethodGet, srv.URL+"/api/v1/conversations/"+uuid.NewString()+"/feedback", token, "")
	assert.Equal(t, http.StatusNotFound, theirs.status, theirs.raw)
	assert.Equal(t, http.StatusNotFound, missing.status, missing.raw)
	assert.Equal(t, missing.body, theirs.body, "another session's conversation is answered like a missing one")
	assert.Equal(t, http.StatusBadRequest, call(t, http.MethodGet, srv.URL+"/api/v1/conversations/nope/feedback", token, "").status)
}
