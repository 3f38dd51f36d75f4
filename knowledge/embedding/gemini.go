package embedding

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cenkalti/backoff/v5"
	"golang.org/x/time/rate"

	"github.com/dovvydive/backend/knowledge/gemini"
)

// GeminiModel is Google's current embedding model (text-embedding-004 was
// shut down in January 2026).
const GeminiModel = "gemini-embedding-001"

// Defaults of GeminiConfig, taken when a field is zero; the app's
// configuration defaults refer to them.
const (
	DefaultTimeout           = 30 * time.Second
	DefaultRequestsPerMinute = 100
)

// GeminiConfig configures the Gemini embedder.
type GeminiConfig struct {
	APIKey            string
	Model             string        // default GeminiModel
	BaseURL           string        // default Google's; tests point it at a fake server
	BatchSize         int           // texts per request; the API takes at most 100
	Timeout           time.Duration // per request; default DefaultTimeout
	MaxRetries        int           // on 429, 5xx and timeouts
	RequestsPerMinute int           // client-side rate limit; default DefaultRequestsPerMinute
	HTTPClient        *http.Client  // default a plain http.Client
}

// Gemini embeds with gemini-embedding-001 at 768 dimensions: task type
// RETRIEVAL_DOCUMENT for chunks and RETRIEVAL_QUERY for queries. Requests are
// rate-limited on the client, bounded by a timeout, and retried with
// exponential backoff on 429 and 5xx, honouring Retry-After. Vectors are
// checked (length, finite, non-zero) and L2-normalised, as Google advises for
// reduced dimensions.
type Gemini struct {
	cfg     GeminiConfig
	client  *gemini.Client
	limiter *rate.Limiter
}

// NewGemini returns a Gemini embedder. It does no I/O.
func NewGemini(_ context.Context, cfg GeminiConfig) (*Gemini, error) {
	if cfg.APIKey == "" {
		return nil, errors.New("gemini: GEMINI_API_KEY is required")
	}
	if cfg.Model == "" {
		cfg.Model = GeminiModel
	}
	cfg.BatchSize = min(max(cfg.BatchSize, 1), 100)
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.RequestsPerMinute <= 0 {
		cfg.RequestsPerMinute = DefaultRequestsPerMinute
	}
	client, err := gemini.NewClient(cfg.APIKey, cfg.BaseURL, cfg.HTTPClient)
	if err != nil {
		return nil, err
	}
	perRequest := time.Minute / time.Duration(cfg.RequestsPerMinute)
	return &Gemini{cfg: cfg, client: client, limiter: rate.NewLimiter(rate.Every(perRequest), max(1, cfg.RequestsPerMinute/60))}, nil
}

func (g *Gemini) Model() string   { return g.cfg.Model }
func (g *Gemini) Dimensions() int { return Dimensions }

func (g *Gemini) EmbedDocuments(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); start += g.cfg.BatchSize {
		vecs, err := g.embed(ctx, texts[start:min(start+g.cfg.BatchSize, len(texts))], "RETRIEVAL_DOCUMENT")
		if err != nil {
			return nil, err
		}
		out = append(out, vecs...)
	}
	return out, nil
}

func (g *Gemini) EmbedQuery(ctx context.Context, text string) ([]float32, error) {
	vecs, err := g.embed(ctx, []string{text}, "RETRIEVAL_QUERY")
	if err != nil {
		return nil, err
	}
	return vecs[0], nil
}

// ErrUpstream means the embedding service failed after every retry.
var ErrUpstream = errors.New("embedding service unavailable")

func (g *Gemini) embed(ctx context.Context, texts []string, task string) ([][]float32, error) {
	reqs := make([]gemini.EmbedContentRequest, len(texts))
	for i, t := range texts {
		reqs[i] = gemini.EmbedContentRequest{Content: gemini.NewTextContent(gemini.RoleUser, t),
			TaskType: task, OutputDimensionality: Dimensions}
	}
	call := func() ([][]float32, error) {
		if err := g.limiter.Wait(ctx); err != nil {
			return nil, backoff.Permanent(err)
		}
		callCtx, cancel := context.WithTimeout(ctx, g.cfg.Timeout)
		defer cancel()
		resp, err := g.client.BatchEmbedContents(callCtx, g.cfg.Model, reqs)
		if err != nil {
			return nil, g.classify(ctx, err)
		}
		if len(resp.Embeddings) != len(texts) {
			return nil, backoff.Permanent(fmt.Errorf("%w: %d vectors for %d texts", ErrInvalidVector, len(resp.Embeddings), len(texts)))
		}
		out := make([][]float32, len(texts))
		for i, e := range resp.Embeddings {
			if e == nil {
				return nil, backoff.Permanent(fmt.Errorf("%w: missing vector %d", ErrInvalidVector, i))
			}
			if err := Check(e.Values, Dimensions); err != nil {
				return nil, backoff.Permanent(err)
			}
			Normalize(e.Values)
			out[i] = e.Values
		}
		return out, nil
	}
	vecs, err := backoff.Retry(ctx, call,
		backoff.WithBackOff(&backoff.ExponentialBackOff{InitialInterval: 500 * time.Millisecond,
			RandomizationFactor: 0.5, Multiplier: 2, MaxInterval: 30 * time.Second}),
		backoff.WithMaxTries(uint(g.cfg.MaxRetries)+1),
		backoff.WithMaxElapsedTime(5*time.Minute))
	if err != nil {
		return nil, fmt.Errorf("gemini embed: %w", err)
	}
	return vecs, nil
}

// classify marks what is worth retrying: rate limits, server errors and
// timeouts of a single request; everything else is permanent.
func (g *Gemini) classify(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return backoff.Permanent(ctx.Err())
	}
	var apiErr *gemini.APIError
	if errors.As(err, &apiErr) {
		switch {
		case apiErr.Code == http.StatusTooManyRequests || apiErr.Code >= 500:
			wrapped := fmt.Errorf("%w: HTTP %d", ErrUpstream, apiErr.Code)
			if d := min(apiErr.RetryAfter, time.Minute); d > 0 { // a longer wait is the caller's to decide
				return errors.Join(wrapped, backoff.RetryAfter(int((d+time.Second-1)/time.Second)))
			}
			return wrapped
		default:
			return backoff.Permanent(fmt.Errorf("gemini: HTTP %d: %s", apiErr.Code, apiErr.Message))
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: request timed out after %s", ErrUpstream, g.cfg.Timeout)
	}
	// A response that arrived but does not decode (NaN, numbers beyond
	// float32) would decode no better when asked again.
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	if errors.As(err, &syntax) || errors.As(err, &typ) {
		return backoff.Permanent(fmt.Errorf("%w: unreadable response: %v", ErrInvalidVector, err))
	}
	return fmt.Errorf("%w: %v", ErrUpstream, err) // network errors: retry
}
