package e2e

// End-to-end tests of the built binary: they start real `dovvydive`
// processes against real PostgreSQL, so startup, retries, concurrent
// migrations, exit codes and graceful shutdown are proven as operators see them.

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/database"
	"github.com/dovvydive/backend/database/dbtest"
	"github.com/dovvydive/backend/handlers/contracttest"
)

var binary string

func TestMain(m *testing.M) {
	// The tests run programs and scripts by paths from the repository's
	// root (scripts/cluster.sh, the binary built from main.go), as an
	// operator would.
	if err := os.Chdir(".."); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "dovvydive-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "dovvydive")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// environ is the process environment without any variable the service
// reads, plus env: each process sees only what its test gives it.
func environ(env map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "DATABASE_"), strings.HasPrefix(name, "NEON_"), strings.HasPrefix(name, "BACKEND_"),
			strings.HasPrefix(name, "SESSION_"), strings.HasPrefix(name, "SERVER_"), strings.HasPrefix(name, "EMBEDDING_"),
			strings.HasPrefix(name, "GEMINI_"), strings.HasPrefix(name, "SEARCH_"), strings.HasPrefix(name, "PLANNER_"),
			strings.HasPrefix(name, "METRICS_"), strings.HasPrefix(name, "PPROF_"),
			name == "APP_ENV", name == "NODE_ENV", name == "LOG_LEVEL", name == "LOG_FORMAT":
			continue
		}
		out = append(out, kv)
	}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

type process struct {
	cmd    *exec.Cmd
	stdout *dbtest.LogBuffer
	stderr *dbtest.LogBuffer
	done   chan error
	port   string
}

// start runs the binary in an empty working directory (no config.yaml, no
// .env) and stops it when the test ends.
func start(t testing.TB, env map[string]string, args ...string) *process {
	t.Helper()
	return startProgram(t, env, binary, args...)
}

// startProgram is start for another program that takes the binary's
// arguments (scripts/image.sh run, which runs the binary in its image).
func startProgram(t testing.TB, env map[string]string, program string, args ...string) *process {
	t.Helper()
	p := &process{stdout: &dbtest.LogBuffer{}, stderr: &dbtest.LogBuffer{}, done: make(chan error, 1)}
	if _, ok := env["BACKEND_PORT"]; !ok && slices.Contains(args, "serve") {
		_, p.port, _ = strings.Cut(dbtest.ReserveAddr(t), ":")
		env["BACKEND_PORT"] = p.port
	}
	p.port = env["BACKEND_PORT"]
	p.cmd = exec.Command(program, args...)
	p.cmd.Dir = t.TempDir()
	p.cmd.Env = environ(env)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	require.NoError(t, p.cmd.Start())
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("stderr of %v:\n%s", args, p.stderr.String())
		}
	})
	return p
}

// wait returns the exit code, failing the test if the process runs past limit.
func (p *process) wait(t testing.TB, limit time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		p.done <- nil // let cleanup's receive return
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(limit):
		t.Fatalf("process still running after %s", limit)
		return -1
	}
}

func (p *process) url(path string) string { return "http://127.0.0.1:" + p.port + path }

// waitStatus polls path until it answers want, for at most limit.
func (p *process) waitStatus(t testing.TB, path string, want int, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	client := contracttest.Client(t, time.Second)
	for time.Since(start) < limit {
		if res, err := client.Get(p.url(path)); err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == want {
				return time.Since(start)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not answer %d within %s", path, want, limit)
	return 0
}

// waitLog waits until the process's stderr contains text, for at most
// limit, and fails saying what it waited for.
func (p *process) waitLog(t testing.TB, text string, limit time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(limit); !strings.Contains(p.stderr.String(), text); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the log did not show %q within %s", text, limit)
		}
	}
}

func runCmd(t testing.TB, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	p := start(t, env, args...)
	code = p.wait(t, 30*time.Second)
	return code, p.stdout.String(), p.stderr.String()
}

func status(t *testing.T, u string) int {
	t.Helper()
	res, err := contracttest.Client(t, 5*time.Second).Get(u)
	if err != nil {
		t.Errorf("GET %s: %v", u, err)
		return -1
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

var dbtestURLs sync.Map

// dbtestURL gives each test one database that has pgvector but no migrations.
func dbtestURL(t *testing.T) string {
	if u, ok := dbtestURLs.Load(t.Name()); ok {
		return u.(string)
	}
	u := dbtest.WithVector(t)
	dbtestURLs.Store(t.Name(), u)
	return u
}

func neonEnv(pooled, direct string) map[string]string {
	return map[string]string{"APP_ENV": "test", "DATABASE_PROVIDER": "neon",
		"NEON_DATABASE_URL": pooled, "NEON_DIRECT_URL": direct}
}

func neonConfig(pooled, direct string) database.Config {
	cfg := database.DefaultConfig()
	cfg.Provider, cfg.NeonURL, cfg.NeonDirectURL = database.ProviderNeon, pooled, direct
	return cfg
}

// plannerEnv runs instances that share a database and a session secret, so
// a token issued by one is valid on the other.
func plannerEnv(dsn string) map[string]string {
	return map[string]string{"APP_ENV": "test", "DATABASE_URL": dsn, "SESSION_SECRET": strings.Repeat("e2e-secret-", 4),
		"SERVER_REQUEST_TIMEOUT": "60s", "LOG_LEVEL": "warn"}
}

func postJSON(t testing.TB, client *http.Client, url, token, body string, header ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := client.Do(req)
	if err != nil {
		t.Errorf("POST %s: %v", url, err)
		return -1, nil, nil
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, raw
}
