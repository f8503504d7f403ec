# level-ilert: every command a user or CI runs. `make test` is THE test command.
SHELL := /bin/bash
PYTHON ?= python3
VENV := venv
PY := $(VENV)/bin/python

# --- Pulumi stacks -------------------------------------------------------------------------
# STACK=sandbox (default) runs against the local sandbox with state in ./.pulumi-state, the
# sandbox's fixed credentials and a fixed passphrase, whatever the shell exports.
# Any other stack (STACK=dev, ...) uses BACKEND_URL if given, else your current `pulumi login`,
# and must exist already (`pulumi stack init <name>`): make never creates a real stack.
STACK ?= sandbox
PULUMI := $(shell command -v pulumi 2>/dev/null)
INSTALL_PULUMI := The Pulumi CLI is not on PATH: install it (https://www.pulumi.com/docs/iac/download-install/, e.g. curl -fsSL https://get.pulumi.com | sh) and run this again
SANDBOX_DIR := .sandbox
SANDBOX_PID := $(SANDBOX_DIR)/sandbox.pid
SANDBOX_PORTS := 8790 8791
STATE_DIR := .pulumi-state
ifeq ($(STACK),sandbox)
override BACKEND_URL := file://$(CURDIR)/$(STATE_DIR)
export ILERT_API_TOKEN := sandbox-ilert-token
export LEVEL_API_KEY := sandbox-level-key
export PULUMI_CONFIG_PASSPHRASE := level-ilert-sandbox
endif
BACKEND_URL ?=
ifneq ($(BACKEND_URL),)
# Scoped to these commands: unlike `pulumi login`, this leaves your default backend alone.
export PULUMI_BACKEND_URL := $(BACKEND_URL)
endif
PULUMI_FLAGS := --stack $(STACK) --non-interactive

# --- Scale (issue 18): intermediate checkpoints ----------------------------------------------
# By default the CLI rewrites the whole state after every step, which makes large stacks
# quadratic (README "Scale"). Every pulumi command here skips those checkpoints and writes the
# state once, at the end; if the CLI dies in between, the provider's journal of this stack's
# creates (providers/journal.py) takes back what it made. CHECKPOINTS=on restores the default.
CHECKPOINTS ?= off
ifeq ($(CHECKPOINTS),off)
export PULUMI_SKIP_CHECKPOINTS := true
endif
# True when both sandbox ports answer on loopback.
SANDBOX_UP := for port in $(SANDBOX_PORTS); do (: > /dev/tcp/127.0.0.1/$$port) 2>/dev/null || exit 1; done

.PHONY: test lint typecheck sandbox sandbox-start sandbox-stop venv clean \
        up preview drift outputs destroy require-pulumi stack doctor verify bench \
        bench-engine crash-drill mutate mutate-ops

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

## sandbox: run the local fake ilert + Level APIs in the foreground (Ctrl-C stops it);
## SANDBOX_ARGS passes options, e.g. SANDBOX_ARGS='--ilert-rate-limit 120/60'
SANDBOX_ARGS ?=
sandbox: venv
	$(PY) -m sandbox --state $(SANDBOX_DIR)/world.json $(SANDBOX_ARGS)

## sandbox-start / sandbox-stop: the same in the background (make up does this for you)
sandbox-start: venv
	@mkdir -p $(SANDBOX_DIR)
	@if ( $(SANDBOX_UP) ); then \
	  echo "sandbox already answering on ports $(SANDBOX_PORTS)" >&2; \
	else \
	  nohup $(PY) -m sandbox --state $(SANDBOX_DIR)/world.json $(SANDBOX_ARGS) > $(SANDBOX_DIR)/sandbox.log 2>&1 & \
	  echo $$! > $(SANDBOX_PID); \
	  for _ in $$(seq 50); do ( $(SANDBOX_UP) ) && break; sleep 0.2; done; \
	  ( $(SANDBOX_UP) ) || { cat $(SANDBOX_DIR)/sandbox.log; exit 1; }; \
	  echo "sandbox started (pid $$(cat $(SANDBOX_PID)), log $(SANDBOX_DIR)/sandbox.log)" >&2; \
	fi

sandbox-stop:
	@if [ -f $(SANDBOX_PID) ]; then kill "$$(cat $(SANDBOX_PID))" 2>/dev/null || true; rm -f $(SANDBOX_PID); echo "sandbox stopped"; fi

# --- Pulumi commands: each needs the CLI and stops with one line when it is missing ----------
require-pulumi:
	$(if $(PULUMI),@true,$(error $(INSTALL_PULUMI)))

ifeq ($(STACK),sandbox)
stack: require-pulumi venv sandbox-start
	@mkdir -p $(STATE_DIR)
	@pulumi stack select sandbox 2>/dev/null || pulumi stack init sandbox
else
stack: require-pulumi venv
	@pulumi stack select $(STACK) >/dev/null 2>&1 || { \
	  echo "Stack '$(STACK)' was not found on $${PULUMI_BACKEND_URL:-your current pulumi login}: create it with 'pulumi stack init $(STACK)' (README: Going to a real environment), or set BACKEND_URL." >&2; \
	  exit 2; }
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

## outputs: the stack's outputs (integration URLs show as [secret])
outputs: require-pulumi stack
	pulumi stack output $(PULUMI_FLAGS)

## destroy: delete the webhook(s), then the alert source(s)
destroy: require-pulumi stack
	pulumi destroy --yes $(PULUMI_FLAGS)

# --- Operator checks beside pulumi: no Pulumi CLI needed (ops/ reads Pulumi.<stack>.yaml) -----
# Options: INTEGRATION=<name> (default all), JSON=1 (one JSON document), PROBE_WRITE=1 (doctor:
# one Level write that changes nothing, to tell a read-only key), YES=1 (verify against real
# accounts: it pages the on-call person), TIMEOUT=<seconds> (verify, default 60).
# `python -m ops` exits 0 (all passed), 1 (a check failed), 2 (could not run); make turns any
# failure into its own exit 2, so CI that needs the difference calls `python -m ops` directly.
ifeq ($(STACK),sandbox)
OPS_DEPS := venv sandbox-start
else
OPS_DEPS := venv
endif
OPS_FLAGS = --stack $(STACK) $(if $(INTEGRATION),--integration '$(INTEGRATION)') \
            $(if $(filter 1,$(JSON)),--json)

## doctor: Level's troubleshooting list as checks, per integration of STACK (sends only GETs)
doctor: $(OPS_DEPS)
	@$(PY) -m ops doctor $(OPS_FLAGS) $(if $(filter 1,$(PROBE_WRITE)),--probe-write)

## verify: Level's end-to-end test (raise, see it in ilert, resolve); YES=1 for real accounts
verify: $(OPS_DEPS)
	@$(PY) -m ops verify $(OPS_FLAGS) $(if $(filter 1,$(YES)),--yes) \
	  $(if $(TIMEOUT),--timeout $(TIMEOUT))

# --- Mutation testing (slow, so not part of `make test`) -------------------------------------
# mutmut copies the code into ./mutants, changes it one edit at a time and runs the tests that
# reach the changed function (config: [tool.mutmut] in pyproject.toml). The OpenAPI referee
# is passed by absolute path: the tests run inside ./mutants. MUTATE_JOBS bounds the workers
# (the machine's cores are shared). The summary fails below 90 % or on a survivor that is
# neither killed nor listed in tests/mutation_equivalents.md.
MUTATE_JOBS ?= 2
MUTMUT = set -o pipefail; rm -rf mutants; \
  ILERT_OPENAPI_SPEC=$${ILERT_OPENAPI_SPEC:-$(abspath ../shared/reference/ilert-openapi.yml)} \
  $(VENV)/bin/mutmut run --max-children $(MUTATE_JOBS)
# mutmut lists every mutant it was asked for; keep the survivors' lines.
MUTMUT_QUIET = | grep -v -e '^🎉 ' -e '^⏰ '

## mutate: mutation score of providers/ and components/, and every surviving mutant
mutate: venv
	@$(MUTMUT) 'providers.*' 'components.*' $(MUTMUT_QUIET)
	@$(PY) -m tests.mutation_report --scope providers --scope components --min-score 90

## mutate-ops: the same for ops/ (the operator commands); a run of its own, it takes as long
mutate-ops: venv
	@$(MUTMUT) 'ops.*' $(MUTMUT_QUIET)
	@$(PY) -m tests.mutation_report --scope ops --min-score 0

## bench: scale and pacing figures (N=10, 200, 1000 integrations; BENCH_SIZES to choose)
bench: venv
	$(PY) -m bench.scale $(BENCH_SIZES)

## bench-engine: the real Pulumi CLI against the sandbox at N=50, 200, 1000 integrations, pacing
## off and real (BENCH_ENGINE_SIZES, BENCH_ENGINE_ARGS='--pacing off', CHECKPOINTS=on to compare)
BENCH_ENGINE_SIZES ?= 50 200 1000
bench-engine: venv
	$(PY) -m bench.engine --sizes $(BENCH_ENGINE_SIZES) $(BENCH_ENGINE_ARGS)

## crash-drill: SIGKILL the CLI in the middle of an up of 200 integrations, then up again: no
## duplicate, nothing lost (CRASH_ARGS='--kill all --integrations 500')
crash-drill: venv
	$(PY) -m bench.crash $(CRASH_ARGS)

clean: sandbox-stop
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache mutants
