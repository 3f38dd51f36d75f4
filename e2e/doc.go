// Package e2e holds the end-to-end tests: they build the dovvydive binary
// once (TestMain) and run it as real processes against real PostgreSQL,
// PgBouncer and HAProxy, as an operator would. helpers_test.go has what the
// tests share; each other file is one concern (serving and the CLI, the
// Neon replica, the cluster, faults, the soak, the planner end to end and
// its benchmark).
package e2e
