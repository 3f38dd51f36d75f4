package planner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/dovvydive/backend/knowledge/gemini"
)

const fakeKey = "test-gemini-key"

// fakeGemini speaks the Gemini API's generateContent and
// streamGenerateContent (alt=sse) for the default model, recording each
// request body.
type fakeGemini struct {
	*httptest.Server
	mu       sync.Mutex
	bodies   []string
	paths    []string
	respond  func(w http.ResponseWriter, r *http.Request, stream bool)
	released chan struct{}
}

func newFakeGemini(t *testing.T, respond func(w http.ResponseWriter, r *http.Request, stream bool)) *fakeGemini {
	t.Helper()
	f := &fakeGemini{respond: respond, released: make(chan struct{})}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.bodies = append(f.bodies, string(body))
		f.paths = append(f.paths, r.URL.Path+"?"+r.URL.RawQuery)
		f.mu.Unlock()
		if r.Header.Get("x-goog-api-key") != fakeKey {
			http.Error(w, `{"error":{"code":403,"message":"API key not valid","status":"PERMISSION_DENIED"}}`, http.StatusForbidden)
			return
		}
		var stream bool
		switch {
		case strings.HasSuffix(r.URL.Path, "/models/"+GeminiModel+":streamGenerateContent") && r.URL.Query().Get("alt") == "sse":
			stream = true
		case strings.HasSuffix(r.URL.Path, "/models/"+GeminiModel+":generateContent"):
		default:
			http.Error(w, `{"error":{"code":404,"message":"no such method","status":"NOT_FOUND"}}`, http.StatusNotFound)
			return
		}
		f.respond(w, r, stream)
	}))
	t.Cleanup(func() {
		close(f.released) // let hanging handlers return before the server closes
		f.Close()
	})
	return f
}

func (f *fakeGemini) lastBody(t *testing.T) map[string]any {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	require.NotEmpty(t, f.bodies)
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(f.bodies[len(f.bodies)-1]), &m))
	return m
}

func chunkJSON(text, finish string) string {
	cand := map[string]any{"content": map[string]any{"role": "model", "parts": []any{map[string]any{"text": text}}}, "index": 0}
	if finish != "" {
		cand["finishReason"] = finish
	}
	b, _ := json.Marshal(map[string]any{"candidates": []any{cand}})
	return string(b)
}

// answer replies with pieces: as SSE events when streaming, joined otherwise.
func answer(pieces ...string) func(http.ResponseWriter, *http.Request, bool) {
	return func(w http.ResponseWriter, r *http.Request, stream bool) {
		if !stream {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, chunkJSON(strings.Join(pieces, ""), "STOP"))
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for i, p := range pieces {
			finish := ""
			if i == len(pieces)-1 {
				finish = "STOP"
			}
			fmt.Fprintf(w, "data: %s\r\n\r\n", chunkJSON(p, finish))
			w.(http.Flusher).Flush()
		}
	}
}

func newGeminiGen(t *testing.T, url string, tune ...func(*GeminiConfig)) *Gemini {
	t.Helper()
	cfg := GeminiConfig{APIKey: fakeKey, BaseURL: url, Timeout: 2 * time.Second}
	for _, f := range tune {
		f(&cfg)
	}
	g, err := NewGemini(context.Background(), cfg)
	require.NoError(t, err)
	return g
}

func geminiRequest(t *testing.T, lang string) Request {
	req := extractiveRequest(t, lang, "Where can I see hammerheads in April? I'm AOW.",
		Constraints{Months: []int{4}, Certification: "advanced_open_water", Wishes: []string{"hammerheads"}},
		"layang-layang-hammerhead-point")
	req.History = []Message{{Role: RoleUser, Content: "Hi, I'm planning a trip."}, {Role: RoleAssistant, Content: "Great, when are you going?"}}
	return req
}

func collect() (*[]string, func(string) error) {
	var got []string
	return &got, func(d string) error { got = append(got, d); return nil }
}

func TestGemini_StreamsAGroundedAnswer(t *testing.T) {
	f := newFakeGemini(t, answer("Hammerhead Point ", "at Layang-Layang ", "is your best bet in April."))
	g := newGeminiGen(t, f.URL)
	req := geminiRequest(t, "en")
	deltas, emit := collect()

	ans, err := g.Generate(context.Background(), req, emit)
	require.NoError(t, err)
	assert.Equal(t, []string{"Hammerhead Point ", "at Layang-Layang ", "is your best bet in April."}, *deltas)
	assert.Equal(t, "Hammerhead Point at Layang-Layang is your best bet in April.", ans.Content)
	assert.Equal(t, GeminiModel, ans.Model)
	assert.False(t, ans.Refused)
	require.NotEmpty(t, ans.Citations)
	assert.Equal(t, "layang-layang-hammerhead-point", ans.Citations[0].Slug)

	assert.Contains(t, f.paths[0], ":streamGenerateContent?alt=sse")
	body := f.lastBody(t)
	sys, _ := json.Marshal(body["systemInstruction"])
	assert.Contains(t, string(sys), "ONLY on the site facts and passages", "grounding instruction")
	assert.Contains(t, string(sys), "Answer in English")
	assert.Contains(t, string(sys), "Hammerhead Point, Layang-Layang", "site facts")
	firstSentence := strings.SplitN(req.Passages[0].Text, ".", 2)[0]
	assert.Contains(t, string(sys), jsonEscape(firstSentence), "the passages")
	assert.NotContains(t, f.bodies[0], fakeKey, "the key travels in a header only")

	contents := body["contents"].([]any)
	require.Len(t, contents, 3, "two earlier turns, then the message")
	last := contents[2].(map[string]any)
	assert.Equal(t, "user", last["role"])
	assert.Contains(t, fmt.Sprint(last["parts"]), "hammerheads in April")
	assert.Equal(t, "model", contents[1].(map[string]any)["role"])
}

func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return strings.Trim(string(b), `"`)
}

func TestGemini_WithoutEmitUsesGenerateContent(t *testing.T) {
	f := newFakeGemini(t, answer("七月", "去拉央拉央。"))
	g := newGeminiGen(t, f.URL)
	ans, err := g.Generate(context.Background(), geminiRequest(t, "zh"), nil)
	require.NoError(t, err)
	assert.Equal(t, "七月去拉央拉央。", ans.Content)
	assert.Contains(t, f.paths[0], ":generateContent")
	sys, _ := json.Marshal(f.lastBody(t)["systemInstruction"])
	assert.Contains(t, string(sys), "Simplified Chinese")
}

// The generation settings and the system instruction's role are what the
// SDK sent, streamed or not.
func TestGemini_SendsTheGenerationConfigTheSDKSent(t *testing.T) {
	f := newFakeGemini(t, answer("ok"))
	g := newGeminiGen(t, f.URL)
	for _, emit := range []func(string) error{nil, func(string) error { return nil }} {
		_, err := g.Generate(context.Background(), geminiRequest(t, "en"), emit)
		require.NoError(t, err)
		body := f.lastBody(t)
		assert.Equal(t, map[string]any{"maxOutputTokens": 1024.0, "temperature": 0.3}, body["generationConfig"])
		assert.Equal(t, "user", body["systemInstruction"].(map[string]any)["role"])
		assert.ElementsMatch(t, []string{"contents", "generationConfig", "systemInstruction"}, slices.Collect(maps.Keys(body)), "nothing else")
	}
}

func TestGemini_RateLimitIsUpstreamWithRetryAfter(t *testing.T) {
	f := newFakeGemini(t, func(w http.ResponseWriter, r *http.Request, stream bool) {
		w.Header().Set("Retry-After", "7")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED"}}`)
	})
	for _, streaming := range []bool{true, false} {
		g := newGeminiGen(t, f.URL)
		var emit func(string) error
		if streaming {
			_, emit = collect()
		}
		_, err := g.Generate(context.Background(), geminiRequest(t, "en"), emit)
		var up *ErrUpstream
		require.ErrorAs(t, err, &up, "streaming=%v", streaming)
		assert.Equal(t, "gemini", up.Name)
		assert.Equal(t, 7*time.Second, up.RetryAfter)
		assert.Contains(t, up.Error(), "429")
	}
}

func TestGemini_ServerErrorIsUpstream(t *testing.T) {
	f := newFakeGemini(t, func(w http.ResponseWriter, r *http.Request, stream bool) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"error":{"code":503,"message":"The model is overloaded","status":"UNAVAILABLE"}}`)
	})
	_, emit := collect()
	_, err := newGeminiGen(t, f.URL).Generate(context.Background(), geminiRequest(t, "en"), emit)
	var up *ErrUpstream
	require.ErrorAs(t, err, &up)
	assert.Equal(t, "gemini", up.Name)
	assert.Zero(t, up.RetryAfter)
	assert.Contains(t, up.Error(), "503")
}

func TestGemini_AHangTimesOut(t *testing.T) {
	var f *fakeGemini
	f = newFakeGemini(t, func(w http.ResponseWriter, r *http.Request, stream bool) {
		if stream { // send one piece, then hang mid-stream
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprintf(w, "data: %s\r\n\r\n", chunkJSON("Hammer", ""))
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-f.released:
		}
	})
	for _, streaming := range []bool{true, false} {
		g := newGeminiGen(t, f.URL, func(c *GeminiConfig) { c.Timeout = 300 * time.Millisecond })
		var emit func(string) error
		if streaming {
			_, emit = collect()
		}
		start := time.Now()
		_, err := g.Generate(context.Background(), geminiRequest(t, "en"), emit)
		var up *ErrUpstream
		require.ErrorAs(t, err, &up, "streaming=%v", streaming)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Less(t, time.Since(start), 2*time.Second, "bounded by the timeout")
	}
}

func TestGemini_CallerCancellationIsNotAnUpstreamFailure(t *testing.T) {
	var f *fakeGemini
	f = newFakeGemini(t, func(w http.ResponseWriter, r *http.Request, stream bool) {
		select {
		case <-r.Context().Done():
		case <-f.released:
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, emit := collect()
	_, err := newGeminiGen(t, f.URL).Generate(ctx, geminiRequest(t, "en"), emit)
	assert.ErrorIs(t, err, context.Canceled)
	var up *ErrUpstream
	assert.False(t, errors.As(err, &up))
}

func TestGemini_SafetyStopIsAPoliteRefusalNotAnError(t *testing.T) {
	f := newFakeGemini(t, func(w http.ResponseWriter, r *http.Request, stream bool) {
		cand := `{"candidates":[{"finishReason":"SAFETY","index":0,"safetyRatings":[{"category":"HARM_CATEGORY_DANGEROUS_CONTENT","probability":"HIGH","blocked":true}]}]}`
		if stream {
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprintf(w, "data: %s\r\n\r\n", cand)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, cand)
	})
	for _, lang := range []string{"en", "zh"} {
		deltas, emit := collect()
		ans, err := newGeminiGen(t, f.URL).Generate(context.Background(), geminiRequest(t, lang), emit)
		require.NoError(t, err)
		assert.True(t, ans.Refused)
		assert.Equal(t, tr(lang, "I'm sorry", "抱歉"), string([]rune(ans.Content)[:len([]rune(tr(lang, "I'm sorry", "抱歉")))]))
		assert.Equal(t, []string{ans.Content}, *deltas, "the refusal is streamed too")
		assert.Empty(t, ans.Citations)
	}
	ans, err := newGeminiGen(t, f.URL).Generate(context.Background(), geminiRequest(t, "en"), nil)
	require.NoError(t, err)
	assert.True(t, ans.Refused, "also without streaming")
}

func TestGemini_BlockedPromptIsARefusal(t *testing.T) {
	f := newFakeGemini(t, func(w http.ResponseWriter, r *http.Request, stream bool) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"promptFeedback":{"blockReason":"SAFETY"}}`)
	})
	ans, err := newGeminiGen(t, f.URL).Generate(context.Background(), geminiRequest(t, "en"), nil)
	require.NoError(t, err)
	assert.True(t, ans.Refused)
}

func TestGemini_EmptyCandidatesAreUpstreamFailures(t *testing.T) {
	f := newFakeGemini(t, func(w http.ResponseWriter, r *http.Request, stream bool) {
		if stream {
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: {\"candidates\":[]}\r\n\r\ndata: {\"usageMetadata\":{\"promptTokenCount\":12}}\r\n\r\n")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"candidates":[]}`)
	})
	for _, streaming := range []bool{true, false} {
		var emit func(string) error
		if streaming {
			_, emit = collect()
		}
		_, err := newGeminiGen(t, f.URL).Generate(context.Background(), geminiRequest(t, "en"), emit)
		var up *ErrUpstream
		require.ErrorAs(t, err, &up, "streaming=%v", streaming)
		assert.Contains(t, err.Error(), "no answer")
	}
}

func TestGemini_AnEmitErrorStopsTheStream(t *testing.T) {
	f := newFakeGemini(t, answer("one ", "two ", "three"))
	gone := errors.New("client gone")
	n := 0
	_, err := newGeminiGen(t, f.URL).Generate(context.Background(), geminiRequest(t, "en"), func(string) error {
		n++
		return gone
	})
	assert.ErrorIs(t, err, gone)
	assert.Equal(t, 1, n)
}

func TestGemini_HistoryKeepsTheNewestTurnsWithinTheBudget(t *testing.T) {
	f := newFakeGemini(t, answer("ok"))
	g := newGeminiGen(t, f.URL, func(c *GeminiConfig) { c.HistoryTokens = 100 })
	req := geminiRequest(t, "en")
	req.History = nil
	for i := range 10 {
		req.History = append(req.History, Message{Role: RoleUser, Content: fmt.Sprintf("turn %d %s", i, strings.Repeat("word ", 30))})
	}
	_, err := g.Generate(context.Background(), req, nil)
	require.NoError(t, err)
	contents := f.lastBody(t)["contents"].([]any)
	// Each turn is about 39 tokens: two fit in 100, plus the message.
	require.Len(t, contents, 3)
	assert.Contains(t, fmt.Sprint(contents[0]), "turn 8")
	assert.Contains(t, fmt.Sprint(contents[1]), "turn 9")
}

func TestEstimateTokens_CountsHanCharactersSeparately(t *testing.T) {
	assert.Equal(t, 3, estimateTokens("abcdefghij"))
	assert.Equal(t, 4, estimateTokens("诗巴丹岛"))
	assert.Equal(t, 0, estimateTokens(""))
}

func TestParseRetryAfter_ReadsSecondsAndDates(t *testing.T) {
	now := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	assert.Equal(t, 7*time.Second, gemini.ParseRetryAfter("7", now))
	assert.Equal(t, 30*time.Second, gemini.ParseRetryAfter(now.Add(30*time.Second).Format(http.TimeFormat), now))
	assert.Equal(t, time.Hour, gemini.ParseRetryAfter("999999", now), "capped")
	assert.Zero(t, gemini.ParseRetryAfter("soon", now))
	assert.Zero(t, gemini.ParseRetryAfter("", now))
}

func TestNewGemini_RequiresAKey(t *testing.T) {
	_, err := NewGemini(context.Background(), GeminiConfig{})
	assert.Error(t, err)
}

// A client that goes away mid-stream, a cancelled caller and a timeout all
// end the generation without leaving a goroutine behind.
func TestGemini_StoppingLeaksNoGoroutine(t *testing.T) {
	var f *fakeGemini
	f = newFakeGemini(t, func(w http.ResponseWriter, r *http.Request, stream bool) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 0; ; i++ {
			if _, err := fmt.Fprintf(w, "data: %s\r\n\r\n", chunkJSON(fmt.Sprintf("piece %d ", i), "")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-f.released:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
	transport := &http.Transport{}
	before := goleak.IgnoreCurrent()
	g := newGeminiGen(t, f.URL, func(c *GeminiConfig) {
		c.HTTPClient = &http.Client{Transport: transport}
		c.Timeout = 300 * time.Millisecond
	})

	gone := errors.New("client gone")
	n := 0
	_, err := g.Generate(context.Background(), geminiRequest(t, "en"), func(string) error {
		if n++; n == 3 {
			return gone
		}
		return nil
	})
	assert.ErrorIs(t, err, gone)

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err = g.Generate(ctx, geminiRequest(t, "en"), func(string) error { return nil })
	assert.ErrorIs(t, err, context.Canceled)

	_, err = g.Generate(context.Background(), geminiRequest(t, "en"), func(string) error { return nil })
	assert.ErrorIs(t, err, context.DeadlineExceeded, "an endless stream hits the timeout")

	transport.CloseIdleConnections()
	goleak.VerifyNone(t, before)
}
