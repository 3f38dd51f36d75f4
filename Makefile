# DovvyDive backend. `make help` lists the targets.
SHELL := /bin/bash
BIN   := bin/dovvydive
GO    ?= go

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: build ## Serve the API on :4000 (starts the project-managed PostgreSQL when no DATABASE_URL is reachable), migrated and seeded
	@url=$$(scripts/dev-db.sh) && \
	if [ -n "$$url" ]; then export DATABASE_URL="$$url"; fi && \
	exec ./$(BIN) serve --seed

.PHONY: run-cluster
run-cluster: build ## Two instances (:4001, :4002) behind HAProxy on :4000, health-checked on /readyz (installs haproxy if missing)
	@url=$$(scripts/dev-db.sh) && \
	if [ -n "$$url" ]; then export DATABASE_URL="$$url"; fi && \
	./$(BIN) migrate up && ./$(BIN) seed && \
	exec scripts/cluster.sh run 4000 4001 4002

.PHONY: image
image: ## Build the OCI image dovvydive:latest with podman: static binary on scratch, no registry pull (installs podman if missing)
	GO=$(GO) scripts/image.sh build

.PHONY: neon-sim
neon-sim: build ## Serve the API against the local Neon replica (TLS direct endpoint, PgBouncer 1.24 pooled endpoint)
	@scripts/neon-sim.sh start .data/neon-sim 25600 && . .data/neon-sim/env && \
	DATABASE_PROVIDER=neon NEON_DATABASE_URL="$$NEON_SIM_POOLED_URL" NEON_DIRECT_URL="$$NEON_SIM_DIRECT_URL" \
	exec ./$(BIN) serve --seed

.PHONY: neon-sim-stop
neon-sim-stop: ## Stop the local Neon replica
	scripts/neon-sim.sh stop .data/neon-sim

.PHONY: test
test: ## Run every test, database tests against a throwaway PostgreSQL with pgvector
	GO=$(GO) scripts/with-test-db.sh scripts/run-tests.sh

.PHONY: eval
eval: ## Run data/eval through the real planner on a seeded test database: hit@3, unsafe picks, explanations, contradictions, English runs, follow-ups, every miss (EVAL_ANSWERS=1: every answer; EVAL_FEEDBACK=1: then the replies divers rated down on the configured database)
	scripts/with-test-db.sh $(GO) test -count=1 -v -run TestEval_RealPlannerOnTheSeededDatabaseMeetsTheTargets ./planner/
	@if [ "$${EVAL_FEEDBACK:-}" = 1 ]; then $(MAKE) -s feedback-down; fi

.PHONY: feedback-down
feedback-down: build ## List the replies divers rated down on the configured database (the project-managed one when no DATABASE_URL is reachable): question, reply's first line, comment
	@url=$$(scripts/dev-db.sh) && \
	if [ -n "$$url" ]; then export DATABASE_URL="$$url"; fi && \
	./$(BIN) feedback list --rating down

.PHONY: bench
bench: ## Benchmark /health and GET /api/v1/dive-sites/{id} under concurrent load
	scripts/with-test-db.sh $(GO) test -run '^$$' -bench 'Benchmark(Health|GetDiveSite)' -benchtime 1x -count 1 -v ./handlers/

.PHONY: bench-planner
bench-planner: ## Message round trips on the built binary (extractive, 16 sessions): msg/s, p50/p99, DB round trips and server CPU per message
	scripts/with-test-db.sh $(GO) test -run '^$$' -bench BenchmarkPlannerMessages -benchtime 1x -count 1 -timeout 10m -v ./e2e/

.PHONY: bench-search
bench-search: ## Measure knowledge search on a 100,000-chunk corpus: COPY vs GORM, HNSW build, recall, API vs database floor (minutes)
	scripts/with-test-db.sh $(GO) test -run '^$$' -bench BenchmarkSearchCorpus -benchtime 1x -count 1 -timeout 60m -v ./handlers/

.PHONY: bench-search-1m
bench-search-1m: ## The same on 1,000,000 chunks: recall and latency per ef_search (about 20 minutes, 10+ GB of RAM)
	BENCH_CHUNKS=1000000 BENCH_SKIP_GORM=1 BENCH_MAINTENANCE_WORK_MEM=6GB BENCH_QUERIES=50 \
	  scripts/with-test-db.sh $(GO) test -run '^$$' -bench BenchmarkSearchCorpus -benchtime 1x -count 1 -timeout 120m -v ./handlers/

.PHONY: soak
soak: ## 10-minute soak of two instances at 40 req/s: CSV and PNG in .data/soak/ (SOAK_DURATION, SOAK_RATE, SOAK_INTERVAL); not part of make test
	scripts/with-test-db.sh $(GO) test -tags soak -run '^TestSoak$$' -count 1 -timeout 60m -v ./e2e/

.PHONY: build
# nomsgpack drops gin's MessagePack codec (3 MB of code this API never uses);
# a smaller binary maps fewer pages, which measured 7 MB less RSS (docs/testing.md).
BUILD_FLAGS := -trimpath -tags nomsgpack
build: ## Build the binary into bin/
	$(GO) build $(BUILD_FLAGS) -ldflags "-s -w -X github.com/dovvydive/backend/app.Version=$$(git describe --tags --always --dirty 2>/dev/null || echo dev)" -o $(BIN) .

.PHONY: deps
deps: ## Install PostgreSQL 15 and build pgvector from Debian's source package (needs root or sudo)
	scripts/install-deps.sh

.PHONY: db-start db-stop db-psql
db-start: ## Start the project-managed development PostgreSQL (.data/postgres, port 25432)
	@scripts/dev-db.sh >/dev/null
db-stop: ## Stop the project-managed development PostgreSQL
	scripts/pg.sh stop .data/postgres
db-psql: ## Open psql on the development database as the superuser
	scripts/pg.sh psql .data/postgres 25432 -d dovvydive -P pager=off

.PHONY: migrate-up migrate-down migrate-status
migrate-up: build ## Apply pending migrations
	./$(BIN) migrate up
migrate-down: build ## Roll back the last migration
	./$(BIN) migrate down
migrate-status: build ## Show migration status
	./$(BIN) migrate status

.PHONY: check
check: ## gofmt and go vet
	@test -z "$$(gofmt -l .)" || { gofmt -l .; exit 1; }
	$(GO) vet ./...

.PHONY: clean
clean: ## Remove build output (keeps .data/)
	rm -rf bin/
