package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/database/dbtest"
)

// tsDir is the npm project of the contract checks (package.json and its
// lockfile pin the tools; scripts/need-npm.sh installs them with npm ci).
const tsDir = "e2e/typescript"

// nodeTools returns the npm project's node_modules, skipping the test when
// node is absent (failing under CI, where it must be there) and failing
// when the tools are not installed.
func nodeTools(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("node is not installed; CI needs Node 20.19+ for the contract checks (e2e/typescript)")
		}
		t.Skip("node is not installed: the contract checks with openapi-typescript, tsc and Redocly need Node 20.19+")
	}
	modules, err := filepath.Abs(filepath.Join(tsDir, "node_modules"))
	require.NoError(t, err)
	for _, bin := range []string{"openapi-typescript", "tsc", "redocly"} {
		if _, err := os.Stat(filepath.Join(modules, ".bin", bin)); err != nil {
			t.Fatalf("%s is not installed in %s: run scripts/need-npm.sh (make test does)", bin, modules)
		}
	}
	return modules
}

// runTool runs a command in dir and returns its stdout, failing the test
// (with its output) when it exits non-zero.
func runTool(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	stdout, stderr, err := tool(t, dir, env, name, args...)
	require.NoError(t, err, "%s %v\nstdout:\n%s\nstderr:\n%s", name, args, stdout, stderr)
	return stdout
}

// tool runs a command in dir and returns its output and exit error.
func tool(t *testing.T, dir string, env []string, name string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err = cmd.Run()
	t.Logf("%s %s: %s", filepath.Base(name), strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	return out.String(), errOut.String(), err
}

func fetchTo(t *testing.T, url, path string) {
	t.Helper()
	res, err := http.Get(url)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode, url)
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, raw, 0o644))
}

// TestContractTools_ATypedClientCompilesAndRunsAndRedoclyFindsNothing proves
// the served document with tools nobody here wrote, as a frontend
// developer would use them: openapi-typescript generates types from
// /api/v1/openapi.json, tsc --strict compiles e2e/typescript/client.ts
// (every route, no casts, no any) against them, node runs the compiled
// client against the served, seeded API, and Redocly CLI lints both
// documents (3.1 and the 3.0 downgrade) with no error and no warning.
func TestContractTools_ATypedClientCompilesAndRunsAndRedoclyFindsNothing(t *testing.T) {
	t.Parallel()
	modules := nodeTools(t)
	dsn := dbtest.Migrated(t)
	code, _, stderr := runCmd(t, plannerEnv(dsn), "seed")
	require.Zero(t, code, stderr)
	p := start(t, plannerEnv(dsn), "serve")
	p.waitStatus(t, "/readyz", http.StatusOK, 30*time.Second)

	work := t.TempDir()
	fetchTo(t, p.url("/api/v1/openapi.json"), filepath.Join(work, "openapi.json"))
	fetchTo(t, p.url("/api/v1/openapi-3.0.json"), filepath.Join(work, "openapi-3.0.json"))
	for _, f := range []string{"client.ts", "tsconfig.json", "package.json", "redocly.yaml"} {
		raw, err := os.ReadFile(filepath.Join(tsDir, f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(work, f), raw, 0o644))
	}
	require.NoError(t, os.Symlink(modules, filepath.Join(work, "node_modules")))
	bin := func(name string) string { return filepath.Join(modules, ".bin", name) }
	quiet := []string{"REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true", "NO_COLOR=1"}

	t.Run("Redocly lint", func(t *testing.T) {
		for _, doc := range []string{"openapi.json", "openapi-3.0.json"} {
			// It exits 1 on errors: the report says which.
			out, stderr, _ := tool(t, work, quiet, bin("redocly"), "lint", "--config", "redocly.yaml", "--format", "json", doc)
			require.Contains(t, out, "{", "no report from redocly lint %s: %s", doc, stderr)
			var report struct {
				Totals struct {
					Errors, Warnings, Ignored int
				}
				Problems []struct {
					RuleID   string `json:"ruleId"`
					Severity string
					Message  string
					Location []struct {
						Pointer string
					}
				}
			}
			require.NoError(t, json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &report), out)
			for _, pr := range report.Problems {
				where := ""
				if len(pr.Location) > 0 {
					where = pr.Location[0].Pointer
				}
				t.Errorf("%s: %s %s at %s: %s", doc, pr.Severity, pr.RuleID, where, pr.Message)
			}
			assert.Zero(t, report.Totals.Errors+report.Totals.Warnings+report.Totals.Ignored, doc)
		}
	})

	t.Run("openapi-typescript, tsc --strict, node", func(t *testing.T) {
		runTool(t, work, nil, bin("openapi-typescript"), "openapi.json", "--output", "types.ts")
		// One compilation, strict (tsconfig.json), emitting nothing on an
		// error: the type check of tsc --strict --noEmit, and the JavaScript
		// to run.
		runTool(t, work, nil, bin("tsc"), "--project", "tsconfig.json")
		out := runTool(t, work, []string{"API_BASE_URL=" + p.url("")}, "node", filepath.Join("out", "client.js"))
		t.Log(out)
		assert.Contains(t, out, "ok deleteConversation", "the client ran every step")
	})
}
