package embedding

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/genai"
)

// NewGenAIClient returns a client for the Gemini API whose HTTP transport
// records Retry-After headers for WithRetryHint (the SDK's errors carry no
// headers). Both the embedder and the planner's generator use it. hc may be
// nil; its Transport, when set, is what the requests go through (tests point
// it, or baseURL, at a local fake).
func NewGenAIClient(ctx context.Context, apiKey, baseURL string, hc *http.Client) (*genai.Client, error) {
	base := http.DefaultTransport
	if hc != nil && hc.Transport != nil {
		base = hc.Transport
	}
	client, err := genai.NewClient(ctx, &genai.ClientConfig{
		APIKey:      apiKey,
		Backend:     genai.BackendGeminiAPI,
		HTTPClient:  &http.Client{Transport: retryAfterTransport{base}},
		HTTPOptions: genai.HTTPOptions{BaseURL: baseURL},
	})
	if err != nil {
		return nil, fmt.Errorf("gemini client: %w", err)
	}
	return client, nil
}

// RetryHint holds the last Retry-After a call through NewGenAIClient's
// client was answered with.
type RetryHint struct{ d atomic.Int64 }

// Get returns the delay the server asked for, 0 when it named none.
func (h *RetryHint) Get() time.Duration { return time.Duration(h.d.Load()) }

type retryHintKey struct{}

// WithRetryHint returns a context whose calls record Retry-After in the hint.
func WithRetryHint(ctx context.Context) (context.Context, *RetryHint) {
	h := &RetryHint{}
	return context.WithValue(ctx, retryHintKey{}, h), h
}

type retryAfterTransport struct{ base http.RoundTripper }

func (t retryAfterTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	if hint, ok := req.Context().Value(retryHintKey{}).(*RetryHint); ok {
		if d := ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); d > 0 {
			hint.d.Store(int64(d))
		}
	}
	return resp, nil
}

// ParseRetryAfter reads delay-seconds or an HTTP date, capped at an hour.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.Atoi(v); err == nil {
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now).Round(time.Second)
	}
	return min(max(d, 0), time.Hour)
}
