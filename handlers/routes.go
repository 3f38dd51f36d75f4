package handlers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humagin"
	"github.com/gin-contrib/cors"
	"github.com/gin-contrib/secure"
	"github.com/gin-gonic/gin"

	"github.com/dovvydive/backend/knowledge"
	"github.com/dovvydive/backend/models"
)

// Store is what the handlers read and write directly (health, sites,
// operators, sessions, conversations), in domain types; *database.DB
// implements it.
type Store interface {
	healthChecker
	diveSiteStore
	diveOperatorStore
	sessionStore
	conversationStore
	// Issue 18's chat features: feedback.go, titles.go, shares.go.
	feedbackStore
	conversationTitleStore
	shareStore
}

// Searcher is the knowledge search; *knowledge.Searcher implements it.
type Searcher interface {
	Search(ctx context.Context, req knowledge.SearchRequest) ([]knowledge.Result, int, error)
	Model() string
}

// Services are the use cases the API calls, built once (in app, by serve)
// and handed to NewRouter: the router builds none of its own.
type Services struct {
	Store    Store
	Chat     Chat          // a conversation's messages (*planner.Chat)
	Searcher Searcher      // POST /api/v1/search
	Sessions SessionLimits // guest sessions' lifetime and creation cap
	// ShareKey keys the stored hashes of share links' tokens
	// (models.NewShareKey of the session secret).
	ShareKey models.ShareKey
}

// RouterConfig is the HTTP settings of NewRouter. What the API does (quota,
// search settings, the planner, session lifetimes) is the services'.
type RouterConfig struct {
	Log *slog.Logger
	// AccessLog takes the one line per request; nil means Log. serve gives
	// it a logger that writes in batches (app/logwriter.go).
	AccessLog      *slog.Logger
	RequestTimeout time.Duration
	MaxBodyBytes   int64
	TrustedProxies []string // empty: trust none, ClientIP is the peer address
	CORSOrigins    []string
	// SessionSecret signs the bearer tokens (the HTTP credential: how a
	// request names its session) and keys the HMAC of client addresses.
	SessionSecret []byte
	Metrics       *HTTPMetrics // nil: requests are not counted
	// MetricsHandler, when set, is served at GET /metrics on this router
	// (nil when metrics have their own port).
	MetricsHandler http.Handler
}

// NewRouter returns the whole API. Every route is listed here.
func NewRouter(cfg RouterConfig, svc Services) (*gin.Engine, error) {
	if svc.Store == nil || svc.Chat == nil || svc.Searcher == nil || svc.ShareKey.IsZero() {
		return nil, errors.New("router: the store, the chat, the searcher and the share key are required")
	}
	r, api, err := newAPI(cfg)
	if err != nil {
		return nil, err
	}
	store := svc.Store
	// op fills what every operation shares: the body limits, and the errors
	// every route can answer (bad input, 500, and 503 while the database is
	// out of reach).
	op := func(method, path, id, summary string, errs ...int) huma.Operation {
		return huma.Operation{Method: method, Path: path, OperationID: id, Summary: summary,
			MaxBodyBytes: cfg.MaxBodyBytes, BodyReadTimeout: cfg.RequestTimeout,
			Errors: append([]int{http.StatusBadRequest}, errs...)}
	}

	health := NewHealthHandler(store)
	registry := api.OpenAPI().Components.Schemas
	livez := op(http.MethodGet, "/livez", "livez", "Liveness: the process runs; never touches the database")
	livez.Errors = []int{http.StatusBadRequest, http.StatusInternalServerError} // 400: an unknown query parameter
	register(api, livez, health.Livez)
	register(api, probeOp[ReadyBody](op(http.MethodGet, "/readyz", "readyz", "Readiness: the database answers at this binary's schema version"), registry), health.Readyz)
	register(api, probeOp[HealthResponse](op(http.MethodGet, "/health", "health", "The database report the frontend shows"), registry), health.Health)

	if cfg.MetricsHandler != nil {
		r.GET("/metrics", gin.WrapH(cfg.MetricsHandler))
	}
	documentMetrics(api)

	// Dive sites and operators carry an ETag and Cache-Control (see cacheable).
	sites := NewDiveSiteHandler(store)
	register(api, cachedOp(op(http.MethodGet, "/api/v1/dive-sites", "listDiveSites", "Filtered, paginated dive sites", 503)), sites.List)
	register(api, cachedOp(op(http.MethodGet, "/api/v1/dive-sites/{id}", "getDiveSite", "One dive site with its operators", 404, 503)), sites.Get)
	operators := NewDiveOperatorHandler(store)
	register(api, cachedOp(op(http.MethodGet, "/api/v1/dive-operators", "listDiveOperators", "Dive operators, optionally by region or site", 503)), operators.List)

	sessions := NewSessionHandler(store, cfg.SessionSecret, svc.Sessions)
	create := op(http.MethodPost, "/api/v1/sessions", "createSession", "Start a guest session", 413, 415, 429, 503)
	create.DefaultStatus = http.StatusCreated
	register(api, create, sessions.Create)
	registerSecured(api, sessions.auth, op(http.MethodGet, "/api/v1/sessions/current", "currentSession", "The session named by the bearer token", 503), sessions.Current)

	// The trip planner: a session's conversations. Another session's
	// conversation is answered exactly like a missing one (404).
	convs := NewConversationHandler(store, svc.Chat)
	createConv := op(http.MethodPost, "/api/v1/conversations", "createConversation", "Start a conversation", 413, 415, 503)
	createConv.DefaultStatus = http.StatusCreated
	registerSecured(api, sessions.auth, createConv, convs.Create)
	registerSecured(api, sessions.auth, op(http.MethodGet, "/api/v1/conversations", "listConversations", "The session's conversations, most recently active first", 503), convs.List)
	registerSecured(api, sessions.auth, op(http.MethodGet, "/api/v1/conversations/{id}", "getConversation", "A conversation with its latest messages", 404, 503), convs.Get)
	deleteConv := op(http.MethodDelete, "/api/v1/conversations/{id}", "deleteConversation", "Delete a conversation and its messages", 404, 503)
	deleteConv.DefaultStatus = http.StatusNoContent
	registerSecured(api, sessions.auth, deleteConv, convs.Delete)
	registerSecured(api, sessions.auth, messageOp(op(http.MethodPost, "/api/v1/conversations/{id}/messages", "postMessage",
		"Ask the planner: store the message, answer it (JSON)", 404, 409, 413, 415, 422, 429, 502, 503), registry),
		convs.PostMessage)
	registerSecured(api, sessions.auth, streamOp(op(http.MethodPost, "/api/v1/conversations/{id}/messages/stream", "streamMessage",
		"Ask the planner: store the message, stream the answer (Server-Sent Events)", 404, 409, 413, 415, 422, 429, 502, 503), registry),
		convs.StreamMessage)

	// Chat features (issue 18): ratings of replies, renaming, share links.
	// Like the routes above, another session's conversation or message is
	// a 404; the shared read needs no session (security: []).
	feedback := NewFeedbackHandler(store, cfg.Metrics)
	registerSecured(api, sessions.auth, op(http.MethodPut, "/api/v1/conversations/{id}/messages/{messageId}/feedback", "putMessageFeedback",
		"Rate one of the planner's replies (replaces an earlier rating)", 404, 413, 415, 503), feedback.Put)
	deleteFeedback := op(http.MethodDelete, "/api/v1/conversations/{id}/messages/{messageId}/feedback", "deleteMessageFeedback",
		"Remove the rating of a reply", 404, 503)
	deleteFeedback.DefaultStatus = http.StatusNoContent
	registerSecured(api, sessions.auth, deleteFeedback, feedback.Delete)
	registerSecured(api, sessions.auth, op(http.MethodGet, "/api/v1/conversations/{id}/feedback", "listConversationFeedback",
		"The caller's ratings of the replies in a conversation, to show them again after a reload", 404, 503), feedback.List)
	titles := NewTitleHandler(store)
	registerSecured(api, sessions.auth, op(http.MethodPatch, "/api/v1/conversations/{id}", "renameConversation",
		"Rename a conversation (it is then never titled automatically)", 404, 413, 415, 503), titles.Rename)
	shares := NewShareHandler(store, svc.ShareKey)
	share := op(http.MethodPost, "/api/v1/conversations/{id}/share", "shareConversation",
		"Make a read-only link to a conversation (each call replaces the previous link)", 404, 503)
	share.DefaultStatus = http.StatusCreated
	registerSecured(api, sessions.auth, share, shares.Create)
	unshare := op(http.MethodDelete, "/api/v1/conversations/{id}/share", "revokeConversationShare",
		"End a conversation's share link", 404, 503)
	unshare.DefaultStatus = http.StatusNoContent
	registerSecured(api, sessions.auth, unshare, shares.Revoke)
	shared := op(http.MethodGet, "/api/v1/shared/{token}", "getSharedConversation",
		"A shared conversation, read through its link without a session", 404, 503)
	shared.Tags = []string{"Conversations"}
	// A shared link travels through chat apps and social sites, which append
	// utm_* and fbclid: the one route that ignores its query instead of
	// refusing unknown parameters.
	shared.Metadata = map[string]any{metaAnyQuery: true}
	shared.SkipValidateParams = true // it has no query parameters; the token is any text (see Shared)
	shared.Description = "Query parameters are ignored: links pick up `utm_*` and `fbclid` on the way."
	register(api, shared, shares.Shared)

	if _, err := registerSearch(api, op(http.MethodPost, "/api/v1/search", "search", "Knowledge search over dive-site text",
		413, 415, 502, 503), svc.Searcher); err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}

	return r, nil
}

// register registers an operation whose errors pass through errorFor, the
// one mapping of the services' errors to answers: a handler returns what
// its service or store returned.
func register[I, O any](api huma.API, o huma.Operation, h func(context.Context, *I) (*O, error)) {
	huma.Register(api, o, func(ctx context.Context, in *I) (*O, error) {
		out, err := h(ctx, in)
		if err != nil {
			return nil, errorFor(ctx, err)
		}
		return out, nil
	})
}

// registerSecured registers an operation that needs the session token: its
// Security names sessionToken (with the 401 in its errors), and the session
// is authenticated once huma has validated the input, then handed to the
// handler in its context (sessionFrom). Authenticating after validation,
// not in a huma middleware before it, keeps bad input from reaching the
// database and answers it 400 whatever the token, as the API always has.
func registerSecured[I, O any](api huma.API, auth *sessionAuth, o huma.Operation, h func(context.Context, *I) (*O, error)) {
	if _, ok := any(new(I)).(authorizer); !ok {
		panic("handlers: secured operation " + o.OperationID + " does not read the Authorization header")
	}
	o.Security = []map[string][]string{{"sessionToken": {}}}
	o.Errors = append(o.Errors, http.StatusUnauthorized)
	register(api, o, func(ctx context.Context, in *I) (*O, error) {
		s, err := auth.authenticate(ctx, any(in).(authorizer).authorization())
		if err != nil {
			return nil, err
		}
		return h(withSession(ctx, s), in)
	})
}

// newAPI builds the gin engine with the middleware every response passes
// through, routes gin answers itself (404, 405, /docs) and the huma API on it.
func newAPI(cfg RouterConfig) (*gin.Engine, huma.API, error) {
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	// Gin's own redirect for a trailing slash answers 301 with an HTML body,
	// before any middleware: no request id, no security headers, no log
	// line. Without it such paths reach NoRoute and get a logged JSON 404.
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	// Gin trusts every proxy by default, letting any client choose its
	// ClientIP with X-Forwarded-For (gin-gonic/gin#2809).
	if err := r.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		return nil, nil, fmt.Errorf("trusted proxies: %w", err)
	}

	r.Use(
		edge(cfg.Log, cmp.Or(cfg.AccessLog, cfg.Log), cfg.RequestTimeout, cfg.Metrics),
		secure.New(secure.Config{
			FrameDeny:             true,
			ContentTypeNosniff:    true,
			ContentSecurityPolicy: contentSecurityPolicy,
			ReferrerPolicy:        referrerPolicy,
			// TLS ends at the load balancer: no redirects or HSTS from here.
			SSLRedirect: false,
		}),
	)
	if len(cfg.CORSOrigins) > 0 { // cors.New refuses a config that allows no origin
		r.Use(cors.New(cors.Config{
			AllowOrigins: cfg.CORSOrigins,
			// Called only for an origin not in the list: answer the rejection
			// in the API's error shape (cors itself sends an empty 403).
			AllowOriginWithContextFunc: func(c *gin.Context, origin string) bool {
				writeError(c, newAPIError(http.StatusForbidden, CodeOriginNotAllowed, "Origin", "this origin may not call the API"))
				return false
			},
			// Every method and request header the document uses, so a browser
			// may send all that a generated client sends (If-None-Match on
			// the cached reads was refused before).
			AllowMethods: []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
				http.MethodDelete, http.MethodOptions},
			AllowHeaders: []string{"Content-Type", "Authorization", "X-Request-ID", "Idempotency-Key", "Accept",
				"If-None-Match"},
			ExposeHeaders: []string{"X-Request-ID", "Retry-After", "ETag", "WWW-Authenticate",
				"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"},
			MaxAge: 12 * time.Hour,
		}))
	}
	r.Use(limitBody(cfg.MaxBodyBytes), mediaTypeCase(),
		cacheable(cacheControl, "/api/v1/dive-sites", "/api/v1/dive-sites/:id", "/api/v1/dive-operators"))
	r.NoRoute(func(c *gin.Context) {
		writeError(c, newAPIError(http.StatusNotFound, CodeNotFound, "", "no route "+c.Request.Method+" "+c.Request.URL.Path))
	})
	r.NoMethod(func(c *gin.Context) {
		writeError(c, newAPIError(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "", c.Request.Method+" is not allowed here"))
	})
	serveDocs(r)

	hcfg := apiConfig()
	hcfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"sessionToken": {Type: "http", Scheme: "bearer", Description: "The `token` of POST /api/v1/sessions."},
	}
	api := humagin.New(r, hcfg)
	api.UseMiddleware(strictQuery(api))
	serveContract(r, api)
	return r, api, nil
}
