# level-ilert: every command a user or CI runs. `make test` is THE test command.
SHELL := /bin/bash
PYTHON ?= python3
VENV := venv
PY := $(VENV)/bin/python

# --- Pulumi stacks -------------------------------------------------------------------------
# STACK=sandbox (default) runs against the local sandbox with state in ./.pulumi-state;
# any other stack (STACK=dev, ...) uses BACKEND_URL if given, else your current `pulumi login`.
STACK ?= sandbox
PULUMI := $(shell command -v pulumi 2>/dev/null)
INSTALL_PULUMI := The Pulumi CLI is not on PATH: install it (https://www.pulumi.com/docs/iac/download-install/, e.g. curl -fsSL https://get.pulumi.com | sh) and run this again
SANDBOX_DIR := .sandbox
SANDBOX_PID := $(SANDBOX_DIR)/sandbox.pid
ifeq ($(STACK),sandbox)
BACKEND_URL ?= file://$(CURDIR)/.pulumi-state
# The sandbox's fixed credentials and this stack's fixed passphrase: sandbox stack only.
export ILERT_API_TOKEN ?= sandbox-ilert-token
export LEVEL_API_KEY ?= sandbox-level-key
export PULUMI_CONFIG_PASSPHRASE ?= level-ilert-sandbox
endif
BACKEND_URL ?=
ifneq ($(BACKEND_URL),)
export PULUMI_BACKEND_URL := $(BACKEND_URL)
endif
PULUMI_FLAGS := --stack $(STACK) --non-interactive

.PHONY: test lint typecheck sandbox sandbox-start sandbox-stop venv clean \
        up preview drift destroy require-pulumi login stack

## venv: create ./venv (the virtualenv Pulumi.yaml names) and install pinned requirements
venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

## test: lint, type-check and run every test layer (unit, sandbox, providers, program, engine)
test: venv
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m pytest

lint: venv
	$(PY) -m ruff check .

typecheck: venv
	$(PY) -m mypy

## sandbox: run the local fake ilert + Level APIs in the foreground (Ctrl-C stops it)
sandbox: venv
	$(PY) -m sandbox --state $(SANDBOX_DIR)/world.json

## sandbox-start / sandbox-stop: the same in the background (make up does this for you)
sandbox-start: venv
	@mkdir -p $(SANDBOX_DIR)
	@if [ -f $(SANDBOX_PID) ] && kill -0 "$$(cat $(SANDBOX_PID))" 2>/dev/null; then \
	  echo "sandbox already running (pid $$(cat $(SANDBOX_PID)))"; \
	else \
	  nohup $(PY) -m sandbox --state $(SANDBOX_DIR)/world.json > $(SANDBOX_DIR)/sandbox.log 2>&1 & \
	  echo $$! > $(SANDBOX_PID); \
	  for _ in $$(seq 50); do (: > /dev/tcp/127.0.0.1/8791) 2>/dev/null && break; sleep 0.2; done; \
	  (: > /dev/tcp/127.0.0.1/8791) 2>/dev/null || { cat $(SANDBOX_DIR)/sandbox.log; exit 1; }; \
	  echo "sandbox started (pid $$(cat $(SANDBOX_PID)), log $(SANDBOX_DIR)/sandbox.log)"; \
	fi

sandbox-stop:
	@if [ -f $(SANDBOX_PID) ]; then kill "$$(cat $(SANDBOX_PID))" 2>/dev/null || true; rm -f $(SANDBOX_PID); echo "sandbox stopped"; fi

# --- Pulumi commands: each needs the CLI and stops with one line when it is missing ----------
require-pulumi:
	$(if $(PULUMI),@true,$(error $(INSTALL_PULUMI)))

login: require-pulumi
	$(if $(BACKEND_URL),pulumi login "$(BACKEND_URL)",@pulumi whoami >/dev/null)

stack: require-pulumi venv login
	@pulumi stack select $(STACK) 2>/dev/null || pulumi stack init $(STACK)

ifeq ($(STACK),sandbox)
stack: sandbox-start
endif

## up: provision (default STACK=sandbox: starts the sandbox, local state, then pulumi up)
up: require-pulumi stack
	pulumi up --yes $(PULUMI_FLAGS)

## preview: what `up` would change
preview: require-pulumi stack
	pulumi preview --diff $(PULUMI_FLAGS)

## drift: refresh from the live APIs and fail (exit 7 on CLI >= 3.227) if anything drifted
drift: require-pulumi stack
	pulumi preview --refresh --expect-no-changes --diff $(PULUMI_FLAGS)

## destroy: delete the webhook(s), then the alert source(s)
destroy: require-pulumi stack
	pulumi destroy --yes $(PULUMI_FLAGS)

clean: sandbox-stop
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
