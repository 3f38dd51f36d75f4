package handlers_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/handlers/contracttest"
	"github.com/dovvydive/backend/knowledge/embedding"
	"github.com/dovvydive/backend/planner"
)

// postStream posts a message to the stream operation through the contract
// checker, with Idempotency-Key key when it is not empty.
func postStream(t *testing.T, srv server, id, token, content, key string) (*http.Response, []event) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/conversations/"+id+"/messages/stream",
		strings.NewReader(messageJSON(content)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "text/event-stream") // as EventSource-style clients send it
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	res, err := contracttest.Client(t, 0).Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	return res, readEvents(t, res.Body)
}

func TestStreamMessage_EveryEventCarriesTheMessageIDAndItsPlace(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	srv := plannerServer(t, db)
	token := guest(t, srv)
	id := newConversation(t, srv, token)
	res, events := postStream(t, srv, id, token, "Hammerheads at Layang-Layang, advanced diver, April", "")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "text/event-stream", res.Header.Get("Content-Type"))
	assert.Equal(t, "no-cache, no-store", res.Header.Get("Cache-Control"))
	assert.NotEmpty(t, res.Header.Get("RateLimit-Remaining"))
	require.Greater(t, len(events), 1)

	last := events[len(events)-1]
	require.Equal(t, "done", last.name)
	var done struct {
		Data struct{ Message, Reply struct{ ID, Content string } }
	}
	require.NoError(t, json.Unmarshal([]byte(last.data), &done))
	var text strings.Builder
	for i, e := range events {
		assert.Equal(t, fmt.Sprintf("%s:%d", done.Data.Message.ID, i+1), e.id, "event %d", i)
		if i < len(events)-1 {
			require.Equal(t, "delta", e.name)
			var d map[string]string
			require.NoError(t, json.Unmarshal([]byte(e.data), &d))
			text.WriteString(d["content"])
		}
	}
	assert.Equal(t, done.Data.Reply.Content, text.String(), "the deltas add up to the stored reply")
}

func TestStreamMessage_ARetryWithTheSameKeyReplaysWithoutASecondMessage(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	srv := plannerServer(t, db)
	token := guest(t, srv)
	id := newConversation(t, srv, token)
	_, first := postStream(t, srv, id, token, "Turtles at Sipadan in May?", "retry-1")
	res, again := postStream(t, srv, id, token, "Turtles at Sipadan in May?", "retry-1")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Len(t, again, 2, "the stored reply in one delta, then done")
	assert.Equal(t, "delta", again[0].name)
	assert.Equal(t, first[len(first)-1].data, again[1].data, "the same done event")
	assert.Equal(t, strings.TrimSuffix(again[0].id, ":1")+":2", again[1].id, "ids count this stream's events")
	assert.Equal(t, 2, countRows(t, db, `SELECT count(*) FROM messages WHERE conversation_id = $1`, id),
		"one message and one reply")
}

func TestStreamMessage_RefusalsAreJSONErrorsBeforeTheStream(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	srv := plannerServer(t, db)
	token := guest(t, srv)
	id := newConversation(t, srv, token)
	res, _ := postStream(t, srv, id, token, "   ", "")
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	assert.Equal(t, "application/json", res.Header.Get("Content-Type"))
	res, _ = postStream(t, srv, id, "not-a-token", "Sipadan?", "")
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
}

func TestPostMessage_TheDeprecatedAcceptFormStreamsWithoutEventIDs(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	srv := plannerServer(t, db)
	token := guest(t, srv)
	id := newConversation(t, srv, token)
	res := sse(t, context.Background(), srv.URL+"/api/v1/conversations/"+id+"/messages", token, "Mantas in Tioman?")
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(raw), "event: delta\ndata: "), "framing as before: %.80s", raw)
	assert.NotContains(t, string(raw), "\nid: ")
}

// unusableEmbedder answers, but with something no search can use: a
// permanent embedding failure, not an outage.
type unusableEmbedder struct{ embedding.Hash }

func (unusableEmbedder) EmbedQuery(context.Context, string) ([]float32, error) {
	return nil, fmt.Errorf("gemini embed: %w", errors.Join(embedding.ErrInvalidVector, errors.New("HTTP 400")))
}

func TestEmbeddingFailure_IsAnsweredAlikeOnSearchAndOnAMessage(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	for name, emb := range map[string]embedding.Embedder{"outage": failingEmbedder{}, "unusable": unusableEmbedder{}} {
		srv := plannerServer(t, db, func(c *serverConfig) {
			c.Embedder = emb
			store := planner.Store{DB: db}
			p, err := planner.New(planner.Config{Embedder: emb, Retriever: store, Catalog: store, Generator: planner.Extractive{}})
			require.NoError(t, err)
			c.Planner = p
		})
		search := searchBody(t, srv, `{"query": "hammerheads"}`)
		token := guest(t, srv)
		msg := call(t, http.MethodPost, srv.URL+"/api/v1/conversations/"+newConversation(t, srv, token)+"/messages",
			token, messageJSON("hammerheads"))
		assert.Equal(t, search.status, msg.status, name)
		assert.Equal(t, errorOf(t, search)["code"], errorOf(t, msg)["code"], name)
		assert.Equal(t, search.header.Get("Retry-After"), msg.header.Get("Retry-After"), name)
		want := map[string]int{"outage": http.StatusServiceUnavailable, "unusable": http.StatusBadGateway}[name]
		assert.Equal(t, want, msg.status, name)
	}
}

func TestGetConversation_AFreshConversationsConstraintsHaveEveryListEmpty(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	srv := plannerServer(t, db)
	token := guest(t, srv)
	id := newConversation(t, srv, token)
	r := call(t, http.MethodGet, srv.URL+"/api/v1/conversations/"+id, token, "")
	require.Equal(t, http.StatusOK, r.status, r.raw)
	cons := r.body["data"].(map[string]any)["constraints"].(map[string]any)
	for _, list := range []string{"months", "places", "avoidPlaces", "wishes", "specialties"} {
		assert.Equal(t, []any{}, cons[list], list)
	}
}
