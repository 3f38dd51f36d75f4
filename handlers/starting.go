package handlers

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/google/uuid"
)

// Security headers every response carries, the router's (gin-contrib/secure)
// and Starting's alike.
const (
	contentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'"
	referrerPolicy        = "no-referrer"
)

// Starting answers for the few milliseconds between binding the port and the
// router being built: /livez is 200 (the process runs), /readyz is its usual
// 503 "starting", and any other request is a 503 with Retry-After. Binding
// first lets a liveness probe succeed as soon as the process can answer it,
// while building the OpenAPI document takes its time. The answers carry the
// router's headers, so they are inside the contract. provider is the
// database provider /health names.
func Starting(provider string) http.Handler {
	live, _ := json.Marshal(LiveBody{Status: "ok"})
	notReady, _ := json.Marshal(ReadyBody{Status: "not_ready", Reason: "starting"})
	unavailable, _ := json.Marshal(newAPIError(http.StatusServiceUnavailable, CodeStarting, "",
		"the service is starting; retry shortly"))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		id := r.Header.Get("X-Request-ID")
		if !validRequestID.MatchString(id) {
			id = uuid.NewString()
		}
		h.Set("X-Request-ID", id)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("Referrer-Policy", referrerPolicy)
		h.Set("Content-Type", "application/json")
		status, body := http.StatusServiceUnavailable, unavailable
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/livez":
			status, body = http.StatusOK, live
		case r.Method == http.MethodGet && r.URL.Path == "/readyz":
			body = notReady
		case r.Method == http.MethodGet && r.URL.Path == "/health":
			body, _ = json.Marshal(HealthResponse{Timestamp: time.Now().UTC().Truncate(time.Second),
				Database: DatabaseHealth{Status: "unhealthy", Provider: provider}})
		}
		if status == http.StatusServiceUnavailable {
			h.Set("Retry-After", "1")
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	})
}
