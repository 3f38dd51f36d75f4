package database

import (
	"context"
	"errors"

	"github.com/dovvydive/backend/models"
	"github.com/prometheus/client_golang/prometheus"
)

// errorsByClass counts failed statements by what classify made of them. It is
// package-level because classify is: a process has one database module.
var errorsByClass = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "dovvydive_db_errors_total",
	Help: "Failed database operations by class: unavailable (connection lost, refused, overloaded), timeout (the caller's deadline), canceled (the caller went away), busy (no search slot within the deadline), other.",
}, []string{"class"})

func countError(err error) {
	switch {
	case err == nil, errors.Is(err, models.ErrNotFound):
		return
	case errors.Is(err, ErrBusy):
		errorsByClass.WithLabelValues("busy").Inc()
	case errors.Is(err, context.Canceled):
		errorsByClass.WithLabelValues("canceled").Inc()
	case errors.Is(err, context.DeadlineExceeded):
		errorsByClass.WithLabelValues("timeout").Inc()
	case errors.Is(err, models.ErrUnavailable):
		errorsByClass.WithLabelValues("unavailable").Inc()
	default:
		errorsByClass.WithLabelValues("other").Inc()
	}
}

// Collectors returns the database module's metrics for a Prometheus
// registry: pool statistics (read when scraped, so an idle process does no
// database work for them), errors by class and the knowledge-search limiter.
func (d *DB) Collectors() []prometheus.Collector {
	return []prometheus.Collector{poolCollector{d}, errorsByClass, d.searches.seconds, d.searches.queued, d.searches.rejected}
}

var (
	poolOpenDesc     = prometheus.NewDesc("dovvydive_db_pool_open_connections", "Open connections in the application pool.", nil, nil)
	poolInUseDesc    = prometheus.NewDesc("dovvydive_db_pool_in_use_connections", "Connections in use.", nil, nil)
	poolIdleDesc     = prometheus.NewDesc("dovvydive_db_pool_idle_connections", "Idle connections.", nil, nil)
	poolMaxDesc      = prometheus.NewDesc("dovvydive_db_pool_max_open_connections", "The pool's bound.", nil, nil)
	poolWaitsDesc    = prometheus.NewDesc("dovvydive_db_pool_wait_count_total", "Times a query waited for a free connection.", nil, nil)
	poolWaitSecsDesc = prometheus.NewDesc("dovvydive_db_pool_wait_seconds_total", "Time spent waiting for a free connection.", nil, nil)
	poolClosedDesc   = prometheus.NewDesc("dovvydive_db_pool_closed_total", "Connections closed, by reason.", []string{"reason"}, nil)

	replicaReadsDesc     = prometheus.NewDesc("dovvydive_db_replica_reads_total", "Stale-tolerant reads the read replica answered.", nil, nil)
	replicaFallbacksDesc = prometheus.NewDesc("dovvydive_db_replica_fallbacks_total", "Reads meant for the read replica that the primary answered because the replica was down, lagging or failed mid-read.", nil, nil)
	replicaUpDesc        = prometheus.NewDesc("dovvydive_db_replica_up", "1 while the read replica is checked healthy, 0 while it is down or lagging (absent without a replica).", nil, nil)
	replicaLagDesc       = prometheus.NewDesc("dovvydive_db_replica_lag_seconds", "Replay lag of the read replica at its last check.", nil, nil)
	replicaOpenDesc      = prometheus.NewDesc("dovvydive_db_replica_pool_open_connections", "Open connections in the read replica's pool.", nil, nil)
	replicaInUseDesc     = prometheus.NewDesc("dovvydive_db_replica_pool_in_use_connections", "Connections of the read replica's pool in use.", nil, nil)
)

// poolCollector reports sql.DBStats at scrape time.
type poolCollector struct{ d *DB }

func (poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolOpenDesc, poolInUseDesc, poolIdleDesc, poolMaxDesc, poolWaitsDesc, poolWaitSecsDesc, poolClosedDesc,
		replicaReadsDesc, replicaFallbacksDesc, replicaUpDesc, replicaLagDesc, replicaOpenDesc, replicaInUseDesc} {
		ch <- d
	}
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.d.Stats()
	ch <- prometheus.MustNewConstMetric(poolOpenDesc, prometheus.GaugeValue, float64(s.OpenConnections))
	ch <- prometheus.MustNewConstMetric(poolInUseDesc, prometheus.GaugeValue, float64(s.InUse))
	ch <- prometheus.MustNewConstMetric(poolIdleDesc, prometheus.GaugeValue, float64(s.Idle))
	ch <- prometheus.MustNewConstMetric(poolMaxDesc, prometheus.GaugeValue, float64(c.d.cfg.Pool.MaxOpenConns))
	ch <- prometheus.MustNewConstMetric(poolWaitsDesc, prometheus.CounterValue, float64(s.WaitCount))
	ch <- prometheus.MustNewConstMetric(poolWaitSecsDesc, prometheus.CounterValue, s.WaitDuration.Seconds())
	ch <- prometheus.MustNewConstMetric(poolClosedDesc, prometheus.CounterValue, float64(s.MaxIdleClosed), "max_idle")
	ch <- prometheus.MustNewConstMetric(poolClosedDesc, prometheus.CounterValue, float64(s.MaxIdleTimeClosed), "idle_time")
	ch <- prometheus.MustNewConstMetric(poolClosedDesc, prometheus.CounterValue, float64(s.MaxLifetimeClosed), "lifetime")

	// The read replica, when one is configured (no I/O: its last check).
	r := c.d.ReplicaStatus()
	if !r.Configured {
		return
	}
	ch <- prometheus.MustNewConstMetric(replicaReadsDesc, prometheus.CounterValue, float64(r.Reads))
	ch <- prometheus.MustNewConstMetric(replicaFallbacksDesc, prometheus.CounterValue, float64(r.Fallbacks))
	up := 0.0
	if r.State == models.ReplicaHealthy {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(replicaUpDesc, prometheus.GaugeValue, up)
	ch <- prometheus.MustNewConstMetric(replicaLagDesc, prometheus.GaugeValue, r.Lag.Seconds())
	ch <- prometheus.MustNewConstMetric(replicaOpenDesc, prometheus.GaugeValue, float64(r.Pool.OpenConnections))
	ch <- prometheus.MustNewConstMetric(replicaInUseDesc, prometheus.GaugeValue, float64(r.Pool.InUse))
}
