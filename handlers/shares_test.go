package handlers_test

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// share makes a link to conv and returns its token.
func share(t *testing.T, srv server, token, conv string) string {
	t.Helper()
	r := call(t, http.MethodPost, srv.URL+"/api/v1/conversations/"+conv+"/share", token, "")
	require.Equal(t, http.StatusCreated, r.status, r.raw)
	assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
	data := r.body["data"].(map[string]any)
	tok := data["token"].(string)
	assert.Equal(t, "/api/v1/shared/"+tok, data["url"])
	assert.NotEmpty(t, data["createdAt"])
	return tok
}

func TestShares_AnyoneWithTheLinkReadsTheConversationAndNothingElse(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	srv := plannerServer(t, db)
	token := guest(t, srv)
	conv := newConversation(t, srv, token)
	exchange(t, srv, token, conv, "Where can I see turtles in Sabah?")
	other := newConversation(t, srv, token)
	exchange(t, srv, token, other, "PRIVATE: hammerheads at Layang-Layang in April")

	link := share(t, srv, token, conv)
	raw, err := base64.RawURLEncoding.DecodeString(link)
	require.NoError(t, err, "base64url without padding")
	assert.GreaterOrEqual(t, len(raw)*8, 128, "at least 128 random bits")

	r := get(t, srv.URL+"/api/v1/shared/"+link) // no session
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.Equal(t, "noindex", r.header.Get("X-Robots-Tag"))
	assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
	data := r.body["data"].(map[string]any)
	assert.Equal(t, "Sabah in May", data["title"])
	assert.Equal(t, false, data["truncated"])
	msgs := data["messages"].([]any)
	require.Len(t, msgs, 2)
	assert.Equal(t, "Where can I see turtles in Sabah?", msgs[0].(map[string]any)["content"])
	reply := msgs[1].(map[string]any)
	assert.Equal(t, "assistant", reply["role"])
	assert.NotEmpty(t, reply["sites"], "the plan's sites")
	assert.NotEmpty(t, reply["citations"], "and its citations")

	var sessionID string
	require.NoError(t, db.SQL().QueryRow(`SELECT session_id::text FROM conversations WHERE id = $1`, conv).Scan(&sessionID))
	assert.NotContains(t, r.raw, sessionID, "never the session id")
	assert.NotContains(t, r.raw, token)
	assert.NotContains(t, r.raw, "PRIVATE", "nothing of other conversations")
	assert.NotContains(t, r.raw, other)
	for _, key := range []string{"sessionId", "conversationId", "constraints"} {
		assert.NotContains(t, r.raw, `"`+key+`"`)
	}
	assert.Contains(t, srv.logs.String(), "/api/v1/shared/{token}", "the read is logged")
	assert.NotContains(t, srv.logs.String(), link, "but never the link's token, a bearer secret")

	// Stored only as a keyed hash: the raw token, in any encoding, is not in the row.
	var hash []byte
	require.NoError(t, db.SQL().QueryRow(`SELECT token_hash FROM conversation_shares WHERE conversation_id = $1`, conv).Scan(&hash))
	assert.Len(t, hash, 32)
	assert.NotContains(t, string(hash), link)
	assert.NotEqual(t, raw, hash)
	assert.Zero(t, countRows(t, db, `SELECT count(*) FROM conversation_shares s
		WHERE position(convert_to($1, 'UTF8') IN s.token_hash) > 0 OR s.token_hash = sha256(convert_to($1, 'UTF8'))
		   OR s.token_hash = $2`, link, raw), "neither the token, its bytes nor its plain SHA-256")
}

func TestShares_RevokedReplacedUnknownOrMalformedLinksAreTheSame404(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	srv := plannerServer(t, db)
	token := guest(t, srv)
	conv := newConversation(t, srv, token)
	exchange(t, srv, token, conv, "Where can I see turtles in Sabah?")

	first := share(t, srv, token, conv)
	second := share(t, srv, token, conv)
	assert.NotEqual(t, first, second, "sharing again makes a new link")
	assert.Equal(t, 1, countRows(t, db, `SELECT count(*) FROM conversation_shares`), "and replaces the old one")
	assert.Equal(t, http.StatusOK, get(t, srv.URL+"/api/v1/shared/"+second).status)

	revoke := call(t, http.MethodDelete, srv.URL+"/api/v1/conversations/"+conv+"/share", token, "")
	require.Equal(t, http.StatusNoContent, revoke.status, revoke.raw)
	again := call(t, http.MethodDelete, srv.URL+"/api/v1/conversations/"+conv+"/share", token, "")
	assert.Equal(t, http.StatusNoContent, again.status, "revoking an unshared conversation is fine")

	var bodies []string
	for name, tok := range map[string]string{
		"replaced": first, "revoked": second,
		"unknown":       base64.RawURLEncoding.EncodeToString(make([]byte, 32)),
		"too short":     "x",
		"not base64url": "%2B%3D%3D",
		"very long":     strings.Repeat("A", 2000),
	} {
		r := get(t, srv.URL+"/api/v1/shared/"+tok)
		require.Equal(t, http.StatusNotFound, r.status, "%s: %s", name, r.raw)
		assert.Equal(t, "token", errorOf(t, r)["field"], name)
		bodies = append(bodies, r.raw)
	}
	for _, b := range bodies {
		assert.Equal(t, bodies[0], b, "one 404 for every kind of bad link")
	}
}

func TestShares_OnlyTheOwnerSharesAndDeletingTheConversationKillsTheLink(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	srv := plannerServer(t, db)
	token := guest(t, srv)
	conv := newConversation(t, srv, token)
	exchange(t, srv, token, conv, "Where can I see turtles in Sabah?")
	link := share(t, srv, token, conv)

	stranger := guest(t, srv)
	for _, method := range []string{http.MethodPost, http.MethodDelete} {
		for _, id := range []string{conv, uuid.NewString()} {
			r := call(t, method, srv.URL+"/api/v1/conversations/"+id+"/share", stranger, "")
			assert.Equal(t, http.StatusNotFound, r.status, "%s %s: %s", method, id, r.raw)
		}
		noAuth := call(t, method, srv.URL+"/api/v1/conversations/"+conv+"/share", "", "")
		assert.Equal(t, http.StatusUnauthorized, noAuth.status)
		bad := call(t, method, srv.URL+"/api/v1/conversations/not-a-uuid/share", token, "")
		assert.Equal(t, http.StatusBadRequest, bad.status)
		assert.Equal(t, "id", errorOf(t, bad)["field"])
	}
	assert.Equal(t, http.StatusOK, get(t, srv.URL+"/api/v1/shared/"+link).status, "the stranger changed nothing")

	del := call(t, http.MethodDelete, srv.URL+"/api/v1/conversations/"+conv, token, "")
	require.Equal(t, http.StatusNoContent, del.status, del.raw)
	assert.Zero(t, countRows(t, db, `SELECT count(*) FROM conversation_shares`), "the link died with the conversation")
	assert.Equal(t, http.StatusNotFound, get(t, srv.URL+"/api/v1/shared/"+link).status)
}

func TestShares_ALinkOfAnExpiredSessionShowsNothing(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	srv := plannerServer(t, db)
	token := guest(t, srv)
	conv := newConversation(t, srv, token)
	link := share(t, srv, token, conv)
	assert.Equal(t, http.StatusOK, get(t, srv.URL+"/api/v1/shared/"+link).status, "a conversation without messages shares too")
	_, err := db.SQL().Exec(`UPDATE guest_sessions SET created_at = now() - interval '2 days',
		last_seen_at = now() - interval '2 days', expires_at = now() - interval '1 second', absolute_expires_at = now() WHERE id = (SELECT session_id FROM conversations WHERE id = $1)`, conv)
	require.NoError(t, err)
	assert.Equal(t, http.StatusNotFound, get(t, srv.URL+"/api/v1/shared/"+link).status)
}

func TestContract_ChatFeaturesHaveNamedSchemasDeclaredErrorsAndAPublicSharedRead(t *testing.T) {
	t.Parallel()
	srv := newServer(t, unconnectedDB(t))
	r := get(t, srv.URL+"/api/v1/openapi.json")
	require.Equal(t, http.StatusOK, r.status, r.raw)
	schemas := r.body["components"].(map[string]any)["schemas"].(map[string]any)
	for _, name := range []string{"MessageFeedback", "FeedbackInput", "ConversationTitle", "ShareLink", "SharedConversation", "SharedMessage"} {
		assert.Contains(t, schemas, name)
	}
	paths := r.body["paths"].(map[string]any)
	for _, tc := range []struct {
		path, method, body, ok string
		errs                   []string
		public                 bool
	}{
		{"/api/v1/conversations/{id}/messages/{messageId}/feedback", "put", "FeedbackInput", "200", []string{"400", "401", "404"}, false},
		{"/api/v1/conversations/{id}/messages/{messageId}/feedback", "delete", "", "204", []string{"400", "401", "404"}, false},
		{"/api/v1/conversations/{id}", "patch", "ConversationTitle", "200", []string{"400", "401", "404"}, false},
		{"/api/v1/conversations/{id}/share", "post", "", "201", []string{"400", "401", "404"}, false},
		{"/api/v1/conversations/{id}/share", "delete", "", "204", []string{"400", "401", "404"}, false},
		{"/api/v1/shared/{token}", "get", "", "200", []string{"404", "503"}, true},
	} {
		require.Contains(t, paths, tc.path)
		op, ok := paths[tc.path].(map[string]any)[tc.method].(map[string]any)
		require.True(t, ok, "%s %s", tc.method, tc.path)
		responses := op["responses"].(map[string]any)
		for _, status := range append([]string{tc.ok}, tc.errs...) {
			assert.Contains(t, responses, status, "%s %s", tc.method, tc.path)
		}
		if tc.body != "" {
			ref := op["requestBody"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)["schema"].(map[string]any)["$ref"]
			assert.Equal(t, "#/components/schemas/"+tc.body, ref)
		}
		sec := op["security"].([]any)
		assert.Equal(t, tc.public, len(sec) == 0, "%s %s: security %v", tc.method, tc.path, sec)
		if tc.public {
			headers := responses["200"].(map[string]any)["headers"].(map[string]any)
			assert.Contains(t, headers, "X-Robots-Tag")
			assert.Contains(t, headers, "Cache-Control")
			assert.NotContains(t, responses, "401")
		}
	}
}

// A link picks up utm_* and fbclid on its way through chat apps: it still
// opens, and the access log never carries its token, however the path is
// spelled (a doubled slash is a 404 whose path holds a live token).
func TestShares_ALinkOpensWithAnyQueryAndItsTokenNeverReachesTheLog(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	srv := plannerServer(t, db)
	token := guest(t, srv)
	conv := newConversation(t, srv, token)
	exchange(t, srv, token, conv, "Where can I see turtles in Sabah?")
	link := share(t, srv, token, conv)

	r := get(t, srv.URL+"/api/v1/shared/"+link+"?utm_source=chat&fbclid=abc&utm_medium=")
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.Equal(t, "noindex", r.header.Get("X-Robots-Tag"))

	r = get(t, srv.URL+"/api/v1//shared/"+link)
	assert.Equal(t, http.StatusNotFound, r.status, r.raw)
	assert.NotContains(t, srv.logs.String(), link, "the token in no log line")
	assert.Contains(t, srv.logs.String(), "/shared/{token}", "the requests are logged, redacted")
}
