// Package gemini is a small REST client for the three calls of Google's
// Gemini API that this service makes with an API key: batchEmbedContents,
// generateContent and streamGenerateContent (Server-Sent Events). It replaced
// google.golang.org/genai, which linked gRPC, protobuf and Google's credential
// stack that an API-key client never uses. It sends what the SDK sent: the
// same v1beta paths, the key in the x-goog-api-key header, an x-server-timeout
// header, and byte-identical JSON bodies.
package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// DefaultBaseURL is Google's Gemini API endpoint.
const DefaultBaseURL = "https://generativelanguage.googleapis.com"

// APIVersion is the version every path is under (the SDK's default).
const APIVersion = "v1beta"

// Bounds on what is read from the server, so that a broken or hostile
// response cannot exhaust memory.
const (
	maxResponseBytes = 32 << 20 // a whole answer; 100 embeddings of 768 numbers are about 2 MB
	maxErrorBytes    = 64 << 10 // an error body, of which only the message is kept
	maxMessageBytes  = 1 << 10  // an error message kept from a body that is not Google's JSON
	maxEventBytes    = 8 << 20  // one line, and one event, of a stream
)

// The headers name this client honestly rather than the SDK it replaced;
// Google does not require them.
var (
	userAgent = "dovvydive-backend gl-go/" + runtime.Version()
	apiClient = "gl-go/" + runtime.Version()
)

// Client calls the Gemini API with an API key. It is safe for concurrent use.
type Client struct {
	apiKey string
	base   *url.URL
	hc     *http.Client
}

// NewClient returns a client for baseURL (DefaultBaseURL when empty) that
// sends its requests through hc (a plain http.Client when nil). It does no
// I/O.
func NewClient(apiKey, baseURL string, hc *http.Client) (*Client, error) {
	if apiKey == "" {
		return nil, errors.New("gemini: API key is required")
	}
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	base, err := url.Parse(baseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("gemini: base URL %q is not an http(s) URL", baseURL)
	}
	// Never follow a redirect: net/http would replay the POST with its
	// x-goog-api-key header to wherever it points (it strips only
	// Authorization and cookies). Google's API does not redirect; a redirect
	// surfaces as an error instead. The caller's client is copied, not changed.
	c := http.Client{}
	if hc != nil {
		c = *hc
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Client{apiKey: apiKey, base: base, hc: &c}, nil
}

// BatchEmbedContents embeds every request's content with model in one call,
// answering one embedding per request, in order. Each request's Model is
// set to model's resource name, which the API requires.
func (c *Client) BatchEmbedContents(ctx context.Context, model string, reqs []EmbedContentRequest) (*BatchEmbedContentsResponse, error) {
	name, err := modelName(model)
	if err != nil {
		return nil, err
	}
	body := batchEmbedContentsRequest{Requests: make([]EmbedContentRequest, len(reqs))}
	for i, r := range reqs {
		r.Model = name
		body.Requests[i] = r
	}
	var out BatchEmbedContentsResponse
	if err := c.call(ctx, name+":batchEmbedContents", body, &out); err != nil {
		return nil, fmt.Errorf("gemini batchEmbedContents: %w", err)
	}
	return &out, nil
}

// GenerateContent asks model for a whole answer.
func (c *Client) GenerateContent(ctx context.Context, model string, req *GenerateContentRequest) (*GenerateContentResponse, error) {
	name, err := modelName(model)
	if err != nil {
		return nil, err
	}
	var out GenerateContentResponse
	if err := c.call(ctx, name+":generateContent", req, &out); err != nil {
		return nil, fmt.Errorf("gemini generateContent: %w", err)
	}
	return &out, nil
}

// call posts in to method and decodes the answer into out.
func (c *Client) call(ctx context.Context, method string, in, out any) error {
	resp, err := c.post(ctx, method, "", in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	if len(data) > maxResponseBytes {
		return fmt.Errorf("response larger than %d bytes", maxResponseBytes)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil // an empty body is an empty answer, as the SDK read it
	}
	// Wrapped with %w: callers tell an undecodable answer (NaN, a number
	// beyond float32) from a failed request by its *json.SyntaxError or
	// *json.UnmarshalTypeError.
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	return nil
}

// post sends in as JSON to method (e.g. "models/x:generateContent") and
// returns the response when its status is 2xx, or an *APIError.
func (c *Client) post(ctx context.Context, method, query string, in any) (*http.Response, error) {
	var body bytes.Buffer
	// An Encoder, as the SDK used: HTML-escaped and newline-terminated, so
	// the bytes on the wire are unchanged.
	if err := json.NewEncoder(&body).Encode(in); err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	u := c.base.JoinPath(APIVersion, method)
	u.RawQuery = query
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), &body)
	if err != nil {
		return nil, fmt.Errorf("new request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("x-goog-api-client", apiClient)
	// The key travels in a header, never in the URL, so that it cannot
	// appear in a *url.Error's text.
	req.Header.Set("x-goog-api-key", c.apiKey)
	// Tells Google's front end how long the caller will wait, so it can
	// give up on work nobody will read (whole seconds, rounded up).
	if deadline, ok := ctx.Deadline(); ok {
		if secs := math.Ceil(time.Until(deadline).Seconds()); secs > 0 {
			req.Header.Set("x-server-timeout", strconv.FormatInt(int64(secs), 10))
		}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		return nil, c.apiError(resp)
	}
	return resp, nil
}

// modelName is the resource name of model: "models/" is prefixed unless it
// is already a resource name. Names that could change the request's path or
// query are refused, as the SDK refused them.
func modelName(model string) (string, error) {
	switch {
	case model == "":
		return "", errors.New("gemini: model is empty")
	case strings.ContainsAny(model, "?&#") || strings.Contains(model, ".."):
		return "", fmt.Errorf("gemini: invalid model name %q", model)
	case strings.HasPrefix(model, "models/") || strings.HasPrefix(model, "tunedModels/"):
		return model, nil
	}
	return "models/" + model, nil
}
