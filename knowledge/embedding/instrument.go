package embedding

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Instrumented wraps an Embedder and counts its calls, errors and latency,
// by operation ("query" or "documents") and model.
type Instrumented struct {
	Embedder
	calls   *prometheus.CounterVec
	errors  *prometheus.CounterVec
	seconds *prometheus.HistogramVec
}

// Instrument wraps e and registers its metrics with reg.
func Instrument(e Embedder, reg prometheus.Registerer) (*Instrumented, error) {
	labels := []string{"op", "model"}
	in := &Instrumented{
		Embedder: e,
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dovvydive_embedder_calls_total", Help: "Calls to the embedder.",
		}, labels),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dovvydive_embedder_errors_total", Help: "Embedder calls that failed.",
		}, labels),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "dovvydive_embedder_duration_seconds", Help: "Embedder call latency, retries included.",
			Buckets: []float64{.0005, .001, .005, .025, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, labels),
	}
	for _, c := range []prometheus.Collector{in.calls, in.errors, in.seconds} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return in, nil
}

func (in *Instrumented) observe(op string, start time.Time, err error) {
	model := in.Model()
	in.calls.WithLabelValues(op, model).Inc()
	in.seconds.WithLabelValues(op, model).Observe(time.Since(start).Seconds())
	if err != nil {
		in.errors.WithLabelValues(op, model).Inc()
	}
}

// EmbedDocuments embeds texts with the wrapped embedder.
func (in *Instrumented) EmbedDocuments(ctx context.Context, texts []string) ([][]float32, error) {
	start := time.Now()
	v, err := in.Embedder.EmbedDocuments(ctx, texts)
	in.observe("documents", start, err)
	return v, err
}

// EmbedQuery embeds one query with the wrapped embedder.
func (in *Instrumented) EmbedQuery(ctx context.Context, text string) ([]float32, error) {
	start := time.Now()
	v, err := in.Embedder.EmbedQuery(ctx, text)
	in.observe("query", start, err)
	return v, err
}
