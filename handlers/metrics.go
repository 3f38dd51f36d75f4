package handlers

import (
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
)

// HTTPMetrics counts requests by route template (never the raw path, which
// carries ids), method and status.
type HTTPMetrics struct {
	requests *prometheus.CounterVec
	seconds  *prometheus.HistogramVec
	inFlight prometheus.Gauge
	feedback *prometheus.CounterVec // ratings of replies (feedback.go)
}

// NewHTTPMetrics creates the HTTP metrics and registers them with reg.
func NewHTTPMetrics(reg prometheus.Registerer) (*HTTPMetrics, error) {
	m := &HTTPMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dovvydive_http_requests_total", Help: "HTTP requests by route template, method and status.",
		}, []string{"route", "method", "status"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "dovvydive_http_request_duration_seconds",
			Help:    "HTTP request latency by route template and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dovvydive_http_requests_in_flight", Help: "HTTP requests being served.",
		}),
		feedback: newFeedbackCounter(),
	}
	for _, c := range []prometheus.Collector{m.requests, m.seconds, m.inFlight, m.feedback} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// knownMethods keeps the method label bounded: anything else is "other".
var knownMethods = map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true,
	"DELETE": true, "OPTIONS": true}

// observe counts a finished request under its route template.
func (m *HTTPMetrics) observe(c *gin.Context, status int, start time.Time) {
	route := c.FullPath()
	if route == "" {
		route = "unmatched" // 404s: their paths are whatever clients send
	}
	method := c.Request.Method
	if !knownMethods[method] {
		method = "other"
	}
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.seconds.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
}

// documentMetrics adds GET /metrics, served by the Prometheus handler on the
// gin engine, to the contract.
func documentMetrics(api huma.API) {
	api.OpenAPI().AddOperation(&huma.Operation{
		Method: http.MethodGet, Path: "/metrics", OperationID: "metrics",
		Summary: "Prometheus metrics (text exposition format); served here unless METRICS_PORT moves them",
		Responses: map[string]*huma.Response{
			"200": {Description: "Metrics",
				Content: map[string]*huma.MediaType{"text/plain": {Schema: &huma.Schema{Type: "string"}}}},
			"404": {Description: "Metrics are served on METRICS_PORT instead",
				Content: map[string]*huma.MediaType{"application/json": {
					Schema: (&APIError{}).Schema(api.OpenAPI().Components.Schemas)}}},
		},
	})
}
