package handlers_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// documentCannotSay lists the refusals the document cannot express, each
// with why. A case here must still be refused by the server and must still
// pass kin-openapi's request validation: when the document learns to say
// it, the test fails until the entry goes.
var documentCannotSay = map[string]string{
	// OpenAPI lists an operation's parameters but has no way to say "and no
	// others" (there is no additionalProperties for parameters); the info
	// description says it in words.
	"unknown query parameter":                       "OpenAPI cannot close the set of query parameters",
	"unknown query parameter on a list without any": "OpenAPI cannot close the set of query parameters",
	// A parameter's schema describes one value; whether it may be repeated
	// is style/explode, which for a scalar means "take one".
	"repeated query parameter": "OpenAPI cannot forbid repeating a scalar query parameter",
	// JSON parsers keep the last duplicate; JSON Schema sees one key.
	"duplicate body key": "JSON Schema validates the parsed object, in which duplicates are already gone",
	// NUL and other control characters: a pattern could refuse them, but
	// every string field would need it; strictJSON refuses them everywhere.
	"NUL in message content":                 "control characters are refused by the JSON decoder for every string, not per field",
	"control character in a query parameter": "control characters are refused by strictQuery for every parameter, not per parameter",
	// A title is printable characters only (unicode.IsGraphic, checkTitle):
	// a pattern for that needs Unicode classes, which Go's regexp and
	// ECMAScript's (without the u flag) do not read alike.
	"line break inside a title": "printable-only text has no pattern Go and ECMAScript read alike",
}

// TestContract_RequestsTheServerRefusesAreInvalidByTheDocument sends the
// HTTP suites' kinds of bad request to the server, which must refuse each
// as 400 invalid_input, and checks each against the served 3.0 document
// with kin-openapi's request validation: the document is no looser than
// the server, except for documentCannotSay.
func TestContract_RequestsTheServerRefusesAreInvalidByTheDocument(t *testing.T) {
	t.Parallel()
	db := seededDB(t)
	srv := plannerServer(t, db)
	token := guest(t, srv)
	conv := srv.URL + "/api/v1/conversations/" + newConversation(t, srv, token)

	raw := get(t, srv.URL+"/api/v1/openapi-3.0.json").raw
	doc, err := openapi3.NewLoader().LoadFromData([]byte(raw))
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()))
	doc.Servers = nil // any host: the test server's port is random
	router, err := gorillamux.NewRouter(doc)
	require.NoError(t, err)
	options := &openapi3filter.Options{
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		MultiError:         true,
		// Any UUID version (ids are v7 and v5): kin's predefined format is RFC 4122's v1-v5 only.
		SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.WithStringFormatValidator("uuid",
			openapi3.NewRegexpFormatValidator(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`))},
	}

	sites, sessions, search := srv.URL+"/api/v1/dive-sites", srv.URL+"/api/v1/sessions", srv.URL+"/api/v1/search"
	convs, messages := srv.URL+"/api/v1/conversations", conv+"/messages"
	// Any id: a bad body is refused before the message is looked up.
	feedback := messages + "/" + uuid.NewString() + "/feedback"
	vector := func(n int) string { return "[" + strings.TrimSuffix(strings.Repeat("0.1,", n), ",") + "]" }
	cases := []struct {
		name, method, url, body string
		header                  []string
	}{
		{name: "empty query parameter", url: sites + "?region="},
		{name: "whitespace-only query parameter", url: sites + "?state=%20%20"},
		{name: "empty name search", url: sites + "?q="},
		{name: "unicode-space-only query parameter", url: sites + "?q=%E3%80%80"},
		{name: "empty enum parameter", url: sites + "?difficulty="},
		{name: "unknown difficulty", url: sites + "?difficulty=expert"},
		{name: "unknown certification", url: sites + "?certification=padi"},
		{name: "limit below range", url: sites + "?limit=0"},
		{name: "limit above range", url: sites + "?limit=101"},
		{name: "limit not a number", url: sites + "?limit=ten"},
		{name: "negative offset", url: sites + "?offset=-1"},
		{name: "depth below range", url: sites + "?maxDepth=0"},
		{name: "depth above range", url: sites + "?maxDepth=201"},
		{name: "name too long", url: sites + "?q=" + strings.Repeat("a", 101)},
		{name: "unknown query parameter", url: sites + "?colour=blue"},
		{name: "unknown query parameter on a list without any", url: srv.URL + "/livez?verbose=1"},
		{name: "repeated query parameter", url: sites + "?limit=1&limit=2"},
		{name: "control character in a query parameter", url: sites + "?region=a%01b"},
		{name: "site id not a uuid", url: sites + "/not-a-uuid"},
		{name: "operators by a site id not a uuid", url: srv.URL + "/api/v1/dive-operators?siteId=nope"},
		{name: "operators by an empty region", url: srv.URL + "/api/v1/dive-operators?region="},
		{name: "conversation page too large", url: convs + "?limit=101"},
		{name: "empty cursor", url: convs + "?cursor="},
		{name: "conversation id not a uuid", url: convs + "/not-a-uuid"},
		{name: "messages page too large", url: conv + "?limit=201"},

		{name: "unknown session language", method: http.MethodPost, url: sessions, body: `{"language":"fr"}`},
		{name: "empty session language", method: http.MethodPost, url: sessions, body: `{"language":""}`},
		{name: "session field in the wrong case", method: http.MethodPost, url: sessions, body: `{"LANGUAGE":"zh"}`},
		{name: "unknown session field", method: http.MethodPost, url: sessions, body: `{"language":"en","extra":1}`},
		{name: "session body not an object", method: http.MethodPost, url: sessions, body: `["en"]`},
		{name: "title too long", method: http.MethodPost, url: convs, body: `{"title":"` + strings.Repeat("t", 201) + `"}`},
		{name: "title not text", method: http.MethodPost, url: convs, body: `{"title":1}`},

		{name: "empty message", method: http.MethodPost, url: messages, body: `{"content":""}`},
		{name: "whitespace-only message", method: http.MethodPost, url: messages, body: `{"content":" \n\t "}`},
		{name: "ideographic-space-only message", method: http.MethodPost, url: messages, body: `{"content":"\u3000\u00a0"}`},
		{name: "message too long", method: http.MethodPost, url: messages, body: `{"content":"` + strings.Repeat("潜", 4001) + `"}`},
		{name: "message missing", method: http.MethodPost, url: messages, body: `{}`},
		{name: "message with an unknown field", method: http.MethodPost, url: messages, body: `{"content":"hi","role":"assistant"}`},
		{name: "NUL in message content", method: http.MethodPost, url: messages, body: `{"content":"a\u0000b"}`},
		{name: "duplicate body key", method: http.MethodPost, url: messages, body: `{"content":"hi","content":"again"}`},
		{name: "Idempotency-Key too long", method: http.MethodPost, url: messages, body: `{"content":"hi"}`,
			header: []string{"Idempotency-Key", strings.Repeat("k", 256)}},

		{name: "unknown rating", method: http.MethodPut, url: feedback, body: `{"rating":"sideways"}`},
		{name: "empty rating", method: http.MethodPut, url: feedback, body: `{"rating":""}`},
		{name: "rating in the wrong case", method: http.MethodPut, url: feedback, body: `{"rating":"UP"}`},
		{name: "rating missing", method: http.MethodPut, url: feedback, body: `{"comment":"good"}`},
		{name: "feedback comment too long", method: http.MethodPut, url: feedback, body: `{"rating":"down","comment":"` + strings.Repeat("c", 1001) + `"}`},
		{name: "feedback comment not text", method: http.MethodPut, url: feedback, body: `{"rating":"down","comment":1}`},
		{name: "unknown feedback field", method: http.MethodPut, url: feedback, body: `{"rating":"up","stars":5}`},
		{name: "feedback on a message id not a uuid", method: http.MethodPut, url: messages + "/not-a-uuid/feedback", body: `{"rating":"up"}`},
		{name: "feedback removed from a message id not a uuid", method: http.MethodDelete, url: messages + "/not-a-uuid/feedback"},
		{name: "ratings of a conversation id not a uuid", method: http.MethodGet, url: convs + "/not-a-uuid/feedback"},

		{name: "empty new title", method: http.MethodPatch, url: conv, body: `{"title":""}`},
		{name: "whitespace-only new title", method: http.MethodPatch, url: conv, body: `{"title":" \t "}`},
		{name: "ideographic-space-only new title", method: http.MethodPatch, url: conv, body: `{"title":"\u3000"}`},
		{name: "new title too long", method: http.MethodPatch, url: conv, body: `{"title":"` + strings.Repeat("t", 201) + `"}`},
		{name: "new title missing", method: http.MethodPatch, url: conv, body: `{}`},
		{name: "new title not text", method: http.MethodPatch, url: conv, body: `{"title":["a"]}`},
		{name: "line break inside a title", method: http.MethodPatch, url: conv, body: `{"title":"Sabah\nin May"}`},
		{name: "renaming a conversation id not a uuid", method: http.MethodPatch, url: convs + "/not-a-uuid", body: `{"title":"x"}`},

		{name: "sharing a conversation id not a uuid", method: http.MethodPost, url: convs + "/not-a-uuid/share"},
		{name: "unsharing a conversation id not a uuid", method: http.MethodDelete, url: convs + "/not-a-uuid/share"},

		{name: "empty search query", method: http.MethodPost, url: search, body: `{"query":""}`},
		{name: "whitespace-only search query", method: http.MethodPost, url: search, body: `{"query":"  \t"}`},
		{name: "neither query nor embedding", method: http.MethodPost, url: search, body: `{"k":5}`},
		{name: "both query and embedding", method: http.MethodPost, url: search, body: `{"query":"x","embedding":` + vector(768) + `}`},
		{name: "embedding of the wrong length", method: http.MethodPost, url: search, body: `{"embedding":` + vector(767) + `}`},
		{name: "k below range", method: http.MethodPost, url: search, body: `{"query":"x","k":0}`},
		{name: "k above range", method: http.MethodPost, url: search, body: `{"query":"x","k":51}`},
		{name: "minScore above range", method: http.MethodPost, url: search, body: `{"query":"x","minScore":2}`},
		{name: "query not text", method: http.MethodPost, url: search, body: `{"query":5}`},
		{name: "unknown search field", method: http.MethodPost, url: search, body: `{"query":"x","extra":1}`},
		{name: "empty difficulty filter", method: http.MethodPost, url: search, body: `{"query":"x","filters":{"difficulty":""}}`},
		{name: "depth filter above range", method: http.MethodPost, url: search, body: `{"query":"x","filters":{"maxDepth":201}}`},
		{name: "unknown filter", method: http.MethodPost, url: search, body: `{"query":"x","filters":{"Region":"x"}}`},
	}
	for name := range documentCannotSay {
		assert.True(t, func() bool {
			for _, c := range cases {
				if c.name == name {
					return true
				}
			}
			return false
		}(), "allowlisted %q has a case", name)
	}
	for _, c := range cases {
		method := c.method
		if method == "" {
			method = http.MethodGet
		}
		newRequest := func() *http.Request {
			var body io.Reader
			if c.body != "" {
				body = strings.NewReader(c.body)
			}
			req, err := http.NewRequest(method, c.url, body)
			require.NoError(t, err)
			if c.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			req.Header.Set("Authorization", "Bearer "+token)
			for i := 0; i+1 < len(c.header); i += 2 {
				req.Header.Set(c.header[i], c.header[i+1])
			}
			return req
		}

		r := do(t, newRequest())
		if assert.Equal(t, http.StatusBadRequest, r.status, "%s: the server refuses it: %s", c.name, r.raw) {
			assert.Equal(t, "invalid_input", errorOf(t, r)["code"], c.name)
		}

		req := newRequest()
		route, params, err := router.FindRoute(req)
		if !assert.NoError(t, err, "%s: the document has the route", c.name) {
			continue
		}
		err = openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route, Options: options})
		if why, ok := documentCannotSay[c.name]; ok {
			assert.NoError(t, err, "%s is allowlisted (%s) but the document now refuses it: drop it from documentCannotSay", c.name, why)
		} else {
			assert.Error(t, err, "%s: the server refuses it, the document accepts it", c.name)
		}
	}
}
