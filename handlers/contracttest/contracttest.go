// Package contracttest checks, in tests, every HTTP response against the
// OpenAPI document the server under test serves, so a test fails when a
// handler answers a status, header or body the contract does not describe.
// Every HTTP suite makes its requests through Client (or Transport).
package contracttest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

func init() {
	// A stream of server-sent events is checked as the document describes
	// it: the array of its events, each {"event", "id", "data"} with data
	// decoded from its JSON line (see decodeEvents).
	openapi3filter.RegisterBodyDecoder("text/event-stream", decodeEvents)
}

// decodeEvents reads a text/event-stream body into the array of its
// events. A field other than event, id and data, or data that is not one
// JSON value, is an error: the API sends neither.
func decodeEvents(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
	raw, err := io.ReadAll(body)
	if err != nil {
		return nil, err
	}
	events := []any{}
	for _, block := range strings.Split(strings.TrimSuffix(string(raw), "\n\n"), "\n\n") {
		if block == "" {
			continue
		}
		ev := map[string]any{}
		for _, line := range strings.Split(block, "\n") {
			name, value, _ := strings.Cut(line, ": ")
			switch name {
			case "event", "id":
				ev[name] = value
			case "data":
				var v any
				if err := json.Unmarshal([]byte(value), &v); err != nil {
					return nil, fmt.Errorf("event data: %w", err)
				}
				ev[name] = v
			default:
				return nil, fmt.Errorf("unexpected event line %q", line)
			}
		}
		events = append(events, ev)
	}
	return events, nil
}

// SpecPath is where the server serves the OpenAPI 3.0 downgrade of its 3.1
// document; kin-openapi validates 3.0 best.
const SpecPath = "/api/v1/openapi-3.0.json"

// Contract is a loaded OpenAPI document.
type Contract struct {
	doc         *openapi3.T
	router      routers.Router
	errorSchema *openapi3.Schema
}

var (
	mu     sync.Mutex
	loaded *Contract // every server in one test binary serves the same document
)

// loadWait bounds how long Load waits for an instance to serve the document.
// An instance binds its port before its router is built and answers 503
// "starting" until then (handlers.Starting); on a busy machine that lasts
// seconds, and a rolling restart sends requests to such instances on purpose.
const loadWait = time.Minute

// Load fetches and parses the document served at base (once per process),
// waiting up to loadWait for an instance that serves it: until then every
// answer is a 503 or a refused connection, not a document to check against.
func Load(base string) (*Contract, error) {
	mu.Lock()
	defer mu.Unlock()
	if loaded != nil {
		return loaded, nil
	}
	raw, err := fetch(strings.TrimSuffix(base, "/")+SpecPath, loadWait)
	if err != nil {
		return nil, err
	}
	c, err := Parse(raw)
	if err != nil {
		return nil, err
	}
	loaded = c
	return c, nil
}

// fetch GETs docURL until it answers 200, for at most wait.
func fetch(docURL string, wait time.Duration) ([]byte, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	raw, err := backoff.Retry(context.Background(), func() ([]byte, error) {
		res, err := client.Get(docURL)
		if err != nil {
			return nil, err
		}
		defer res.Body.Close()
		raw, err := io.ReadAll(res.Body)
		if err != nil {
			return nil, err
		}
		if res.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("status %d", res.StatusCode)
		}
		return raw, nil
	}, backoff.WithBackOff(&backoff.ExponentialBackOff{
		InitialInterval: 20 * time.Millisecond, RandomizationFactor: 0.2, Multiplier: 1.5, MaxInterval: time.Second,
	}), backoff.WithMaxElapsedTime(wait))
	if err != nil {
		return nil, fmt.Errorf("fetch contract: waited %s for %s to serve the document (200) from a started instance; last answer: %w",
			wait, docURL, err)
	}
	return raw, nil
}

// Parse reads an OpenAPI 3.0 document.
func Parse(raw []byte) (*Contract, error) {
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		return nil, fmt.Errorf("parse contract: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("contract is not valid OpenAPI: %w", err)
	}
	doc.Servers = nil // match paths on any host: test servers listen on random ports
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route contract: %w", err)
	}
	c := &Contract{doc: doc, router: router}
	// The one error shape, for answers on paths the document does not list
	// (unknown routes, wrong methods): the 400 of any operation has it.
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if r := op.Responses.Value("400"); r != nil && r.Value != nil {
				if mt := r.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
					c.errorSchema = mt.Schema.Value
				}
			}
		}
	}
	if c.errorSchema == nil {
		return nil, errors.New("contract: no error schema found")
	}
	return c, nil
}

// Check returns why the response (status, header, body) to req breaks the
// contract, or nil.
func (c *Contract) Check(req *http.Request, status int, header http.Header, body []byte) error {
	if header.Get("X-Request-ID") == "" {
		return errors.New("no X-Request-ID header")
	}
	if header.Get("X-Content-Type-Options") != "nosniff" {
		return errors.New("no security headers")
	}
	if strings.HasPrefix(req.URL.Path, "/docs") || strings.HasPrefix(req.URL.Path, "/api/v1/openapi") {
		return nil // the contract itself and its rendering
	}
	// Route on a copy without body: validation reads only the response.
	r := req.Clone(context.Background())
	r.Body, r.GetBody, r.ContentLength = http.NoBody, nil, 0
	route, params, err := c.router.FindRoute(r)
	if err != nil {
		if req.Method == http.MethodOptions && status == http.StatusNoContent {
			return nil // a CORS preflight, answered by the middleware
		}
		if status < 400 {
			return fmt.Errorf("status %d on a path or method the contract does not list", status)
		}
		return c.checkError(body)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	return openapi3filter.ValidateResponse(context.Background(), in)
}

func (c *Contract) checkError(body []byte) error {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("error body is not JSON: %w", err)
	}
	if err := c.errorSchema.VisitJSON(v); err != nil {
		return fmt.Errorf("error body is not the error shape: %w", err)
	}
	return nil
}

// transport checks every response it carries.
type transport struct {
	t    testing.TB
	next http.RoundTripper
}

// Transport returns a RoundTripper that reports (t.Errorf, safe from any
// goroutine) every response that breaks the contract served by the same
// server. 499s and transport errors are not checked: nobody reads them.
func Transport(t testing.TB, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &transport{t: t, next: next}
}

// Client is an http.Client over Transport.
func Client(t testing.TB, timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: Transport(t, nil)}
}

func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := tr.next.RoundTrip(req)
	if err != nil {
		return res, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return res, nil // a cut connection (fault tests): not an answer to check
	}
	base := (&url.URL{Scheme: req.URL.Scheme, Host: req.URL.Host}).String()
	c, err := Load(base)
	if err != nil {
		tr.t.Errorf("contract: %v", err)
		return res, nil
	}
	if err := c.Check(req, res.StatusCode, res.Header, body); err != nil {
		tr.t.Errorf("contract: %s %s answered %d, which the OpenAPI document does not allow: %v\nbody: %.500s",
			req.Method, req.URL.RequestURI(), res.StatusCode, err, body)
	}
	return res, nil
}
