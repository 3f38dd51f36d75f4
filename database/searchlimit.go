package database

import (
	"context"
	"errors"
	"fmt"

	"github.com/dovvydive/backend/models"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/semaphore"
)

// ErrBusy means no search slot freed up before the caller's deadline. It wraps
// models.ErrUnavailable, so callers answer it like any other overload: 503 and
// Retry-After.
var ErrBusy = fmt.Errorf("%w: too many searches in flight", models.ErrUnavailable)

// DefaultMaxConcurrentSearches suits a database with two cores. An HNSW
// search is CPU-bound in PostgreSQL, and pgbench on such a machine peaked at 2
// clients and fell by half at 8 and by three quarters at 20. A slot here is
// held for more than the database's CPU time, though (the round trip and
// reading the rows), so the database runs fewer searches at once than there
// are slots: through the API, 4 slots served 20% more than 2 at 32 clients,
// and 8 no more than 2 (README). Set it to about twice the database's cores.
const DefaultMaxConcurrentSearches = 4

// searchLimiter bounds the knowledge searches in flight, so the database runs
// them at its best concurrency while the rest queue in this process, within
// their request's deadline, instead of thrashing its CPUs together.
type searchLimiter struct {
	sem      *semaphore.Weighted
	seconds  prometheus.Histogram
	queued   prometheus.Gauge
	rejected prometheus.Counter
}

func newSearchLimiter(n int) searchLimiter {
	if n < 1 {
		n = DefaultMaxConcurrentSearches
	}
	return searchLimiter{
		sem: semaphore.NewWeighted(int64(n)),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "dovvydive_search_duration_seconds",
			Help:    "Knowledge searches in the database, from the slot being granted to the last row.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
		queued: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dovvydive_search_queued",
			Help: "Knowledge searches waiting for a slot.",
		}),
		rejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dovvydive_search_rejected_total",
			Help: "Knowledge searches refused because no slot freed up within their deadline.",
		}),
	}
}

// acquire waits for a slot until ctx ends. The returned func releases it.
func (l *searchLimiter) acquire(ctx context.Context) (func(), error) {
	if !l.sem.TryAcquire(1) {
		l.queued.Inc()
		err := l.sem.Acquire(ctx, 1)
		l.queued.Dec()
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return nil, err // the caller went away; nobody to answer
			}
			l.rejected.Inc()
			return nil, errors.Join(ErrBusy, err)
		}
	}
	return func() { l.sem.Release(1) }, nil
}
