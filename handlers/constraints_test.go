package handlers_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Rows written before the API dropped its sentinels hold "" and 0 for
// "unknown" (the planner's own JSON): they read as absent fields, values
// outside a vocabulary read as unknown, and the planner carries on from them.
func TestConstraints_OldRowsWithSentinelsReadAsAbsentFields(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	srv := plannerServer(t, db)
	token := guest(t, srv)
	id := newConversation(t, srv, token)
	first := call(t, http.MethodPost, srv.URL+"/api/v1/conversations/"+id+"/messages", token, messageJSON("Turtles in Sabah in May?"))
	require.Equal(t, http.StatusCreated, first.status, first.raw)

	old := `{"months":[5],"season":"","certification":"","experience":"","places":["sabah"],"avoidPlaces":[],` +
		`"wishes":["turtle"],"maxDepthM":0,"specialties":["cavern","no_such_training"],"language":"","age":0}`
	_, err := db.SQL().Exec(`UPDATE messages SET constraints = $2 WHERE conversation_id = $1 AND role = 'assistant'`, id, old)
	require.NoError(t, err)
	_, err = db.SQL().Exec(`UPDATE conversations SET constraints = $2 WHERE id = $1`, id, old)
	require.NoError(t, err)

	conv := call(t, http.MethodGet, srv.URL+"/api/v1/conversations/"+id, token, "") // checked against the document by do()
	require.Equal(t, http.StatusOK, conv.status, conv.raw)
	data := conv.body["data"].(map[string]any)
	reply := data["messages"].([]any)[1].(map[string]any)
	for _, c := range []map[string]any{data["constraints"].(map[string]any), reply["constraints"].(map[string]any)} {
		for _, absent := range []string{"season", "certification", "experience", "maxDepthM", "age"} {
			assert.NotContains(t, c, absent)
		}
		assert.Equal(t, "en", c["language"], "the planner's default")
		assert.Equal(t, []any{"sabah"}, c["places"])
		assert.Equal(t, []any{"cavern"}, c["specialties"], "a value outside the vocabulary reads as unknown")
	}

	// The planner reads the old row as its previous constraints.
	next := call(t, http.MethodPost, srv.URL+"/api/v1/conversations/"+id+"/messages", token,
		messageJSON("I'm open water certified, no deeper than 18 m"))
	require.Equal(t, http.StatusCreated, next.status, next.raw)
	c := next.body["data"].(map[string]any)["reply"].(map[string]any)["constraints"].(map[string]any)
	assert.Equal(t, []any{float64(5)}, c["months"], "carried over from the old row")
	assert.Equal(t, "open_water", c["certification"])
	assert.EqualValues(t, 18, c["maxDepthM"])

	// And what it answers goes back as filters as it is.
	q := url.Values{"certification": {c["certification"].(string)}, "maxDepth": {"18"}}
	sites := get(t, srv.URL+"/api/v1/dive-sites?"+q.Encode())
	assert.Equal(t, http.StatusOK, sites.status, sites.raw)
}
