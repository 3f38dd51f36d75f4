package handlers

import (
	"context"
	"errors"
	"math"
	"net/http"
	"reflect"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/dovvydive/backend/models"
)

// ErrStarting and ErrStopping are what a Ready implementation returns while
// the process is starting up or shutting down; /readyz reports them as
// reasons "starting" and "draining" (a stopping instance keeps serving for
// the drain period while balancers move traffic away).
var (
	ErrStarting = errors.New("starting up")
	ErrStopping = errors.New("draining for shutdown")
)

type healthChecker interface {
	Provider() string
	Health(ctx context.Context) models.HealthReport
	Ready(ctx context.Context) error
}

// HealthHandler answers the probes: /livez (process), /readyz (can serve)
// and /health (the frontend's database report).
type HealthHandler struct {
	db  healthChecker
	now func() time.Time
}

// NewHealthHandler returns a HealthHandler over db.
func NewHealthHandler(db healthChecker) *HealthHandler {
	return &HealthHandler{db: db, now: time.Now}
}

// LiveBody is the body of /livez.
type LiveBody struct {
	Status string `json:"status" enum:"ok"`
}

type livezOutput struct {
	Body LiveBody
}

// Livez answers 200 while the process runs. It never touches the database:
// a liveness probe that does restarts every instance when the database blips.
func (h *HealthHandler) Livez(context.Context, *struct{}) (*livezOutput, error) {
	out := &livezOutput{}
	out.Body.Status = "ok"
	return out, nil
}

// ReadyBody is the body of /readyz, 200 and 503 alike.
type ReadyBody struct {
	Status string `json:"status" enum:"ready,not_ready"`
	Reason string `json:"reason,omitempty" enum:"starting,draining,database unavailable,migrations pending" doc:"Why not ready; only on 503."`
}

type readyzOutput struct {
	Status     int
	RetryAfter string `header:"Retry-After" doc:"On 503: seconds to wait before probing again."`
	Body       ReadyBody
}

// Readyz answers 200 only when the database answers and its schema is at the
// version this binary needs.
func (h *HealthHandler) Readyz(ctx context.Context, _ *struct{}) (*readyzOutput, error) {
	if err := h.db.Ready(ctx); err != nil {
		if clientGone(ctx) {
			return nil, clientClosed{} // a probe that timed out on its side: not a readiness failure
		}
		reason := "migrations pending"
		switch {
		case errors.Is(err, ErrStarting):
			reason = "starting"
		case errors.Is(err, ErrStopping):
			reason = "draining"
		case errors.Is(err, models.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
			reason = "database unavailable"
		}
		loggerFrom(ctx).Warn("not ready", "error", err.Error())
		return &readyzOutput{Status: http.StatusServiceUnavailable, RetryAfter: "1",
			Body: ReadyBody{Status: "not_ready", Reason: reason}}, nil
	}
	return &readyzOutput{Status: http.StatusOK, Body: ReadyBody{Status: "ready"}}, nil
}

// DatabaseHealth is the "database" object of /health, in the shape the
// TypeScript design's frontend reads.
type DatabaseHealth struct {
	Status          string   `json:"status" enum:"healthy,unhealthy"`
	Provider        string   `json:"provider" enum:"local,neon"`
	Connected       bool     `json:"connected"`
	Latency         *float64 `json:"latency,omitempty" doc:"Milliseconds of one round trip; only when healthy."`
	VectorExtension bool     `json:"vectorExtension"`
	VectorVersion   string   `json:"vectorVersion,omitempty"`
}

// ReplicaHealth is the "replica" object of /health: the read replica's last
// known state, present only when one is configured. It is not measured per
// request, so probing /health never wakes an idle replica.
type ReplicaHealth struct {
	// The enum lists database's Replica* states (a test holds them equal).
	Status     string   `json:"status" enum:"unchecked,healthy,lagging,down"`
	LagSeconds *float64 `json:"lagSeconds,omitempty"`
	CheckedAt  string   `json:"checkedAt,omitempty" format:"date-time"`
	Reads      uint64   `json:"reads"`
	Fallbacks  uint64   `json:"fallbacks"`
	OpenConns  int      `json:"openConnections"`
	InUse      int      `json:"inUseConnections"`
}

// HealthResponse is the body of /health.
type HealthResponse struct {
	Database  DatabaseHealth `json:"database"`
	Replica   *ReplicaHealth `json:"replica,omitempty"`
	Timestamp time.Time      `json:"timestamp"`
}

type healthOutput struct {
	Status     int
	RetryAfter string `header:"Retry-After" doc:"On 503: seconds to wait before probing again."`
	Body       HealthResponse
}

// replicaReporter is implemented by stores that may route reads to a replica.
type replicaReporter interface {
	ReplicaStatus() models.ReplicaStatus
}

func replicaHealth(db healthChecker) *ReplicaHealth {
	rr, ok := db.(replicaReporter)
	if !ok {
		return nil
	}
	st := rr.ReplicaStatus()
	if !st.Configured {
		return nil
	}
	out := &ReplicaHealth{Status: st.State, Reads: st.Reads, Fallbacks: st.Fallbacks,
		OpenConns: st.Pool.OpenConnections, InUse: st.Pool.InUse}
	if !st.CheckedAt.IsZero() {
		lag := math.Round(st.Lag.Seconds()*1000) / 1000
		out.LagSeconds = &lag
		out.CheckedAt = st.CheckedAt.UTC().Format(time.RFC3339)
	}
	return out
}

// Health measures one database round trip: 200 when healthy, 503 when not.
func (h *HealthHandler) Health(ctx context.Context, _ *struct{}) (*healthOutput, error) {
	r := h.db.Health(ctx)
	out := &healthOutput{Status: http.StatusServiceUnavailable, RetryAfter: "1", Body: HealthResponse{
		Database: DatabaseHealth{
			Status:          "unhealthy",
			Provider:        h.db.Provider(),
			Connected:       r.Connected,
			VectorExtension: r.VectorVersion != "",
			VectorVersion:   r.VectorVersion,
		},
		Replica:   replicaHealth(h.db),
		Timestamp: h.now().UTC().Truncate(time.Second),
	}}
	if r.Err == nil {
		ms := math.Round(float64(r.Latency.Microseconds())/10) / 100
		out.Body.Database.Latency = &ms
		out.Body.Database.Status = "healthy"
		out.Status, out.RetryAfter = http.StatusOK, ""
	} else {
		if clientGone(ctx) {
			return nil, clientClosed{}
		}
		loggerFrom(ctx).Warn("health check failed", "error", r.Err.Error())
	}
	return out, nil
}

// probeOp documents a probe whose 503 carries the same body as its 200.
func probeOp[Body any](op huma.Operation, registry huma.Registry) huma.Operation {
	op.Errors = []int{http.StatusBadRequest, http.StatusInternalServerError} // 400: an unknown query parameter
	schema := registry.Schema(reflect.TypeFor[Body](), true, "")
	op.Responses = map[string]*huma.Response{
		"503": {Description: "Not ready or unhealthy; the body says why.",
			Content: map[string]*huma.MediaType{"application/json": {Schema: schema}}},
	}
	return op
}
