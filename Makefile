# linkpulse — every developer and CI entry point. `make help` lists them.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
PYTEST := $(BIN)/pytest

.PHONY: help deps venv lint format test test-fast test-unit test-integration test-e2e bench lock

help: ## list targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

deps: ## install the Debian packages the tests use (redis-server, chromium, wrk)
	@scripts/install-host-deps.sh

$(BIN)/.installed: requirements/dev.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements/dev.lock
	@touch $@

venv: $(BIN)/.installed ## create .venv from the hash-locked requirements

lint: venv ## ruff (lint + format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: venv ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test-unit: venv
	$(PYTEST) tests/unit

test-integration: venv deps
	$(PYTEST) tests/integration

test-e2e: venv deps
	$(PYTEST) tests/e2e

test-fast: venv deps ## lint + unit + integration, without the slow chaos runs
	$(MAKE) --no-print-directory lint
	$(PYTEST) -m "not slow" tests/unit tests/integration

test: venv deps ## every test tier: lint, unit, integration, e2e
	$(MAKE) --no-print-directory lint
	$(PYTEST) tests/unit tests/integration tests/e2e

bench: venv deps ## benchmarks; writes docs/benchmarks.md
	$(BIN)/python -m bench

lock: ## re-resolve requirements/*.lock (needs network to the package index)
	@test -x build/uv/bin/uv || { $(PYTHON) -m venv build/uv && build/uv/bin/pip install --quiet uv==$(UV_VERSION); }
	build/uv/bin/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes --no-header -q -o requirements/runtime.lock
	build/uv/bin/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 --generate-hashes --no-header -q -o requirements/dev.lock
