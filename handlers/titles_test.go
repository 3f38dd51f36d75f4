package handlers_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func untitledConversation(t *testing.T, srv server, token string) string {
	t.Helper()
	r := call(t, http.MethodPost, srv.URL+"/api/v1/conversations", token, "")
	require.Equal(t, http.StatusCreated, r.status, r.raw)
	return r.body["data"].(map[string]any)["id"].(string)
}

func titleOf(t *testing.T, srv server, token, conv string) string {
	t.Helper()
	r := call(t, http.MethodGet, srv.URL+"/api/v1/conversations/"+conv, token, "")
	require.Equal(t, http.StatusOK, r.status, r.raw)
	return r.body["data"].(map[string]any)["title"].(string)
}

func TestTitles_TheFirstReplyTitlesAnUntitledConversationInTheDiversLanguage(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	srv := plannerServer(t, db)
	token := guest(t, srv)
	for _, tc := range []struct{ first, want string }{
		{"I want to see hammerheads at Layang-Layang in April", "Hammerheads · Layang-Layang · April"},
		{"我想四月去拉央拉央看锤头鲨", "锤头鲨 · 拉央拉央岛 · 4月"},
		{"Hi!\n  Is it my first time diving, what should I know?", "Hi! Is it my first time diving, what should I know?"},
		{"你好，我第一次潜水需要准备什么？", "你好，我第一次潜水需要准备什么？"},
	} {
		conv := untitledConversation(t, srv, token)
		exchange(t, srv, token, conv, tc.first)
		assert.Equal(t, tc.want, titleOf(t, srv, token, conv), tc.first)
		exchange(t, srv, token, conv, "what about mantas at Sipadan in June?")
		assert.Equal(t, tc.want, titleOf(t, srv, token, conv), "a later message does not retitle it")
	}
}

func TestTitles_ADiversTitleIsNeverOverwritten(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	srv := plannerServer(t, db)
	token := guest(t, srv)

	named := newConversation(t, srv, token) // created with "Sabah in May"
	exchange(t, srv, token, named, "I want to see hammerheads at Layang-Layang in April")
	assert.Equal(t, "Sabah in May", titleOf(t, srv, token, named))

	renamedFirst := untitledConversation(t, srv, token)
	r := call(t, http.MethodPatch, srv.URL+"/api/v1/conversations/"+renamedFirst, token, `{"title":"  Our honeymoon  "}`)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
	data := r.body["data"].(map[string]any)
	assert.Equal(t, "Our honeymoon", data["title"], "trimmed")
	assert.Equal(t, renamedFirst, data["id"])
	exchange(t, srv, token, renamedFirst, "I want to see hammerheads at Layang-Layang in April")
	assert.Equal(t, "Our honeymoon", titleOf(t, srv, token, renamedFirst))

	renamedLater := untitledConversation(t, srv, token)
	exchange(t, srv, token, renamedLater, "Where can I see turtles in Sabah?")
	assert.Equal(t, "Turtles · Sabah", titleOf(t, srv, token, renamedLater))
	r = call(t, http.MethodPatch, srv.URL+"/api/v1/conversations/"+renamedLater, token, `{"title":"潜水之旅 🐢"}`)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	exchange(t, srv, token, renamedLater, "我想七月去诗巴丹")
	assert.Equal(t, "潜水之旅 🐢", titleOf(t, srv, token, renamedLater))
}

func TestRename_BadTitleIs400NamingTitleAndChangesNothing(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	srv := plannerServer(t, db)
	token := guest(t, srv)
	conv := newConversation(t, srv, token)
	url := srv.URL + "/api/v1/conversations/" + conv
	for _, body := range []string{`{"title":""}`, `{"title":"   "}`, `{"title":"\u3000\t"}`, `{"title":"two\nlines"}`,
		`{"title":"bell\u0007"}`, `{"title":"zero\u200bwidth"}`, `{"title":"` + strings.Repeat("a", 201) + `"}`,
		`{"title":"` + strings.Repeat("鲨", 201) + `"}`, `{"title":7}`, `{}`, `{"title":"ok","name":"x"}`} {
		r := call(t, http.MethodPatch, url, token, body)
		require.Equal(t, http.StatusBadRequest, r.status, "%s: %s", body, r.raw)
		field := errorOf(t, r)["field"]
		if strings.Contains(body, "name") {
			assert.Equal(t, "name", field, body)
		} else {
			assert.Equal(t, "title", field, body)
		}
	}
	ok := call(t, http.MethodPatch, url, token, `{"title":"`+strings.Repeat("鲨", 200)+`"}`)
	assert.Equal(t, http.StatusOK, ok.status, "200 characters, not bytes: %s", ok.raw)
	assert.Equal(t, strings.Repeat("鲨", 200), titleOf(t, srv, token, conv))

	stranger := guest(t, srv)
	for _, u := range []string{url, srv.URL + "/api/v1/conversations/" + uuid.NewString()} {
		r := call(t, http.MethodPatch, u, stranger, `{"title":"mine now"}`)
		assert.Equal(t, http.StatusNotFound, r.status, r.raw)
	}
	noAuth := call(t, http.MethodPatch, url, "", `{"title":"x"}`)
	assert.Equal(t, http.StatusUnauthorized, noAuth.status)
	assert.Equal(t, strings.Repeat("鲨", 200), titleOf(t, srv, token, conv))
}
