// Command dovvydive is the DovvyDive backend: a JSON API over PostgreSQL
// (local in development, Neon in production) with pgvector.
//
// Run `dovvydive --help` for the commands: serve, migrate, seed and config.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/google/uuid"

	"github.com/dovvydive/backend/app"
)

func main() {
	// Request ids are random UUIDs: drawing their bytes from the system in
	// batches instead of one getrandom call per request. Set before any
	// goroutine can make one (the pool is not safe to toggle concurrently).
	uuid.EnableRandPool()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command and returns the exit status: 0 on success, 1 on
// any failure with a one-line cause on stderr. SIGINT and SIGTERM cancel the
// command's context, which serve treats as "shut down gracefully".
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cmd := app.NewCommand(stdout, stderr)
	cmd.SetArgs(args)
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(stderr, "dovvydive: %s\n", app.OneLine(err))
		return 1
	}
	return 0
}
