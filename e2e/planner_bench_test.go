package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/database/dbtest"
)

// BenchmarkPlannerMessages measures message round trips (POST
// /api/v1/conversations/{id}/messages, JSON, extractive generator) on the
// built binary: BENCH_SESSIONS (default 16) sessions, each a closed loop of
// one message at a time in its own conversation, for BENCH_SECONDS (default
// 20). It reports req/s, p50/p99, the database round trips per message
// (counted on the wire by a proxy between the server and PostgreSQL: a
// round trip is the client speaking after the server has answered, so a
// pipelined batch counts once) and the server's CPU time per message (from
// /proc). Run it with `make bench-planner`.
func BenchmarkPlannerMessages(b *testing.B) {
	sessions := benchEnvInt("BENCH_SESSIONS", 16)
	duration := time.Duration(benchEnvInt("BENCH_SECONDS", 20)) * time.Second
	dsn := dbtest.Migrated(b)
	code, _, stderr := runCmd(b, plannerEnv(dsn), "seed")
	require.Zero(b, code, stderr)

	u, err := url.Parse(dsn)
	require.NoError(b, err)
	proxy := startCountingProxy(b, u.Host)
	u.Host = proxy.addr
	env := plannerEnv(u.String())
	env["PLANNER_QUOTA_PER_HOUR"] = "100000"
	env["LOG_LEVEL"] = "info" // a request log line per message, as in production
	srv := start(b, env, "serve")
	srv.waitStatus(b, "/readyz", http.StatusOK, 30*time.Second)

	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: sessions}}
	type conv struct{ token, url string }
	convs := make([]conv, sessions)
	for i := range convs {
		status, _, raw := postJSON(b, client, srv.url("/api/v1/sessions"), "", `{}`)
		require.Equal(b, http.StatusCreated, status, string(raw))
		var s struct{ Data struct{ Token string } }
		require.NoError(b, json.Unmarshal(raw, &s))
		status, _, raw = postJSON(b, client, srv.url("/api/v1/conversations"), s.Data.Token, `{}`)
		require.Equal(b, http.StatusCreated, status, string(raw))
		var c struct{ Data struct{ ID string } }
		require.NoError(b, json.Unmarshal(raw, &c))
		convs[i] = conv{s.Data.Token, srv.url("/api/v1/conversations/" + c.Data.ID + "/messages")}
	}
	questions := []string{
		"I'm Open Water certified, where can I see turtles in Sabah in May?",
		"我是进阶潜水员，四月想去拉央拉央看锤头鲨",
		"Wreck dives in Labuan for an advanced diver?",
		"Macro and nudibranchs near Semporna in August",
		"七月去热浪岛，开放水域，不想超过18米",
		"What about December on the east coast?",
	}
	post := func(c conv, i int) (int, time.Duration) {
		start := time.Now()
		status, _, _ := postJSON(b, client, c.url, c.token, fmt.Sprintf(`{"content":%q}`, questions[i%len(questions)]))
		return status, time.Since(start)
	}
	// Warm up: every pooled connection prepares its statements, the
	// catalogue is loaded.
	for i, c := range convs {
		for j := range 3 {
			status, _ := post(c, i+j)
			require.Equal(b, http.StatusCreated, status)
		}
	}

	for b.Loop() {
		var mu sync.Mutex
		var latencies []time.Duration
		failures := map[int]int{}
		cpu0, trips0 := processCPU(b, srv.cmd.Process.Pid), proxy.roundTrips.Load()
		deadline := time.Now().Add(duration)
		began := time.Now()
		var wg sync.WaitGroup
		for i, c := range convs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := i; time.Now().Before(deadline); n++ {
					status, d := post(c, n)
					mu.Lock()
					if status == http.StatusCreated {
						latencies = append(latencies, d)
					} else {
						failures[status]++
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		elapsed := time.Since(began)
		cpu, trips := processCPU(b, srv.cmd.Process.Pid)-cpu0, proxy.roundTrips.Load()-trips0
		slices.Sort(latencies)
		n := len(latencies)
		require.NotZero(b, n)
		pct := func(p float64) float64 { return float64(latencies[min(n-1, int(float64(n)*p))].Microseconds()) / 1000 }
		b.ReportMetric(float64(n)/elapsed.Seconds(), "msg/s")
		b.ReportMetric(pct(0.50), "p50-ms")
		b.ReportMetric(pct(0.99), "p99-ms")
		b.ReportMetric(float64(trips)/float64(n+sumValues(failures)), "db-roundtrips/msg")
		b.ReportMetric(float64(cpu.Microseconds())/1000/float64(n), "server-cpu-ms/msg")
		b.Logf("%d sessions for %s: %d messages answered, failures by status %v; %d database round trips; server CPU %s",
			sessions, duration, n, failures, trips, cpu)
	}
}

func sumValues(m map[int]int) int {
	s := 0
	for _, v := range m {
		s += v
	}
	return s
}

func benchEnvInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// processCPU is the user plus system CPU time pid has used, from
// /proc/<pid>/stat (fields 14 and 15, in clock ticks of 1/100 s on Linux).
func processCPU(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	require.NoError(b, err)
	// The command name (field 2) may hold spaces: split after its ")".
	fields := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// countingProxy forwards TCP to PostgreSQL and counts round trips: each
// time a connection's client sends after the server last sent.
type countingProxy struct {
	addr       string
	roundTrips atomic.Int64
}

func startCountingProxy(b *testing.B, target string) *countingProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	p := &countingProxy{addr: ln.Addr().String()}
	var conns sync.WaitGroup
	b.Cleanup(func() { ln.Close(); conns.Wait() })
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				continue
			}
			conns.Add(2)
			var clientTurn atomic.Bool // true while the client is the last to have sent
			go func() {
				defer conns.Done()
				defer server.Close()
				buf := make([]byte, 32<<10)
				for {
					n, err := client.Read(buf)
					if n > 0 {
						if !clientTurn.Swap(true) {
							p.roundTrips.Add(1)
						}
						if _, werr := server.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
			go func() {
				defer conns.Done()
				defer client.Close()
				buf := make([]byte, 32<<10)
				for {
					n, err := server.Read(buf)
					if n > 0 {
						clientTurn.Store(false)
						if _, werr := client.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return p
}
