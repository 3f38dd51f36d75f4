package handlers

import (
	"database/sql"
	"net/http"
	"runtime"

	"github.com/gin-gonic/gin"
)

// poolStats is implemented by stores that can report their connection pool.
type poolStats interface {
	Stats() sql.DBStats
}

// DebugVars reports process and pool figures as JSON, for soak tests and
// operators: goroutines, heap, and the primary's (and replica's) pool
// counters. It is mounted only when server.debug_vars is on, because it
// tells anyone who can reach it how loaded the process is.
func DebugVars(db healthChecker) gin.HandlerFunc {
	return func(c *gin.Context) {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		body := gin.H{
			"goroutines": runtime.NumGoroutine(),
			"memory": gin.H{"heapAllocBytes": ms.HeapAlloc, "heapObjects": ms.HeapObjects,
				"sysBytes": ms.Sys, "numGC": ms.NumGC},
		}
		if ps, ok := db.(poolStats); ok {
			body["pool"] = poolJSON(ps.Stats())
		}
		if rr, ok := db.(replicaReporter); ok {
			if st := rr.ReplicaStatus(); st.Configured {
				body["replicaPool"] = poolJSON(st.Pool)
			}
		}
		c.JSON(http.StatusOK, body)
	}
}

func poolJSON(s sql.DBStats) gin.H {
	return gin.H{"maxOpen": s.MaxOpenConnections, "open": s.OpenConnections, "inUse": s.InUse, "idle": s.Idle,
		"waitCount": s.WaitCount, "waitMillis": s.WaitDuration.Milliseconds(),
		"maxIdleClosed": s.MaxIdleClosed, "maxIdleTimeClosed": s.MaxIdleTimeClosed, "maxLifetimeClosed": s.MaxLifetimeClosed}
}
