package handlers

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-contrib/cors"
	"github.com/gin-contrib/secure"
	"github.com/gin-gonic/gin"

	"github.com/dovvydive/backend/knowledge/embedding"
)

// Store is everything the API needs from the database.
type Store interface {
	healthChecker
	diveSiteStore
	diveOperatorStore
	sessionStore
	searchStore
}

// RouterConfig configures NewRouter.
type RouterConfig struct {
	Log            *slog.Logger
	RequestTimeout time.Duration
	MaxBodyBytes   int64
	TrustedProxies []string // empty: trust none, ClientIP is the peer address
	CORSOrigins    []string
	SessionSecret  []byte // signs guest-session tokens
	SessionTTL     time.Duration
	Embedder       embedding.Embedder // embeds search queries
	EfSearch       int                // HNSW candidate list size for searches
	DebugVars      bool               // mount GET /debug/vars (process and pool figures)
}

// NewRouter returns the whole API. Every route is listed here.
func NewRouter(cfg RouterConfig, store Store) (*gin.Engine, error) {
	if cfg.Embedder == nil {
		return nil, errors.New("router: an embedder is required")
	}
	if cfg.EfSearch <= 0 {
		cfg.EfSearch = 100
	}
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	// Gin trusts every proxy by default, letting any client choose its
	// ClientIP with X-Forwarded-For (gin-gonic/gin#2809).
	if err := r.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		return nil, fmt.Errorf("trusted proxies: %w", err)
	}

	r.Use(
		requestLog(cfg.Log),
		recovery(),
		secure.New(secure.Config{
			FrameDeny:             true,
			ContentTypeNosniff:    true,
			ContentSecurityPolicy: "default-src 'none'; frame-ancestors 'none'",
			ReferrerPolicy:        "no-referrer",
			// TLS ends at the load balancer: no redirects or HSTS from here.
			SSLRedirect: false,
		}),
	)
	if len(cfg.CORSOrigins) > 0 { // cors.New refuses a config that allows no origin
		r.Use(cors.New(cors.Config{
			AllowOrigins:  cfg.CORSOrigins,
			AllowMethods:  []string{http.MethodGet, http.MethodPost, http.MethodOptions},
			AllowHeaders:  []string{"Content-Type", "Authorization", "X-Request-ID"},
			ExposeHeaders: []string{"X-Request-ID"},
			MaxAge:        12 * time.Hour,
		}))
	}
	r.Use(limitBody(cfg.MaxBodyBytes), deadline(cfg.RequestTimeout))
	r.NoRoute(func(c *gin.Context) {
		writeError(c, &APIError{Status: http.StatusNotFound, Code: "not_found", Message: "no route " + c.Request.Method + " " + c.Request.URL.Path})
	})
	r.NoMethod(func(c *gin.Context) {
		writeError(c, &APIError{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Message: c.Request.Method + " is not allowed here"})
	})

	health := NewHealthHandler(store)
	r.GET("/livez", health.Livez)
	r.GET("/readyz", health.Readyz)
	r.GET("/health", health.Health)
	if cfg.DebugVars {
		r.GET("/debug/vars", DebugVars(store))
	}

	sites := NewDiveSiteHandler(store)
	operators := NewDiveOperatorHandler(store)
	v1 := r.Group("/api/v1")
	v1.GET("/dive-sites", sites.List)
	v1.GET("/dive-sites/:id", sites.Get)
	v1.GET("/dive-operators", operators.List)

	sessions := NewSessionHandler(store, cfg.SessionSecret, cfg.SessionTTL)
	v1.POST("/sessions", sessions.Create)
	v1.GET("/sessions/current", sessions.Current)

	search := NewSearchHandler(store, cfg.Embedder, cfg.EfSearch)
	v1.POST("/search", search.Search)

	return r, nil
}
