package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/handlers/contracttest"
	"github.com/dovvydive/backend/models"
)

func TestContract_TagsEveryOperationAndSaysWhichNeedNoToken(t *testing.T) {
	t.Parallel()
	srv := newServer(t, unconnectedDB(t))
	for _, doc := range []string{"/api/v1/openapi.json", "/api/v1/openapi-3.0.json"} {
		r := get(t, srv.URL+doc)
		require.Equal(t, http.StatusOK, r.status, r.raw)
		declared := map[string]bool{}
		for _, tag := range r.body["tags"].([]any) {
			declared[tag.(map[string]any)["name"].(string)] = true
		}
		assert.Len(t, declared, 6, doc)
		assert.NotEmpty(t, r.body["servers"], doc)
		public, authed := 0, 0
		for path, item := range r.body["paths"].(map[string]any) {
			for method, raw := range item.(map[string]any) {
				op := raw.(map[string]any)
				tags, _ := op["tags"].([]any)
				require.Len(t, tags, 1, "%s %s %s: one tag", doc, method, path)
				assert.True(t, declared[tags[0].(string)], "%s %s: tag %v is declared", method, path, tags[0])
				sec, ok := op["security"].([]any)
				require.True(t, ok, "%s %s %s: security is explicit", doc, method, path)
				if len(sec) == 0 {
					public++
				} else {
					authed++
				}
			}
		}
		assert.Positive(t, public, doc)
		assert.Positive(t, authed, doc)
	}
}

func TestContract_IdsAreUUIDsTimesAreDateTimesAndTheReplicaStatusIsAnEnum(t *testing.T) {
	t.Parallel()
	srv := newServer(t, unconnectedDB(t))
	r := get(t, srv.URL+"/api/v1/openapi.json")
	require.Equal(t, http.StatusOK, r.status, r.raw)
	ids := 0
	for name, raw := range r.body["components"].(map[string]any)["schemas"].(map[string]any) {
		props, _ := raw.(map[string]any)["properties"].(map[string]any)
		for field, p := range props {
			p := p.(map[string]any)
			switch {
			case strings.HasSuffix(strings.ToLower(field), "id"):
				ids++
				assert.Equal(t, "uuid", p["format"], "%s.%s", name, field)
			case strings.HasSuffix(field, "At"):
				assert.Equal(t, "date-time", p["format"], "%s.%s", name, field)
			}
		}
	}
	assert.Greater(t, ids, 5)
	replica := r.body["components"].(map[string]any)["schemas"].(map[string]any)["ReplicaHealth"].(map[string]any)
	status := replica["properties"].(map[string]any)["status"].(map[string]any)
	assert.ElementsMatch(t, []any{models.ReplicaUnchecked, models.ReplicaHealthy, models.ReplicaLagging, models.ReplicaDown}, status["enum"])
}

func TestContract_IsOpenAPI31AndListsEveryRoute(t *testing.T) {
	t.Parallel()
	srv := newServer(t, unconnectedDB(t))
	r := get(t, srv.URL+"/api/v1/openapi.json")
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.Equal(t, "3.1.0", r.body["openapi"])
	paths := r.body["paths"].(map[string]any)
	for path, method := range map[string]string{
		"/livez": "get", "/readyz": "get", "/health": "get",
		"/api/v1/dive-sites": "get", "/api/v1/dive-sites/{id}": "get", "/api/v1/dive-operators": "get",
		"/api/v1/sessions": "post", "/api/v1/sessions/current": "get", "/api/v1/search": "post",
	} {
		require.Contains(t, paths, path)
		op := paths[path].(map[string]any)[method].(map[string]any)
		responses := op["responses"].(map[string]any)
		assert.NotContains(t, responses, "422", "%s: bad input is a 400", path)
		for status, resp := range responses {
			headers := resp.(map[string]any)["headers"].(map[string]any)
			assert.Contains(t, headers, "X-Request-ID", "%s %s", path, status)
			if status == "503" {
				assert.Contains(t, headers, "Retry-After", "%s %s", path, status)
			}
		}
	}
	raw, _ := json.Marshal(r.body["components"])
	for _, enum := range []string{`"beginner","intermediate","advanced"`, `"en","zh"`, `"invalid_input"`} {
		assert.Contains(t, string(raw)+r.raw, enum)
	}
	_, err := contracttest.Load(srv.URL)
	require.NoError(t, err, "the 3.0 downgrade loads and validates in kin-openapi")
}

func TestDocs_RenderOfflineFromTheServedContract(t *testing.T) {
	t.Parallel()
	srv := newServer(t, unconnectedDB(t))
	res, err := http.Get(srv.URL + "/docs")
	require.NoError(t, err)
	defer res.Body.Close()
	page := readAll(t, res)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, page, `spec-url="/api/v1/openapi.json"`)
	assert.Contains(t, page, `src="/docs/redoc.standalone.js"`)
	assert.NotContains(t, page, "https://", "nothing is loaded from a CDN")
	assert.Contains(t, res.Header.Get("Content-Security-Policy"), "script-src 'self'")

	js, err := http.Get(srv.URL + "/docs/redoc.standalone.js")
	require.NoError(t, err)
	defer js.Body.Close()
	assert.Equal(t, http.StatusOK, js.StatusCode)
	script := readAll(t, js)
	assert.Greater(t, len(script), 500_000, "the vendored renderer")
	assert.NotContains(t, script, "https://cdn.", "Redoc's footer logo is not fetched from its CDN (refused by the CSP)")
	assert.Contains(t, page, `rel="icon" href="data:,"`, "the page asks for no favicon")
}

func readAll(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return string(b)
}

// recordingT collects the contract checker's reports instead of failing.
type recordingT struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recordingT) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestContract_AHandlerAnsweringOutsideTheContractFailsTheTest(t *testing.T) {
	t.Parallel()
	// A store whose "not found" makes the list handler answer 404, a status
	// the document does not list for GET /api/v1/dive-sites.
	store := fakeStore{testStore: unconnectedDB(t), list: func(context.Context) error { return models.ErrNotFound }}
	srv := newServer(t, store)
	rec := &recordingT{TB: t}
	client := &http.Client{Transport: contracttest.Transport(rec, nil)}
	res, err := client.Get(srv.URL + "/api/v1/dive-sites")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusNotFound, res.StatusCode)
	require.Len(t, rec.errors, 1, "the checker reports the undocumented answer")
	assert.Contains(t, rec.errors[0], "answered 404")

	// The same request answered as documented passes.
	rec.errors = nil
	ok := newServer(t, unconnectedDB(t))
	res, err = client.Get(ok.URL + "/api/v1/dive-sites")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, res.StatusCode)
	assert.Empty(t, rec.errors)
}

func TestContract_CheckRejectsWrongBodiesStatusesAndHeaders(t *testing.T) {
	t.Parallel()
	srv := newServer(t, unconnectedDB(t))
	c, err := contracttest.Load(srv.URL)
	require.NoError(t, err)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/dive-sites", nil)
	good := http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"r1"}, "X-Content-Type-Options": {"nosniff"}}
	page := `{"limit":20,"offset":0,"total":0,"nextOffset":null}`
	require.NoError(t, c.Check(req, 200, good, []byte(`{"data":[],"page":`+page+`}`)))

	for name, tc := range map[string]struct {
		status int
		header http.Header
		body   string
	}{
		"data not a list":      {200, good, `{"data":"x","page":` + page + `}`},
		"page missing":         {200, good, `{"data":[]}`},
		"extra field":          {200, good, `{"data":[],"page":` + page + `,"debug":1}`},
		"undocumented status":  {418, good, `{"error":{"code":"internal","message":"x"}}`},
		"error not the shape":  {400, good, `{"message":"bad"}`},
		"error code not known": {400, good, `{"error":{"code":"invalid_parameter","message":"x"}}`},
		"no request id":        {200, http.Header{"Content-Type": {"application/json"}, "X-Content-Type-Options": {"nosniff"}}, `{"data":[],"page":` + page + `}`},
	} {
		assert.Error(t, c.Check(req, tc.status, tc.header, []byte(tc.body)), name)
	}
}

// A generated client learns that postMessage's Accept form is deprecated
// from the parameter itself, and that a 409 says when to retry.
func TestContract_MarksTheDeprecatedAcceptAndDocumentsThe409sRetryAfter(t *testing.T) {
	t.Parallel()
	srv := newServer(t, unconnectedDB(t))
	r := get(t, srv.URL+"/api/v1/openapi.json")
	require.Equal(t, http.StatusOK, r.status, r.raw)
	post := r.body["paths"].(map[string]any)["/api/v1/conversations/{id}/messages"].(map[string]any)["post"].(map[string]any)
	var accept map[string]any
	for _, p := range post["parameters"].([]any) {
		if p := p.(map[string]any); p["name"] == "Accept" {
			accept = p
		}
	}
	require.NotNil(t, accept, "postMessage documents Accept")
	assert.Equal(t, true, accept["deprecated"], "the Accept parameter is deprecated")
	for _, path := range []string{"/api/v1/conversations/{id}/messages", "/api/v1/conversations/{id}/messages/stream"} {
		op := r.body["paths"].(map[string]any)[path].(map[string]any)["post"].(map[string]any)
		conflict := op["responses"].(map[string]any)["409"].(map[string]any)
		assert.Contains(t, conflict["headers"], "Retry-After", path)
	}
}

// Every error response, and the stream's error event, is the one Error
// component: a generated client has one error type.
func TestContract_EveryErrorResponseIsTheOneErrorComponent(t *testing.T) {
	t.Parallel()
	srv := newServer(t, unconnectedDB(t))
	r := get(t, srv.URL+"/api/v1/openapi.json")
	require.Equal(t, http.StatusOK, r.status, r.raw)
	const ref = "#/components/schemas/Error"
	n := 0
	for path, item := range r.body["paths"].(map[string]any) {
		for method, raw := range item.(map[string]any) {
			for status, resp := range raw.(map[string]any)["responses"].(map[string]any) {
				if status < "400" || (path == "/health" || path == "/readyz") && status == "503" {
					continue // the probes' 503 is their report, not an error body
				}
				content, _ := resp.(map[string]any)["content"].(map[string]any)
				for mt, m := range content {
					assert.Equal(t, ref, m.(map[string]any)["schema"].(map[string]any)["$ref"], "%s %s %s %s", method, path, status, mt)
					n++
				}
			}
		}
	}
	assert.Greater(t, n, 50, "error responses checked")
	schemas := r.body["components"].(map[string]any)["schemas"].(map[string]any)
	assert.Equal(t, ref, schemas["MessageError"].(map[string]any)["$ref"])
}
