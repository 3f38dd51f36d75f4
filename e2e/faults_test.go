//go:build faults

package e2e

// Fault tests: they kill and freeze the Neon replica's PostgreSQL, so they
// run alone, after every other test (pass 3 of scripts/run-tests.sh).

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/database"
	"github.com/dovvydive/backend/database/dbtest"
	"github.com/dovvydive/backend/handlers"
	"github.com/dovvydive/backend/handlers/contracttest"
	"github.com/dovvydive/backend/knowledge"
	"github.com/dovvydive/backend/knowledge/embedding"
	"github.com/dovvydive/backend/models"
	"github.com/dovvydive/backend/planner"
	"github.com/dovvydive/backend/seeds"
)

// replicaPIDs returns the replica's postmaster and all its children. It
// returns errors rather than failing t: it runs in goroutines, where
// require's FailNow would not stop the test.
func replicaPIDs() ([]int, error) {
	raw, err := os.ReadFile(filepath.Join(os.Getenv("NEON_SIM_PG_DATA"), "postmaster.pid"))
	if err != nil {
		return nil, fmt.Errorf("replica pid: %w", err)
	}
	first, _, _ := strings.Cut(string(raw), "\n")
	master, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		return nil, fmt.Errorf("replica pid: %w", err)
	}
	pids := []int{master}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// Fields after the parenthesised command: state, ppid, ...
		rest := string(stat[strings.LastIndexByte(string(stat), ')')+2:])
		fields := strings.Fields(rest)
		if len(fields) > 1 && fields[1] == strconv.Itoa(master) {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

func signalAll(t *testing.T, pids []int, sig syscall.Signal) {
	t.Helper()
	for _, pid := range pids {
		_ = syscall.Kill(pid, sig)
	}
}

// startReplicaPostgres restarts the replica's PostgreSQL (errors returned,
// as replicaPIDs).
func startReplicaPostgres() error {
	cmd := exec.Command("scripts/pg.sh", "start", os.Getenv("NEON_SIM_PG_DATA"), os.Getenv("NEON_SIM_DIRECT_PORT"))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("restart replica: %w: %s", err, out)
	}
	return nil
}

type outcome struct {
	at       time.Duration // since the load began
	took     time.Duration
	status   int
	write    bool
	session  string
	transErr bool
}

// load runs workers against the server for d, alternating a write (a new
// guest session) and a read (a dive site), and records every outcome.
func load(t *testing.T, base string, workers int, d time.Duration) []outcome {
	client := contracttest.Client(t, 15*time.Second)
	began := time.Now()
	var mu sync.Mutex
	var all []outcome
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := 0; time.Since(began) < d; i++ {
				o := outcome{at: time.Since(began), write: (i+w)%2 == 0}
				var res *http.Response
				var err error
				if o.write {
					res, err = client.Post(base+"/api/v1/sessions", "application/json", strings.NewReader(`{"language":"en"}`))
				} else {
					res, err = client.Get(base + "/api/v1/dive-sites/" + models.SiteID("tioman-chebeh").String())
				}
				o.took = time.Since(began) - o.at
				if err != nil {
					o.transErr = true
				} else {
					o.status = res.StatusCode
					if o.write && res.StatusCode == http.StatusCreated {
						var body struct {
							Data struct{ ID string } `json:"data"`
						}
						_ = json.NewDecoder(res.Body).Decode(&body)
						o.session = body.Data.ID
					}
					res.Body.Close()
				}
				mu.Lock()
				all = append(all, o)
				mu.Unlock()
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	return all
}

type summary struct {
	byStatus    map[int]int
	transErrors int
	slowest     time.Duration
	acked       []string
}

func summarise(all []outcome) summary {
	s := summary{byStatus: map[int]int{}}
	for _, o := range all {
		if o.transErr {
			s.transErrors++
		} else {
			s.byStatus[o.status]++
		}
		s.slowest = max(s.slowest, o.took)
		if o.session != "" {
			s.acked = append(s.acked, o.session)
		}
	}
	return s
}

// firstSuccessAfter is when the first request sent after t succeeded.
func firstSuccessAfter(all []outcome, t time.Duration) time.Duration {
	best := time.Duration(-1)
	for _, o := range all {
		if o.at >= t && (o.status == http.StatusOK || o.status == http.StatusCreated) && (best < 0 || o.at+o.took < best) {
			best = o.at + o.took
		}
	}
	return best
}

func TestFault_KillDashNineUnderLoadThenRestart(t *testing.T) {
	neon := dbtest.Neon(t, true)
	env := neonEnv(neon.PooledURL, neon.DirectURL)
	env["SERVER_REQUEST_TIMEOUT"] = "2s"
	p := start(t, env, "serve", "--seed")
	p.waitStatus(t, "/readyz", http.StatusOK, 30*time.Second)

	const killAt, restartAt, duration = 5 * time.Second, 10 * time.Second, 20 * time.Second
	var restarted atomic.Int64 // when, since the load began, PostgreSQL accepted connections again
	began := time.Now()
	faulted := make(chan struct{})
	go func() {
		defer close(faulted)
		time.Sleep(killAt)
		pids, err := replicaPIDs()
		if err != nil {
			t.Errorf("kill: %v", err)
			return
		}
		signalAll(t, pids, syscall.SIGKILL)
		time.Sleep(restartAt - killAt)
		if err := startReplicaPostgres(); err != nil {
			t.Errorf("%v", err)
			return
		}
		restarted.Store(int64(time.Since(began)))
	}()
	all := load(t, p.url(""), 8, duration)
	<-faulted
	require.NotZero(t, restarted.Load(), "PostgreSQL was killed and restarted")
	s := summarise(all)
	recovery := firstSuccessAfter(all, time.Duration(restarted.Load())) - time.Duration(restarted.Load())
	t.Logf("%d requests: by status %v, transport errors %d, slowest %s; PostgreSQL back at %s, first success %s after",
		len(all), s.byStatus, s.transErrors, s.slowest.Round(time.Millisecond),
		time.Duration(restarted.Load()).Round(time.Millisecond), recovery.Round(time.Millisecond))

	select {
	case <-p.done:
		t.Fatal("the server exited during the outage")
	default:
	}
	assert.Zero(t, s.byStatus[http.StatusInternalServerError], "never a 500")
	assert.Zero(t, s.transErrors, "never a hang or dropped connection")
	assert.Positive(t, s.byStatus[http.StatusServiceUnavailable], "the outage was seen as 503s")
	assert.Less(t, s.slowest, 3500*time.Millisecond, "no request outlived its 2 s deadline by much")
	assert.GreaterOrEqual(t, recovery, time.Duration(0), "served again after the restart")
	assert.LessOrEqual(t, recovery, 5*time.Second, "within 5 s of the restart")

	admin, err := sql.Open("pgx", neon.AdminURL)
	require.NoError(t, err)
	defer admin.Close()
	var present int
	require.NoError(t, admin.QueryRow(`SELECT count(*) FROM guest_sessions WHERE id::text = ANY($1)`, s.acked).Scan(&present))
	t.Logf("acknowledged writes: %d, present after the restart: %d", len(s.acked), present)
	assert.Equal(t, len(s.acked), present, "every acknowledged write survived")
}

func TestFault_SIGSTOPForTenSecondsUnderLoad(t *testing.T) {
	neon := dbtest.Neon(t, true)
	db, err := database.Open(context.Background(), neonConfig(neon.PooledURL, neon.DirectURL), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer db.Close()
	_, err = seeds.Load(context.Background(), db, embedding.Hash{})
	require.NoError(t, err)
	serverLog, logs := dbtest.Logger()
	router, err := handlers.NewRouter(handlers.RouterConfig{Log: serverLog, RequestTimeout: 2 * time.Second,
		MaxBodyBytes: 1 << 20, SessionSecret: []byte(faultTestSecret)}, offlineServices(t, db))
	require.NoError(t, err)
	srv := httptest.NewServer(router)
	defer srv.Close()

	const stopAt, contAt, duration = 3 * time.Second, 13 * time.Second, 20 * time.Second
	var frozen []int
	var frozenMu sync.Mutex
	thaw := func() {
		frozenMu.Lock()
		defer frozenMu.Unlock()
		signalAll(t, frozen, syscall.SIGCONT)
	}
	t.Cleanup(thaw) // never leave the replica frozen
	baseline := runtime.NumGoroutine()
	var peakGoroutines, peakConns atomic.Int64
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if g := int64(runtime.NumGoroutine()); g > peakGoroutines.Load() {
				peakGoroutines.Store(g)
			}
			if c := int64(db.Stats().OpenConnections); c > peakConns.Load() {
				peakConns.Store(c)
			}
		}
	}()
	go func() {
		time.Sleep(stopAt)
		frozenMu.Lock()
		pids, err := replicaPIDs() // now, so backends opened by the load are frozen too
		if err != nil {
			frozenMu.Unlock()
			t.Errorf("freeze: %v", err)
			return
		}
		frozen = pids
		signalAll(t, frozen, syscall.SIGSTOP)
		frozenMu.Unlock()
		time.Sleep(contAt - stopAt)
		thaw()
	}()
	all := load(t, srv.URL, 8, duration)
	close(stop)
	s := summarise(all)
	recovery := firstSuccessAfter(all, contAt) - contAt
	t.Logf("%d requests: by status %v, transport errors %d, slowest %s; goroutines %d at rest, peak %d; open connections peak %d; first success %s after SIGCONT",
		len(all), s.byStatus, s.transErrors, s.slowest.Round(time.Millisecond), baseline, peakGoroutines.Load(), peakConns.Load(),
		recovery.Round(time.Millisecond))

	if !assert.Zero(t, s.byStatus[http.StatusInternalServerError], "never a 500") {
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, "level=ERROR") && !strings.Contains(l, "msg=request") {
				t.Log(l)
			}
		}
	}
	assert.Zero(t, s.transErrors)
	assert.Positive(t, s.byStatus[http.StatusServiceUnavailable], "the freeze was seen as 503s")
	assert.Less(t, s.slowest, 3500*time.Millisecond, "every request ended near its 2 s deadline")
	assert.LessOrEqual(t, peakConns.Load(), int64(20), "open connections stay within the pool")
	assert.Less(t, peakGoroutines.Load(), int64(baseline+200), "goroutines stay bounded")
	assert.GreaterOrEqual(t, recovery, time.Duration(0), "served again after SIGCONT")
	assert.LessOrEqual(t, recovery, 5*time.Second)
}

// faultTestSecret is the session secret of the fault test's router.
const faultTestSecret = "fault-test-secret-fault-test-secret"

// offlineServices are the services serve builds with the default (offline)
// embedder and generator, over db, with one-hour sessions.
func offlineServices(t *testing.T, db *database.DB) handlers.Services {
	t.Helper()
	searcher, err := knowledge.NewSearcher(db, embedding.Hash{}, 0, 0)
	require.NoError(t, err)
	store := planner.Store{DB: db}
	p, err := planner.New(planner.Config{Embedder: embedding.Hash{}, Retriever: store, Catalog: store, Generator: planner.Extractive{}})
	require.NoError(t, err)
	shareKey, err := models.NewShareKey([]byte(faultTestSecret))
	require.NoError(t, err)
	return handlers.Services{Store: db, Searcher: searcher, Chat: planner.NewChat(db, p, 0, nil),
		Sessions: handlers.SessionLimits{TTL: time.Hour}, ShareKey: shareKey}
}
