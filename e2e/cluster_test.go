package e2e

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/database/dbtest"
	"github.com/dovvydive/backend/models"
)

// haproxyPath finds HAProxy (Debian installs it in /usr/sbin). Without it the
// cluster tests are skipped, except in CI, whose run-tests.sh installs it.
func haproxyPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"haproxy", "/usr/sbin/haproxy"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("haproxy is not installed: scripts/need.sh haproxy")
	}
	t.Skip("haproxy is not installed (scripts/need.sh haproxy)")
	return ""
}

// startHAProxy runs HAProxy in front of addrs with the configuration
// scripts/cluster.sh writes, without retries: a request sent to an instance
// that is not listening fails at the client.
func startHAProxy(t *testing.T, addrs ...string) *haproxy {
	t.Helper()
	bin := haproxyPath(t)
	lb := dbtest.ReserveAddr(t)
	_, port, _ := strings.Cut(lb, ":")
	gen := exec.Command("scripts/cluster.sh", append([]string{"haproxy-config", port}, addrs...)...)
	gen.Env = append(os.Environ(), "HAPROXY_RETRIES=0")
	cfg, err := gen.Output()
	require.NoError(t, err)
	require.Contains(t, string(cfg), "retries 0")
	// One log line per request (printed if the test fails): its termination
	// state says which side closed a failed request and when.
	cfg = bytes.Replace(cfg, []byte("global\n"), []byte("global\n  log stderr format raw local0\n"), 1)
	cfg = bytes.Replace(cfg, []byte("defaults\n"), []byte("defaults\n  log global\n  option httplog\n"), 1)
	// A stats page for the test alone, so it can wait for HAProxy's own view
	// of each server instead of sleeping through its checks.
	stats := dbtest.ReserveAddr(t)
	cfg = append(cfg, fmt.Sprintf("\nlisten stats\n  bind %s\n  stats enable\n  stats uri /stats\n", stats)...)
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	require.NoError(t, os.WriteFile(path, cfg, 0o600))
	cmd := exec.Command(bin, "-db", "-f", path)
	logs := &dbtest.LogBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("haproxy:\n%s", logs.String())
		}
	})
	return &haproxy{url: "http://" + lb, stats: "http://" + stats + "/stats;csv"}
}

// haproxy is a running HAProxy: url is its front end.
type haproxy struct{ url, stats string }

// waitUp waits until HAProxy reports server (app1, app2, …) fully UP (its
// rise checks passed), at most within, and fails saying what it waited for.
func (h *haproxy) waitUp(t *testing.T, server string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	last := "no answer from the stats page"
	for time.Now().Before(deadline) {
		if status, err := h.serverStatus(server); err != nil {
			last = err.Error()
		} else if status == "UP" {
			return
		} else {
			last = "status " + status
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("HAProxy did not report %s UP within %s (last: %s)", server, within, last)
}

// serverStatus reads server's status (UP, DOWN, "UP 1/2", …) from the CSV
// stats: the backend dovvydive's row whose svname is server.
func (h *haproxy) serverStatus(server string) (string, error) {
	client := &http.Client{Timeout: 2 * time.Second}
	res, err := client.Get(h.stats)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	rows, err := csv.NewReader(res.Body).ReadAll()
	if err != nil || len(rows) == 0 {
		return "", fmt.Errorf("stats csv: %v", err)
	}
	col := slices.Index(rows[0], "status")
	if col < 0 {
		return "", fmt.Errorf("stats csv has no status column")
	}
	for _, r := range rows[1:] {
		if len(r) > col && r[0] == "dovvydive" && r[1] == server {
			return r[col], nil
		}
	}
	return "", fmt.Errorf("stats csv has no row for %s", server)
}

// mixedLoad sends a bounded mix of reads, searches and session creations
// until stop is closed, counting non-2xx answers and transport errors.
type mixedLoad struct {
	sent, non2xx, transport atomic.Int64
	mu                      sync.Mutex
	firstFailures           []string
}

func (l *mixedLoad) run(base string, workers int, pause time.Duration, stop <-chan struct{}) *sync.WaitGroup {
	site := models.SiteID("sipadan-drop-off").String()
	requests := []func(c *http.Client) (*http.Response, error){
		func(c *http.Client) (*http.Response, error) { return c.Get(base + "/api/v1/dive-sites?limit=10") },
		func(c *http.Client) (*http.Response, error) { return c.Get(base + "/api/v1/dive-sites/" + site) },
		func(c *http.Client) (*http.Response, error) { return c.Get(base + "/api/v1/dive-operators") },
		func(c *http.Client) (*http.Response, error) {
			return c.Post(base+"/api/v1/search", "application/json", strings.NewReader(`{"query":"hammerhead sharks at dawn","k":5}`))
		},
		func(c *http.Client) (*http.Response, error) {
			return c.Post(base+"/api/v1/sessions", "application/json", strings.NewReader(`{"language":"en"}`))
		},
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 10 * time.Second}
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				res, err := requests[i%len(requests)](client)
				l.sent.Add(1)
				switch {
				case err != nil:
					l.transport.Add(1)
					l.note(err.Error())
				default:
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode < 200 || res.StatusCode > 299 {
						l.non2xx.Add(1)
						l.note(fmt.Sprintf("%s %s: %d", res.Request.Method, res.Request.URL.Path, res.StatusCode))
					}
				}
				time.Sleep(pause)
			}
		}()
	}
	return &wg
}

func (l *mixedLoad) note(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.firstFailures) < 10 {
		l.firstFailures = append(l.firstFailures, s)
	}
}

// startInstance starts instance i of the cluster. With TEST_IMAGE set (an
// image built by make image), instance 0 runs in that image under podman on
// the host network, so the image is proven as one of the two instances.
func startInstance(t *testing.T, env map[string]string, i int) *process {
	t.Helper()
	if img := os.Getenv("TEST_IMAGE"); img != "" && i == 0 {
		script, err := filepath.Abs("scripts/image.sh")
		require.NoError(t, err)
		t.Logf("instance %d runs in the image %s", i, img)
		p := startProgram(t, env, script, "run", img, "--", "serve")
		// Killing the podman client would leave the container running.
		t.Cleanup(func() { exec.Command(script, "rm", env["BACKEND_PORT"]).Run() })
		return p
	}
	return start(t, env, "serve")
}

func TestCluster_RollingRestartBehindHAProxyUnderLoadFailsNoRequest(t *testing.T) {
	t.Parallel()
	haproxyPath(t)
	dsn := dbtest.Migrated(t)
	code, _, _ := runCmd(t, map[string]string{"APP_ENV": "test", "DATABASE_URL": dsn}, "seed")
	require.Zero(t, code)
	env := func(port string) map[string]string {
		return map[string]string{"APP_ENV": "test", "DATABASE_URL": dsn, "BACKEND_PORT": port,
			"SERVER_DRAIN_PERIOD": "3s", "SESSION_SECRET": strings.Repeat("s", 40),
			// The load creates sessions from one address, far above the
			// per-client cap meant for the public.
			"SESSION_CREATE_PER_IP_PER_HOUR": "100000"}
	}
	ports := make([]string, 2)
	instances := make([]*process, 2)
	var addrs []string
	for i := range instances {
		addr := dbtest.ReserveAddr(t)
		_, ports[i], _ = strings.Cut(addr, ":")
		addrs = append(addrs, addr)
		instances[i] = startInstance(t, env(ports[i]), i)
	}
	for _, p := range instances {
		p.waitStatus(t, "/readyz", http.StatusOK, 30*time.Second)
	}
	proxy := startHAProxy(t, addrs...)
	lb := proxy.url
	for i := range instances {
		proxy.waitUp(t, fmt.Sprintf("app%d", i+1), 15*time.Second)
	}

	var load mixedLoad
	stop := make(chan struct{})
	wg := load.run(lb, 4, 20*time.Millisecond, stop)
	time.Sleep(2 * time.Second)

	for i := range instances {
		began := time.Now()
		require.NoError(t, instances[i].cmd.Process.Signal(syscall.SIGTERM))
		require.Equal(t, 0, instances[i].wait(t, 30*time.Second), "instance %d exits 0", i)
		t.Logf("instance %d stopped after %s", i, time.Since(began).Round(time.Millisecond))
		instances[i] = startInstance(t, env(ports[i]), i)
		instances[i].waitStatus(t, "/readyz", http.StatusOK, 30*time.Second)
		proxy.waitUp(t, fmt.Sprintf("app%d", i+1), 15*time.Second) // back in rotation before the next one stops
		t.Logf("instance %d back after %s", i, time.Since(began).Round(time.Millisecond))
	}
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()

	t.Logf("%d requests through HAProxy: %d non-2xx, %d transport errors %v",
		load.sent.Load(), load.non2xx.Load(), load.transport.Load(), load.firstFailures)
	assert.Greater(t, load.sent.Load(), int64(200), "the load kept running")
	assert.Zero(t, load.non2xx.Load(), "no non-2xx answer")
	assert.Zero(t, load.transport.Load(), "no transport error")
}
