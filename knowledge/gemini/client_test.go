package gemini_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/knowledge/gemini"
)

const key = "AIzaSy-test-key-0123456789"

// recorded is one request as the fake server saw it.
type recorded struct {
	path, query string
	header      http.Header
	body        []byte
}

// fake records each request and answers with respond.
func fake(t *testing.T, respond func(w http.ResponseWriter, r *http.Request)) (*httptest.Server, <-chan recorded) {
	t.Helper()
	seen := make(chan recorded, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		seen <- recorded{r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body}
		respond(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, seen
}

func client(t *testing.T, url string) *gemini.Client {
	t.Helper()
	c, err := gemini.NewClient(key, url, nil)
	require.NoError(t, err)
	return c
}

func golden(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	return b
}

func writeJSON(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, body)
}

// sse writes events as Google does, each flushed as it is written.
func sse(w http.ResponseWriter, events ...string) {
	w.Header().Set("Content-Type", "text/event-stream")
	for _, e := range events {
		fmt.Fprintf(w, "data: %s\r\n\r\n", e)
		w.(http.Flusher).Flush()
	}
}

func textEvent(text string) string {
	return `{"candidates":[{"content":{"parts":[{"text":` + fmt.Sprintf("%q", text) + `}],"role":"model"},"index":0}]}`
}

// The same request the SDK was recorded with (testdata/sdkrecord).
func generateRequest() *gemini.GenerateContentRequest {
	temperature := float32(0.3)
	return &gemini.GenerateContentRequest{
		Contents: []gemini.Content{
			gemini.NewTextContent(gemini.RoleUser, "Hi, I'm planning a trip."),
			gemini.NewTextContent(gemini.RoleModel, "Great, when are you going?"),
			gemini.NewTextContent(gemini.RoleUser, "Hammerheads in April? <b>&</b>"),
		},
		SystemInstruction: &gemini.Content{Parts: []gemini.Part{{Text: "Answer in English.\nUse only the passages."}}, Role: gemini.RoleUser},
		GenerationConfig:  &gemini.GenerationConfig{Temperature: &temperature, MaxOutputTokens: 1024},
	}
}

func assertHeaders(t *testing.T, h http.Header, wantTimeout string) {
	t.Helper()
	assert.Equal(t, key, h.Get("x-goog-api-key"))
	assert.Equal(t, "application/json", h.Get("Content-Type"))
	assert.Equal(t, wantTimeout, h.Get("x-server-timeout"), "the caller's deadline in whole seconds")
	assert.NotEmpty(t, h.Get("User-Agent"))
}

func TestBatchEmbedContents_SendsTheBytesPathAndHeadersTheSDKSent(t *testing.T) {
	srv, seen := fake(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, `{"embeddings":[{"values":[0.1,0.2]},{"values":[0.3,0.4]}]}`)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	reqs := []gemini.EmbedContentRequest{
		{Content: gemini.NewTextContent(gemini.RoleUser, "Hammerheads <at> dawn & dusk"), TaskType: "RETRIEVAL_DOCUMENT", OutputDimensionality: 768},
		{Content: gemini.NewTextContent(gemini.RoleUser, "诗巴丹 \"Sipadan\"\n"), TaskType: "RETRIEVAL_DOCUMENT", OutputDimensionality: 768},
	}
	resp, err := client(t, srv.URL).BatchEmbedContents(ctx, "gemini-embedding-001", reqs)
	require.NoError(t, err)
	require.Len(t, resp.Embeddings, 2)
	assert.Equal(t, []float32{0.3, 0.4}, resp.Embeddings[1].Values)

	r := <-seen
	assert.Equal(t, "/v1beta/models/gemini-embedding-001:batchEmbedContents", r.path)
	assert.Empty(t, r.query)
	assert.Equal(t, string(golden(t, "sdk_batchEmbedContents.json")), string(r.body), "byte for byte")
	assertHeaders(t, r.header, "30")
	assert.Empty(t, reqs[0].Model, "the caller's requests are not modified")
}

func TestGenerateContent_SendsTheSDKsBytesAndReadsTheAnswer(t *testing.T) {
	srv, seen := fake(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, `{"candidates":[{"content":{"parts":[{"text":"thinking","thought":true},{"text":"Layang-Layang."}],"role":"model"},
			"finishReason":"STOP","index":0,"safetyRatings":[]}],"usageMetadata":{"promptTokenCount":5},"modelVersion":"x"}`)
	})
	resp, err := client(t, srv.URL).GenerateContent(context.Background(), "gemini-3.5-flash", generateRequest())
	require.NoError(t, err)
	require.Len(t, resp.Candidates, 1)
	c := resp.Candidates[0]
	assert.Equal(t, gemini.FinishReason("STOP"), c.FinishReason)
	assert.Equal(t, []gemini.Part{{Text: "thinking", Thought: true}, {Text: "Layang-Layang."}}, c.Content.Parts)

	r := <-seen
	assert.Equal(t, "/v1beta/models/gemini-3.5-flash:generateContent", r.path)
	assert.Equal(t, string(golden(t, "sdk_generateContent.json")), string(r.body), "byte for byte")
	assertHeaders(t, r.header, "")
}

func TestGenerateContent_ReadsABlockedPrompt(t *testing.T) {
	srv, _ := fake(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, `{"promptFeedback":{"blockReason":"PROHIBITED_CONTENT"}}`)
	})
	resp, err := client(t, srv.URL).GenerateContent(context.Background(), "m", generateRequest())
	require.NoError(t, err)
	assert.Empty(t, resp.Candidates)
	assert.Equal(t, gemini.BlockReason("PROHIBITED_CONTENT"), resp.PromptFeedback.BlockReason)
}

func TestGenerateContent_AnEmptyBodyIsAnEmptyAnswer(t *testing.T) {
	srv, _ := fake(t, func(w http.ResponseWriter, r *http.Request) {})
	resp, err := client(t, srv.URL).GenerateContent(context.Background(), "m", generateRequest())
	require.NoError(t, err, "as the SDK read it; the caller decides an empty answer is a failure")
	assert.Empty(t, resp.Candidates)
}

func TestBatchEmbedContents_AnUndecodableAnswerKeepsItsJSONErrorType(t *testing.T) {
	for name, body := range map[string]string{
		"NaN":            `{"embeddings":[{"values":[NaN]}]}`,
		"beyond float32": `{"embeddings":[{"values":[1e39]}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			srv, _ := fake(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, body) })
			_, err := client(t, srv.URL).BatchEmbedContents(context.Background(), "m", nil)
			var syntax *json.SyntaxError
			var typ *json.UnmarshalTypeError
			assert.True(t, errors.As(err, &syntax) || errors.As(err, &typ), "the embedder does not retry these: %v", err)
		})
	}
}

func TestModelNames_ArePrefixedOnceAndPathTricksRefused(t *testing.T) {
	srv, seen := fake(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, `{}`) })
	c := client(t, srv.URL)
	for model, path := range map[string]string{
		"gemini-x":        "/v1beta/models/gemini-x:generateContent",
		"models/gemini-x": "/v1beta/models/gemini-x:generateContent",
		"tunedModels/t1":  "/v1beta/tunedModels/t1:generateContent",
	} {
		_, err := c.GenerateContent(context.Background(), model, generateRequest())
		require.NoError(t, err)
		assert.Equal(t, path, (<-seen).path, model)
	}
	for _, model := range []string{"", "../../v1/files", "m?key=x", "m#x", "m&x"} {
		_, err := c.GenerateContent(context.Background(), model, generateRequest())
		assert.Error(t, err, model)
	}
	assert.Empty(t, seen, "refused names send nothing")
}

func TestNewClient_NeedsAKeyAndAnHTTPBaseURL(t *testing.T) {
	_, err := gemini.NewClient("", "", nil)
	assert.Error(t, err)
	for _, u := range []string{"ftp://example.com", "localhost:8080", "://x"} {
		_, err = gemini.NewClient(key, u, nil)
		assert.Error(t, err, u)
	}
	_, err = gemini.NewClient(key, "", nil)
	assert.NoError(t, err, "Google's endpoint by default")
}

func TestAPIError_ReadsGooglesErrorBodyAndRetryAfter(t *testing.T) {
	srv, _ := fake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "7")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED",
			"details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"7s"}]}}`)
	})
	c := client(t, srv.URL)
	calls := map[string]func() error{
		"embed":    func() error { _, err := c.BatchEmbedContents(context.Background(), "m", nil); return err },
		"generate": func() error { _, err := c.GenerateContent(context.Background(), "m", generateRequest()); return err },
		"stream": func() error {
			for _, err := range c.StreamGenerateContent(context.Background(), "m", generateRequest()) {
				return err
			}
			return nil
		},
	}
	for name, call := range calls {
		err := call()
		var apiErr *gemini.APIError
		require.ErrorAs(t, err, &apiErr, name)
		assert.Equal(t, 429, apiErr.Code, name)
		assert.Equal(t, "RESOURCE_EXHAUSTED", apiErr.Status, name)
		assert.Equal(t, "Resource has been exhausted (e.g. check quota).", apiErr.Message, name)
		assert.Equal(t, 7*time.Second, apiErr.RetryAfter, name)
		assert.Contains(t, err.Error(), "HTTP 429 RESOURCE_EXHAUSTED", name)
	}
}

func TestAPIError_FallsBackToTheHTTPStatusWhenTheBodyIsNotGooglesJSON(t *testing.T) {
	long := "<html>" + strings.Repeat("bad gateway ", 1000) + "</html>"
	cases := []struct {
		name, body   string
		status       int
		wantStatus   string
		wantInMsg    string
		wantMsgBelow int
	}{
		{"proxy page", long, http.StatusBadGateway, "Bad Gateway", "<html>bad gateway", 1100},
		{"empty", "", http.StatusServiceUnavailable, "Service Unavailable", "", 1},
		{"JSON without error", `{"foo":1}`, http.StatusInternalServerError, "Internal Server Error", `{"foo":1}`, 100},
		{"error without code or status", `{"error":{"message":"boom"}}`, http.StatusInternalServerError, "Internal Server Error", "boom", 100},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := fake(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			})
			_, err := client(t, srv.URL).GenerateContent(context.Background(), "m", generateRequest())
			var apiErr *gemini.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tc.status, apiErr.Code, "the HTTP status, never 0")
			assert.Equal(t, tc.wantStatus, apiErr.Status)
			assert.Contains(t, apiErr.Message, tc.wantInMsg)
			assert.Less(t, len(apiErr.Message), tc.wantMsgBelow, "bounded")
			assert.Zero(t, apiErr.RetryAfter)
		})
	}
}

func TestErrors_NeverContainTheAPIKey(t *testing.T) {
	echo := func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("x-goog-api-key")
		switch r.URL.Query().Get("alt") {
		case "sse":
			sse(w, textEvent("a"), `{"error":{"code":500,"message":"key `+got+` broke","status":"INTERNAL"}}`)
		default:
			w.WriteHeader(http.StatusBadRequest)
			if strings.Contains(r.URL.Path, "batchEmbed") {
				io.WriteString(w, "plain text: bad key "+got)
				return
			}
			fmt.Fprintf(w, `{"error":{"code":400,"message":"API key %s not valid","status":"INVALID_ARGUMENT"}}`, got)
		}
	}
	srv, _ := fake(t, echo)
	c := client(t, srv.URL)
	var errs []error
	_, err := c.GenerateContent(context.Background(), "m", generateRequest())
	errs = append(errs, err)
	_, err = c.BatchEmbedContents(context.Background(), "m", nil)
	errs = append(errs, err)
	for _, err := range c.StreamGenerateContent(context.Background(), "m", generateRequest()) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	_, err = client(t, closed.URL).GenerateContent(context.Background(), "m", generateRequest())
	errs = append(errs, err)

	require.Len(t, errs, 4)
	for _, err := range errs {
		require.Error(t, err)
		assert.NotContains(t, err.Error(), key)
		assert.NotContains(t, fmt.Sprintf("%#v", err), key)
	}
	assert.Contains(t, errs[0].Error(), "[redacted]", "an echoed key is replaced")
}

func TestStreamGenerateContent_SendsTheSDKsBytesWithAltSSE(t *testing.T) {
	srv, seen := fake(t, func(w http.ResponseWriter, r *http.Request) { sse(w, textEvent("ok")) })
	n := 0
	for _, err := range client(t, srv.URL).StreamGenerateContent(context.Background(), "gemini-3.5-flash", generateRequest()) {
		require.NoError(t, err)
		n++
	}
	assert.Equal(t, 1, n)
	r := <-seen
	assert.Equal(t, "/v1beta/models/gemini-3.5-flash:streamGenerateContent", r.path)
	assert.Equal(t, "alt=sse", r.query)
	assert.Equal(t, string(golden(t, "sdk_generateContent.json")), string(r.body), "the same body as generateContent")
	assertHeaders(t, r.header, "")
}

// Each event is yielded as soon as it has arrived, before the next is sent.
func TestStreamGenerateContent_YieldsEachEventAsItArrives(t *testing.T) {
	next := make(chan struct{})
	srv, _ := fake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i, piece := range []string{"one ", "two ", "three"} {
			if i > 0 {
				select {
				case <-next:
				case <-time.After(5 * time.Second):
					return
				}
			}
			fmt.Fprintf(w, "data: %s\r\n\r\n", textEvent(piece))
			w.(http.Flusher).Flush()
		}
	})
	var got []string
	for resp, err := range client(t, srv.URL).StreamGenerateContent(context.Background(), "m", generateRequest()) {
		require.NoError(t, err)
		got = append(got, resp.Candidates[0].Content.Parts[0].Text)
		if len(got) < 3 {
			next <- struct{}{} // only now does the server send the next event
		}
	}
	assert.Equal(t, []string{"one ", "two ", "three"}, got)
}

func TestStreamGenerateContent_StopsAtAMalformedEventAfterTheGoodOnes(t *testing.T) {
	srv, _ := fake(t, func(w http.ResponseWriter, r *http.Request) {
		sse(w, textEvent("good"), `{"candidates":[{"content":`, textEvent("never"))
	})
	var texts []string
	var errs []error
	for resp, err := range client(t, srv.URL).StreamGenerateContent(context.Background(), "m", generateRequest()) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		texts = append(texts, resp.Candidates[0].Content.Parts[0].Text)
	}
	assert.Equal(t, []string{"good"}, texts)
	require.Len(t, errs, 1, "the sequence ends at its error")
	assert.Contains(t, errs[0].Error(), "malformed event")
}

func TestStreamGenerateContent_AnErrorEventIsAnAPIError(t *testing.T) {
	for name, stream := range map[string]string{
		"as data":                  "data: " + textEvent("a") + "\n\ndata: {\"error\":{\"code\":503,\"message\":\"overloaded\",\"status\":\"UNAVAILABLE\"}}\n\n",
		"bare, as the SDK read it": "data: " + textEvent("a") + "\n\n{\"error\":{\"code\":503,\"message\":\"overloaded\",\"status\":\"UNAVAILABLE\"}}\n\n",
	} {
		t.Run(name, func(t *testing.T) {
			srv, _ := fake(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, stream) })
			var last error
			n := 0
			for _, err := range client(t, srv.URL).StreamGenerateContent(context.Background(), "m", generateRequest()) {
				n++
				last = err
			}
			assert.Equal(t, 2, n, "the answer, then the error")
			var apiErr *gemini.APIError
			require.ErrorAs(t, last, &apiErr)
			assert.Equal(t, 503, apiErr.Code, "the body's code: the response itself was 200")
			assert.Equal(t, "UNAVAILABLE", apiErr.Status)
		})
	}
}

func TestStreamGenerateContent_OtherNonEventLinesAreMalformed(t *testing.T) {
	srv, _ := fake(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>oops</html>\n") })
	var last error
	for _, err := range client(t, srv.URL).StreamGenerateContent(context.Background(), "m", generateRequest()) {
		last = err
	}
	require.Error(t, last)
	var apiErr *gemini.APIError
	assert.False(t, errors.As(last, &apiErr))
	assert.Contains(t, last.Error(), "malformed stream")
}

func TestStreamGenerateContent_CancellingMidStreamEndsItWithTheContextsError(t *testing.T) {
	gone := make(chan struct{})
	srv, _ := fake(t, func(w http.ResponseWriter, r *http.Request) {
		sse(w, textEvent("first"))
		<-r.Context().Done() // hang until the client hangs up
		close(gone)
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var last error
	n := 0
	began := time.Now()
	for _, err := range client(t, srv.URL).StreamGenerateContent(ctx, "m", generateRequest()) {
		n++
		last = err
		if n == 1 {
			require.NoError(t, err)
			time.AfterFunc(50*time.Millisecond, cancel)
		}
	}
	assert.Equal(t, 2, n)
	assert.ErrorIs(t, last, context.Canceled)
	assert.Less(t, time.Since(began), 2*time.Second)
	select {
	case <-gone:
	case <-time.After(2 * time.Second):
		t.Fatal("the connection was left open")
	}
}

func TestStreamGenerateContent_LeavingTheLoopClosesTheStream(t *testing.T) {
	gone := make(chan struct{})
	srv, _ := fake(t, func(w http.ResponseWriter, r *http.Request) {
		for i := 0; ; i++ {
			sse(w, textEvent(fmt.Sprint(i)))
			select {
			case <-r.Context().Done():
				close(gone)
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	})
	for range client(t, srv.URL).StreamGenerateContent(context.Background(), "m", generateRequest()) {
		break
	}
	select {
	case <-gone:
	case <-time.After(2 * time.Second):
		t.Fatal("the server kept streaming to nobody")
	}
}

func TestStreamGenerateContent_RefusesALineBeyondTheBound(t *testing.T) {
	srv, _ := fake(t, func(w http.ResponseWriter, r *http.Request) {
		sse(w, textEvent(strings.Repeat("x", 9<<20)))
	})
	var last error
	for _, err := range client(t, srv.URL).StreamGenerateContent(context.Background(), "m", generateRequest()) {
		last = err
	}
	require.Error(t, last)
	assert.Contains(t, last.Error(), "longer than")
}

// A redirect is not followed: following it would replay the request, key
// header and all, to wherever it points.
func TestClient_DoesNotFollowARedirectWithTheKey(t *testing.T) {
	elsewhere, seenElsewhere := fake(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"candidates":[]}`)
	})
	srv, _ := fake(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusTemporaryRedirect)
	})
	_, err := client(t, srv.URL).GenerateContent(context.Background(), "m", generateRequest())
	require.Error(t, err)
	var apiErr *gemini.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusTemporaryRedirect, apiErr.Code)
	assert.Empty(t, seenElsewhere, "nothing reached the redirect's target")
}

// The key is removed before a long plain-text error is cut, so no part of
// it survives at the cut.
func TestErrors_AKeyAtTheCutOfALongMessageIsRemovedWhole(t *testing.T) {
	srv, _ := fake(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, strings.Repeat("x", 1024-10)+key+strings.Repeat("y", 100))
	})
	_, err := client(t, srv.URL).GenerateContent(context.Background(), "m", generateRequest())
	require.Error(t, err)
	assert.NotContains(t, err.Error(), key[:10], "not even the start of the key")
}
