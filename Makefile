# FlashSale developer commands (GNU make). `make help` lists them.
# Local PostgreSQL/Redis are managed by scripts/services.sh (under .local/).

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.PHONY: help run test lint format stop bench migrate loadtest

# Ports of the local servers; also read by scripts/services.sh.
FLASHSALE_PG_PORT    ?= 55432
FLASHSALE_REDIS_PORT ?= 56379
export FLASHSALE_PG_PORT FLASHSALE_REDIS_PORT

# Dev environment of the service (override: make run HTTP_PORT=9090 ...).
HTTP_HOST  ?= 127.0.0.1
HTTP_PORT  ?= 8080
JWT_SECRET ?= dev-only-secret-change-me-in-production
WORKER_METRICS_PORT ?= 9091
EMAIL_OUTBOX_DIR ?= $(CURDIR)/.local/outbox
# Deliberately not named DATABASE_URL/REDIS_URL so that a value exported in
# your shell for something else is never picked up (tests write to these).
DEV_DATABASE_URL  ?= postgres://flashsale@127.0.0.1:$(FLASHSALE_PG_PORT)/flashsale
DEV_REDIS_URL     ?= redis://127.0.0.1:$(FLASHSALE_REDIS_PORT)/0
TEST_DATABASE_URL ?= postgres://flashsale@127.0.0.1:$(FLASHSALE_PG_PORT)/flashsale_test
TEST_REDIS_URL    ?= redis://127.0.0.1:$(FLASHSALE_REDIS_PORT)/1

SERVICES := scripts/services.sh
DEV_ENV  := DATABASE_URL='$(DEV_DATABASE_URL)' REDIS_URL='$(DEV_REDIS_URL)' \
            HTTP_HOST='$(HTTP_HOST)' HTTP_PORT='$(HTTP_PORT)' JWT_SECRET='$(JWT_SECRET)'

# swift-format ships with the Swift toolchain (`swift format`); its settings are in .swift-format.
SWIFT_FORMAT_PATHS := Sources Tests LoadTests Plugins Package.swift
LINT_COMMAND   := swift format lint --strict --configuration .swift-format -r $(SWIFT_FORMAT_PATHS)
FORMAT_COMMAND := swift format format --in-place --configuration .swift-format -r $(SWIFT_FORMAT_PATHS)

help: ## list the targets (default)
	@echo "usage: make <target> [VAR=value ...]"
	@awk 'BEGIN { FS = ":.*## " } /^[a-z][a-z-]*:.*## / { printf "  %-8s %s\n", $$1, $$2 }' $(firstword $(MAKEFILE_LIST))
	@echo "variables: HTTP_HOST HTTP_PORT JWT_SECRET WORKER_METRICS_PORT EMAIL_OUTBOX_DIR FLASHSALE_PG_PORT FLASHSALE_REDIS_PORT"
	@echo "           LOADTEST_SCENARIO LOADTEST_ARGS"
	@echo "           DEV_DATABASE_URL DEV_REDIS_URL TEST_DATABASE_URL TEST_REDIS_URL"

run: ## start PostgreSQL+Redis, build release, migrate, seed the demo sale, run the worker and serve on HTTP_HOST:HTTP_PORT
	$(SERVICES) start
	swift build -c release --product flashsale
	env $(DEV_ENV) .build/release/flashsale migrate
	env $(DEV_ENV) .build/release/flashsale seed --demo
	@# The worker beside the service (metrics on WORKER_METRICS_PORT, e-mails as .eml files in
	@# .local/outbox); Ctrl-C stops both, and so does the service ending. The load test (make
	@# loadtest) is this machine's load balancer: its X-Forwarded-For names each simulated
	@# shopper's own address, so per-client limits hold per shopper, not per machine.
	@# (No comment may sit inside the continued command below: the shell would read it as words.)
	env $(DEV_ENV) WORKER_METRICS_PORT='$(WORKER_METRICS_PORT)' EMAIL_OUTBOX_DIR='$(EMAIL_OUTBOX_DIR)' \
	    .build/release/flashsale worker & worker=$$!; \
	trap 'kill -TERM $$worker 2>/dev/null; wait $$worker 2>/dev/null || true' EXIT; \
	env $(DEV_ENV) TRUSTED_PROXIES='127.0.0.1' .build/release/flashsale serve

test: ## lint, start PostgreSQL+Redis, build and run the test suite
	@started=$$(date +%s); \
	trap 'rc=$$?; if [ $$rc -eq 0 ]; then r=passed; else r="FAILED (exit $$rc)"; fi; echo "make test: $$r in $$(( $$(date +%s) - started ))s"' EXIT; \
	echo "+ make lint"; $(MAKE) --no-print-directory lint; \
	echo "+ $(SERVICES) start"; $(SERVICES) start; \
	export DATABASE_URL='$(TEST_DATABASE_URL)' REDIS_URL='$(TEST_REDIS_URL)'; \
	FLASHSALE_REDIS_SERVER=$$(command -v redis-server); export FLASHSALE_REDIS_SERVER; \
	echo "+ DATABASE_URL=$$DATABASE_URL REDIS_URL=$$REDIS_URL FLASHSALE_REDIS_SERVER=$$FLASHSALE_REDIS_SERVER"; \
	echo "+ swift build --build-tests"; swift build --build-tests; \
	echo "+ swift test --no-parallel"; swift test --no-parallel

lint: ## check that the Swift sources are formatted as .swift-format says (fix: make format)
	@echo "+ $(LINT_COMMAND)"; \
	if ! $(LINT_COMMAND); then \
	    echo "make lint: the Swift sources above do not follow .swift-format; run \`make format\`, review the changes and commit them" >&2; \
	    exit 1; \
	fi

format: ## format the Swift sources in place with .swift-format
	$(FORMAT_COMMAND)

# `make loadtest LOADTEST_SCENARIO=LoadTests/Scenarios/smoke.json LOADTEST_ARGS='--scale 0.5'`
LOADTEST_SCENARIO ?= LoadTests/Scenarios/sale-day.json
LOADTEST_ARGS ?=

loadtest: ## replay LOADTEST_SCENARIO (sale-day.json) against the service of `make run`, audit both stores, write report.json/html
	$(SERVICES) start
	swift build -c release --product flashsale-loadtest
	env $(DEV_ENV) .build/release/flashsale-loadtest run '$(LOADTEST_SCENARIO)' --target 'http://$(HTTP_HOST):$(HTTP_PORT)' $(LOADTEST_ARGS)

stop: ## stop the local PostgreSQL and Redis
	$(SERVICES) stop

bench: ## release-build benchmarks: Redis client, hot-SKU order writes, worker jobs/expiry, purchases over HTTP (rates, memory, audit), the open-loop latency sweep, a 1M-SKU sale and hostile ids, seeding 1M SKUs
	$(SERVICES) install --bench
	$(SERVICES) start
	scripts/bench-redis.sh
	scripts/bench-orders.sh
	scripts/bench-worker.sh
	scripts/bench-http.sh
	scripts/bench-sweep.sh
	scripts/bench-catalog.sh
	scripts/bench-seed.sh

migrate: ## start PostgreSQL+Redis and apply migrations to the dev database
	$(SERVICES) start
	env $(DEV_ENV) swift run flashsale migrate
