# level-ilert: every command a user or CI runs. `make test` is THE test command.
SHELL := /bin/bash
PYTHON ?= python3
# Built tools (the Pulumi CLI, actionlint) live here, per version, outside the checkout.
export LEVEL_ILERT_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/level-ilert
VENV := venv
PY := $(VENV)/bin/python

# --- Pulumi stacks -------------------------------------------------------------------------
# STACK=sandbox (default), and any stack named sandbox* (Pulumi.sandbox-a.yaml, ...), runs
# against the local sandbox with state in ./.pulumi-state, the sandbox's fixed credentials and
# its fixed, public passphrase (level-ilert-sandbox), whatever the shell exports; make creates
# such a stack on first use. Any other stack (STACK=dev, ...) uses BACKEND_URL if given, else
# the backend of your current `pulumi login`, and must exist already (`pulumi stack init
# <name>`): make never creates a real stack.
STACK ?= sandbox
SANDBOX_DIR := .sandbox
SANDBOX_PID := $(SANDBOX_DIR)/sandbox.pid
SANDBOX_PORTS := 8790 8791
STATE_DIR := .pulumi-state
# make fleet-* gives each stack its own environment (ops/fleet/stacks.py): the sandbox stack's
# credentials and passphrase below must not reach the fleet's other stacks.
FLEET_GOALS := $(filter fleet-%,$(MAKECMDGOALS))
SANDBOX_STACK := $(filter sandbox%,$(STACK))
ifeq ($(if $(FLEET_GOALS),,$(SANDBOX_STACK)),$(STACK))
override BACKEND_URL := file://$(CURDIR)/$(STATE_DIR)
export ILERT_API_TOKEN := sandbox-ilert-token
export LEVEL_API_KEY := sandbox-level-key
export PULUMI_CONFIG_PASSPHRASE := level-ilert-sandbox
endif
BACKEND_URL ?=
# The passphrase of a real stack (docs/real-environment.md#the-passphrase): the one you export
# (PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE), else the file where you keep it,
# $(LEVEL_ILERT_PASSPHRASES)/<stack> (mode 0600, outside the checkout), which make then
# exports as PULUMI_CONFIG_PASSPHRASE_FILE; python -m ops looks there too (ops/secure_config.py).
export LEVEL_ILERT_PASSPHRASES ?= $(or $(XDG_CONFIG_HOME),$(HOME)/.config)/level-ilert/passphrases
PASSPHRASE_FILE := $(LEVEL_ILERT_PASSPHRASES)/$(STACK)
ifeq ($(SANDBOX_STACK)$(origin PULUMI_CONFIG_PASSPHRASE)$(origin PULUMI_CONFIG_PASSPHRASE_FILE),undefinedundefined)
ifneq ($(wildcard $(PASSPHRASE_FILE)),)
export PULUMI_CONFIG_PASSPHRASE_FILE := $(PASSPHRASE_FILE)
endif
endif
# The Pulumi CLI: one on PATH at or above the version pinned in tools/pulumi-build/cli/go.mod,
# else the one `make pulumi` builds into ~/.cache/level-ilert (tools/pulumi_cli.py).
PULUMI_CLI := $(PYTHON) -m tools.pulumi_cli
# Computed once, when a recipe first needs it (after `make pulumi` ran).
PULUMI_DIR = $(eval PULUMI_DIR := $(shell $(PULUMI_CLI) dir))$(PULUMI_DIR)
BACKEND = $(eval BACKEND := $(or $(BACKEND_URL),$(shell $(PULUMI_CLI) backend 2>/dev/null)))$(BACKEND)
# Every run of the CLI: an explicit backend (never a default login or an ephemeral account),
# no update check and no plugin download (nothing reaches the internet), and the venv first on
# PATH (Pulumi's Python language host built here runs `python3` from PATH; harmless otherwise).
# Refreshes run the program (PULUMI_RUN_PROGRAM, the CLI's --run-program): the providers then
# read with the credentials set now rather than those saved at the stack's last update, so a
# rotated key (new one set, old one revoked) works at once (docs/real-environment.md#rotating-a-key).
# Not while a rename (previousResourceNames) waits for its `up`: the engine fails on that
# (ops/refresh_mode.py decides, once, when a recipe first needs it). RUN_PROGRAM=false forces off.
RUN_PROGRAM = $(eval RUN_PROGRAM := $(shell PULUMI_BACKEND_URL="$(BACKEND)" \
  PULUMI_SKIP_UPDATE_CHECK=true PATH="$(PULUMI_DIR):$$PATH" $(PY) -m ops.refresh_mode --stack $(STACK)))$(RUN_PROGRAM)
PULUMI = PULUMI_BACKEND_URL="$(BACKEND)" PULUMI_SKIP_UPDATE_CHECK=true \
  PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true PULUMI_RUN_PROGRAM=$(RUN_PROGRAM) \
  PATH="$(CURDIR)/$(VENV)/bin:$(PULUMI_DIR):$$PATH" pulumi
PULUMI_FLAGS := --stack $(STACK) --non-interactive

# --- Checkpoints (docs/faults-and-scale.md) ---------------------------------------------------
# The CLI writes the state after every step, as Pulumi does by default: a CLI killed mid-up
# leaves what it created as pending creates, and the next `up` names each object it finds
# with the one command that takes them back (make up ADOPT=1). A self-managed backend
# rewrites the whole state each time, which grows with the square of a stack of hundreds of
# integrations: CHECKPOINTS=off writes it once, at the end (a killed run then leaves no trace
# in the state, and ADOPT=1 takes its objects back the same way).
CHECKPOINTS ?= on
ifeq ($(CHECKPOINTS),off)
export PULUMI_SKIP_CHECKPOINTS := true
endif
# Show the command as a user would type it, run it with the environment above.
run-pulumi = @echo "pulumi $(1)" >&2; $(PULUMI) $(1)
# The same, then a renamed integration that the engine replaces (or replaced: $(2) = --done) is
# explained from the CLI's own engine events (ops/renames.py; --event-log, a flag the CLI
# offers with PULUMI_DEBUG_COMMANDS, as the Automation API uses it). The log is a temporary
# file, removed at once; the events mask secrets.
run-pulumi-explained = @echo "pulumi $(1)" >&2; log=$$(mktemp); trap 'rm -f "$$log"' EXIT; \
  PULUMI_DEBUG_COMMANDS=true $(PULUMI) $(1) --event-log "$$log"; code=$$?; \
  $(PY) -m ops.renames --stack $(STACK) $(2) "$$log"; exit $$code
# True when both sandbox ports answer on loopback.
SANDBOX_UP := for port in $(SANDBOX_PORTS); do (: > /dev/tcp/127.0.0.1/$$port) 2>/dev/null || exit 1; done

.PHONY: test lint lint-workflows typecheck sandbox sandbox-start sandbox-stop venv clean \
        pulumi up preview drift outputs destroy cancel stack doctor verify discover bench e2e \
        rotate passphrase audit instructions venv-runtime lock \
        fleet-up fleet-preview fleet-drift fleet-destroy bench-engine crash-drill stack-rm \
        sandbox-help ilert-openapi \
        mutate mutate-ops help

## help: every target and its options (these ## lines; a wrapped line is indented)
help:
	@awk '/^## / { text = substr($$0, 4); \
	  print (text ~ /^[a-z][a-z0-9-]*( \/ [a-z][a-z0-9-]*)*: / ? "" : "    ") text }' \
	  $(firstword $(MAKEFILE_LIST))

# --- Python packages (docs/development.md, "Dependencies") ------------------------------------
# requirements.txt (runtime) and requirements-dev.txt (tests, lint) name the packages we chose;
# requirements.lock and requirements-dev.lock pin every package they pull in, each with its
# hashes, and are what gets installed (pip --require-hashes: a package whose file does not
# match its hash is refused). `make lock` regenerates both after an edit of requirements*.txt.
PIP_INSTALL := $(PY) -m pip install --quiet --disable-pip-version-check --require-hashes
## venv: create ./venv (the virtualenv Pulumi.yaml names) and install requirements-dev.lock
venv: $(VENV)/.installed
$(VENV)/.installed: requirements.lock requirements-dev.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -r requirements-dev.lock
	@touch $@

## venv-runtime: ./venv with the runtime packages only (requirements.lock): the program, ops
## and tools/drift_report.py, none of the test and lint tools (the drift job's install)
venv-runtime: $(VENV)/.runtime
$(VENV)/.runtime: requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -r requirements.lock
	@touch $@

## lock: regenerate requirements.lock and requirements-dev.lock from requirements*.txt (uv,
## pinned in requirements-dev.txt; reads PyPI): every platform, Python 3.11 and up
LOCK_COMPILE = UV_CUSTOM_COMPILE_COMMAND="make lock" $(VENV)/bin/uv pip compile --quiet \
  --universal --python-version 3.11 --generate-hashes
lock: venv
	$(LOCK_COMPILE) requirements.txt -o requirements.lock
	$(LOCK_COMPILE) requirements-dev.txt --constraint requirements.lock -o requirements-dev.lock

## test: lint, type-check and run every test layer (unit, sandbox, providers, program, engine);
## TEST_JOBS processes (pytest-xdist, one test file per process at a time; 1 = no xdist)
TEST_JOBS ?= 4
test: venv
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m pytest $(if $(filter-out 1,$(TEST_JOBS)),-n $(TEST_JOBS) --dist loadfile)

lint: venv
	$(PY) -m ruff check .

## ilert-openapi: fetch the ilert OpenAPI spec the tests referee against (v2.2026.5-r.3, pinned
## by its SHA-256; tests/ilert_openapi.py says where it comes from) into the cache, where
## make test finds it; CI runs it before make test. Prints the file's path.
ILERT_OPENAPI_SHA256 := b6a7330cad711b7de01fc6c6ad98a4d5b6b51b26e67c54487a63c76c26dd6ec2
ILERT_OPENAPI_URL := https://raw.githubusercontent.com/api-evangelist/ilert/7bc47dc15d8b61ad68c3da13176939bd1384b5ff/openapi/_original/ilert-ilert-rest-api-openapi.yml
ILERT_OPENAPI_FILE = $(LEVEL_ILERT_CACHE)/ilert-openapi/$(ILERT_OPENAPI_SHA256).yml
ilert-openapi:
	@test -f "$(ILERT_OPENAPI_FILE)" || { mkdir -p "$(dir $(ILERT_OPENAPI_FILE))"; \
	  tmp=$$(mktemp "$(ILERT_OPENAPI_FILE).XXXXXX"); \
	  if curl -fsSL --proto '=https,file' --max-time 120 -o "$$tmp" '$(ILERT_OPENAPI_URL)' \
	     && echo "$(ILERT_OPENAPI_SHA256)  $$tmp" | sha256sum --check --status; then \
	    mv "$$tmp" "$(ILERT_OPENAPI_FILE)"; \
	  else rm -f "$$tmp"; \
	    echo "ilert-openapi: $(ILERT_OPENAPI_URL) could not be fetched, or its SHA-256 is not the pinned $(ILERT_OPENAPI_SHA256): nothing kept" >&2; \
	    exit 2; fi; }
	@echo "$(ILERT_OPENAPI_FILE)"

## lint-workflows: actionlint (built with go install, cached per version) and zizmor (its
## default and auditor personas) over .github/workflows; outside `make test`, which needs no Go
ACTIONLINT_VERSION := v1.7.12
ACTIONLINT_DIR = $(LEVEL_ILERT_CACHE)/tools/actionlint-$(ACTIONLINT_VERSION)
lint-workflows: venv
	@test -x $(ACTIONLINT_DIR)/actionlint || { \
	  command -v go >/dev/null || { echo "lint-workflows needs Go to build actionlint (https://go.dev/dl/)" >&2; exit 2; }; \
	  echo "building actionlint $(ACTIONLINT_VERSION) ..." >&2; \
	  GOBIN=$(ACTIONLINT_DIR) GOFLAGS=-mod=mod go install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION); }
	$(ACTIONLINT_DIR)/actionlint -color=false
	$(VENV)/bin/zizmor --offline --no-progress .github/workflows
	$(VENV)/bin/zizmor --offline --no-progress --persona=auditor .github/workflows

typecheck: venv
	$(PY) -m mypy

## sandbox: run the local fake ilert + Level APIs in the foreground (Ctrl-C stops it);
## SANDBOX_ARGS passes options, e.g. SANDBOX_ARGS='--ilert-rate-limit 120/60'
SANDBOX_ARGS ?=
sandbox: venv
	$(PY) -m sandbox --state $(SANDBOX_DIR)/world.json $(SANDBOX_ARGS)

## sandbox-help: the sandbox's credentials, and the routes to change it by hand (docs/sandbox.md)
sandbox-help:
	@sed -e '/^```/d' docs/sandbox.md

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

# --- Pulumi commands: each runs `make pulumi` first -----------------------------------------
## pulumi: find the pinned Pulumi CLI, or build it from Pulumi's Go modules into the cache
pulumi:
	@$(PULUMI_CLI) ensure >/dev/null

ifneq ($(SANDBOX_STACK),)
# A sandbox stack is made on first use, and only when the CLI says it does not exist: any other
# failure to select it (an unreadable state after a killed run) is shown, never answered with
# a `stack init` that would write an empty state over the one that is there.
stack: pulumi venv sandbox-start
	@mkdir -p $(STATE_DIR)
	@out=$$($(PULUMI) stack select $(STACK) 2>&1) || case "$$out" in \
	  *"no stack named"*) $(PULUMI) stack init $(STACK) ;; \
	  *) echo "$$out" >&2; exit 2 ;; esac
else
stack: pulumi venv
	@test -n "$(BACKEND)" || { \
	  echo "No Pulumi backend for stack '$(STACK)': pass BACKEND_URL=<url> (file://..., s3://..., https://api.pulumi.com) or run 'pulumi login' first." >&2; \
	  exit 2; }
	@if grep -qs '^encryptionsalt:' Pulumi.$(STACK).yaml && [ -z "$${PULUMI_CONFIG_PASSPHRASE+set}" ] \
	    && [ -z "$$PULUMI_CONFIG_PASSPHRASE_FILE" ]; then \
	  echo "Stack '$(STACK)' encrypts its secrets with a passphrase and none was found: keep it in $(PASSPHRASE_FILE) (mode 0600), or export PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE (docs/real-environment.md#the-passphrase)." >&2; \
	  exit 2; fi
	@if [ "$$PULUMI_CONFIG_PASSPHRASE_FILE" = "$(PASSPHRASE_FILE)" ] && [ -n "$$(find "$(PASSPHRASE_FILE)" -perm -g+r -o -perm -o+r 2>/dev/null)" ]; then \
	  echo "warning: $(PASSPHRASE_FILE) can be read by other users: chmod 600 it." >&2; fi
	@$(PULUMI) stack select $(STACK) >/dev/null 2>&1 || { \
	  echo "Stack '$(STACK)' was not found on $(BACKEND): create it with 'pulumi stack init $(STACK)' (docs/real-environment.md), or set BACKEND_URL." >&2; \
	  exit 2; }
endif

# Before `up` and `cancel`, the commands run after a killed one: on a file:// backend, a kill
# inside a checkpoint write can leave the state's metadata file (<stack>.json.attrs, beside the
# state) empty, and every pulumi command then stops with "failed to load checkpoint: EOF"
# (`stack` above would only say the stack was not found). Name the way back instead
# (docs/lifecycle.md#when-pulumi-cannot-load-the-state); this only reads. (An empty metadata
# file of the .json.bak stops nothing: no command reads it, the next checkpoint rewrites it.)
.PHONY: state-readable
state-readable:
	@dir='$(BACKEND)'; case "$$dir" in file://*) ;; *) exit 0 ;; esac; \
	dir="$${dir#file://}"; dir="$${dir%%\?*}"; case "$$dir" in "~"*) dir="$$HOME$${dir#\~}" ;; esac; \
	empty=$$(find "$$dir/.pulumi/stacks" -empty \( -name '$(STACK).json.attrs' -o -name '$(STACK).json.gz.attrs' \
	  -o -name '$(STACK).json.zst.attrs' \) -exec printf "  rm '%s'\n" {} \; 2>/dev/null); \
	if [ -n "$$empty" ]; then \
	  echo "Pulumi cannot load the state of stack '$(STACK)' (failed to load checkpoint: EOF): a run killed while it saved a checkpoint left the state's metadata file empty; the state itself is whole. Delete the empty file, then run make cancel and make up as after any killed run (docs/lifecycle.md#when-pulumi-cannot-load-the-state):" >&2; \
	  echo "$$empty" >&2; exit 2; fi

## up: provision, after reading both APIs (Pulumi.yaml: refresh always), so it repairs drift;
## ADOPT=1 takes over every existing object the stack would otherwise refuse as a duplicate
## (after a run cut short: it clears that run's pending creates first)
up: state-readable stack
ifeq ($(ADOPT),1)
	$(call run-pulumi,refresh --clear-pending-creates --yes --skip-preview $(PULUMI_FLAGS))
	$(call run-pulumi-explained,up --yes $(PULUMI_FLAGS),--done)
up: export LEVEL_ILERT_ADOPT := 1
else
	$(call run-pulumi-explained,up --yes $(PULUMI_FLAGS),--done)
endif

## preview: what `up` would change (after the same refresh); a renamed integration that would
## be replaced is explained, with the line that renames it in place
preview: stack
	$(call run-pulumi-explained,preview --diff $(PULUMI_FLAGS))

## drift: refresh from the live APIs and fail if anything drifted (the CLI exits 7; make, 2);
## it only reads, so its preflight skips the Level write probe (a read-only key is enough)
drift: stack
	$(call run-pulumi,preview --refresh --expect-no-changes --diff $(PULUMI_FLAGS))
drift: export LEVEL_ILERT_PREFLIGHT := read-only

## outputs: the stack's outputs (integration URLs show as [secret]; SHOW_SECRETS=1 shows them)
outputs: stack
	$(call run-pulumi,stack output $(PULUMI_FLAGS) $(if $(filter 1,$(SHOW_SECRETS)),--show-secrets))

## destroy: delete the webhook(s), then the alert source(s); a real stack asks you to type its
## name (in scripts: YES=<stack name>). It runs from the saved state, not the program, so a
## stack file that no longer validates never stops it; after a key rotation, make rotate first
destroy: override RUN_PROGRAM := false
destroy: stack
ifeq ($(SANDBOX_STACK),)
	@if [ "$(YES)" != '$(STACK)' ]; then \
	  echo "make destroy STACK=$(STACK) deletes every alert source and webhook of the stack: its alerts stop reaching ilert." >&2; \
	  if [ -n "$(YES)" ] || [ ! -t 0 ]; then \
	    echo "To go ahead, name the stack: make destroy STACK=$(STACK) YES=$(STACK)" >&2; exit 2; fi; \
	  printf '%s' "Type the stack's name to destroy it: " >&2; read -r typed || typed=; \
	  [ "$$typed" = '$(STACK)' ] || { echo "Not destroyed: you typed '$$typed', not '$(STACK)'." >&2; exit 2; }; \
	fi
endif
	$(call run-pulumi,destroy --yes $(PULUMI_FLAGS))
	@! grep -qsE "^ *level:webhookManagement: *[\"']?manual" Pulumi.$(STACK).yaml || echo \
	  "Manual mode: the Level webhooks were made by hand, and no API can delete them:" \
	  "delete them in Level (Settings > Webhooks), or Level keeps sending to URLs that" \
	  "no longer exist." >&2
	@$(STACK_RM_HINT)

## stack-rm: remove STACK from its backend (history and saved config) once destroy emptied it:
## the CLI's `pulumi stack rm` hint, with make's backend; the stack file stays
STACK_RM_HINT = echo "To remove the stack completely, as the CLI suggests, run: make stack-rm \
  STACK=$(STACK)$(if $(SANDBOX_STACK),, BACKEND_URL=$(BACKEND)) (pulumi stack rm typed alone looks \
  on your own pulumi login, not on the backend make uses)" >&2
stack-rm: stack
	$(call run-pulumi,stack rm --yes --preserve-config $(PULUMI_FLAGS))

## rotate: after a key rotation (the new key set in the stack config, the old one revoked), save
## the credentials you have now in the stack's state, so that every later command uses them,
## destroy and plain `pulumi` ones included (make up and make drift seldom need it)
rotate: stack
	@if [ "$(RUN_PROGRAM)" = true ]; then \
	  echo "pulumi refresh --yes --skip-preview --run-program $(PULUMI_FLAGS)" >&2; \
	  $(PULUMI) refresh --yes --skip-preview --run-program $(PULUMI_FLAGS); \
	else \
	  echo "A rename (previousResourceNames) waits for its up: an up without refresh performs it with the credentials you have now, and saves them." >&2; \
	  echo "pulumi up --yes --refresh=false $(PULUMI_FLAGS)" >&2; \
	  $(PULUMI) up --yes --refresh=false $(PULUMI_FLAGS); \
	fi

## passphrase: change a real stack's passphrase (its stack file's secrets and its state are
## encrypted again); the new one typed twice, or NEW_PASSPHRASE_FILE=<file>; says what CI must change
passphrase: stack
	@$(OPS_ENV) $(PY) -m ops.passphrase --stack $(STACK) --kept-file "$(PASSPHRASE_FILE)" \
	  $(if $(NEW_PASSPHRASE_FILE),--new-passphrase-file "$(NEW_PASSPHRASE_FILE)")

## cancel: unlock the stack after a pulumi command was killed (its changes are not undone)
cancel: state-readable stack
	$(call run-pulumi,cancel --yes $(PULUMI_FLAGS))

## e2e: the real Pulumi CLI against the sandbox (tests/cli), after `make pulumi`, on
## E2E_WORKERS pytest-xdist workers; each module runs whole, in order, on one worker
## (--dist loadscope: the lifecycle story's tests depend on the ones before them)
E2E_WORKERS ?= 2
e2e: pulumi venv
	PULUMI_DIR="$(PULUMI_DIR)" $(PY) -m pytest tests/cli -p no:cacheprovider \
	  -n $(E2E_WORKERS) --dist loadscope

# --- The fleet: every stack at once (python -m ops fleet, Pulumi's Automation API) -----------
# STACKS="a b c" (default: every Pulumi.<stack>.yaml whose stack exists on its backend),
# PARALLEL=<n> stacks at once (default 4), JSON=1 (the summary as JSON), YES=1 (fleet-destroy
# without asking). Stacks named sandbox* run against the local sandbox (started for them),
# the others on BACKEND_URL or your current `pulumi login`. `python -m ops fleet` exits 0
# (clean), 7 (some stack drifted) or 2 (some stack failed); make reports any of them as its
# own exit 2 after printing the fleet's, so CI that needs 7 calls `python -m ops fleet`.
FLEET_STACKS = $(or $(STACKS),$(patsubst Pulumi.%.yaml,%,$(wildcard Pulumi.*.yaml)))
FLEET_FLAGS = $(if $(STACKS),--stacks $(STACKS)) $(if $(PARALLEL),--parallel $(PARALLEL)) \
              $(if $(filter 1,$(JSON)),--json) $(if $(filter 1,$(YES)),--yes)

## fleet-up / fleet-preview / fleet-drift / fleet-destroy: one action on every stack at once
fleet-up fleet-preview fleet-drift fleet-destroy: pulumi venv \
    $(if $(filter sandbox%,$(FLEET_STACKS)),sandbox-start)
	@PULUMI_DIR="$(PULUMI_DIR)" $(if $(BACKEND_URL),BACKEND_URL="$(BACKEND_URL)") \
	  $(PY) -m ops fleet $(@:fleet-%=%) $(FLEET_FLAGS) || { code=$$?; \
	  echo "python -m ops fleet $(@:fleet-%=%) exited $$code" >&2; exit $$code; }

# --- Operator checks beside pulumi: no Pulumi CLI needed (ops/ reads Pulumi.<stack>.yaml) -----
# Options: INTEGRATION=<name> (default all), JSON=1 (one JSON document), PROBE_WRITE=1 (doctor:
# one Level write that changes nothing, to tell a read-only key), YES=1 (verify against real
# accounts: it pages the on-call person), TIMEOUT=<seconds> (verify, default 60), WINDOW=<24h>
# and SETTLE=<seconds> (audit), SHOW_SECRETS=1 (instructions: the ilert URLs).
# `python -m ops` exits 0 (all passed), 1 (a check failed), 2 (could not run); make turns any
# failure into its own exit 2, so CI that needs the difference calls `python -m ops` directly.
ifneq ($(SANDBOX_STACK),)
OPS_DEPS := venv sandbox-start
else
OPS_DEPS := venv
endif
# The stack's ids come from `pulumi stack output` when the CLI is there (never built for this).
OPS_ENV = PULUMI_BACKEND_URL="$(BACKEND)" PULUMI_SKIP_UPDATE_CHECK=true PATH="$(PULUMI_DIR):$$PATH"
OPS_FLAGS = --stack $(STACK) $(if $(INTEGRATION),--integration '$(INTEGRATION)') \
            $(if $(filter 1,$(JSON)),--json)

## doctor: Level's troubleshooting list as checks, per integration of STACK (sends only GETs)
doctor: $(OPS_DEPS)
	@$(OPS_ENV) $(PY) -m ops doctor $(OPS_FLAGS) $(if $(filter 1,$(PROBE_WRITE)),--probe-write)

## verify: Level's end-to-end test (raise, see it in ilert, resolve); YES=1 for real accounts
verify: $(OPS_DEPS)
	@$(OPS_ENV) $(PY) -m ops verify $(OPS_FLAGS) $(if $(filter 1,$(YES)),--yes) \
	  $(if $(TIMEOUT),--timeout $(TIMEOUT))

## audit: the Level side from evidence, in either mode: each Level alert of the last WINDOW
## (default 24h) against where the stack's routing sends it and where it opened in ilert;
## `python -m ops audit` exits 0 clean or nothing to judge, 1 findings, 2 could not run (GETs only;
## a read-only Level key is enough). SETTLE=<seconds> leaves the newest alerts unjudged (default 120; 0 on
## sandbox stacks, whose Level delivers at once)
audit: $(OPS_DEPS)
	@$(OPS_ENV) $(PY) -m ops audit $(OPS_FLAGS) $(if $(WINDOW),--window $(WINDOW)) \
	  $(if $(SETTLE),--settle $(SETTLE),$(if $(SANDBOX_STACK),--settle 0))

## instructions: each integration's Level UI steps as plain numbered text (manual mode's
## checklist); SHOW_SECRETS=1 puts each one's ilert URL (a secret) into its first step
instructions: $(OPS_DEPS)
	@$(OPS_ENV) $(PY) -m ops instructions $(OPS_FLAGS) $(if $(filter 1,$(SHOW_SECRETS)),--show-secrets)

## discover: write Pulumi.<STACK>.yaml from the ilert sources and Level webhooks you made by
## hand (GETs only; base URLs and credentials from that file, else, for a sandbox* stack, the
## sandbox, else ILERT_BASE_URL/LEVEL_BASE_URL and ILERT_API_TOKEN/LEVEL_API_KEY); objects
## another stack of this project manages on the backend are left out and named. FORCE=1
## replaces an existing file (backup kept, its secrets kept), PRINT=1 writes nothing and
## prints the integrations block, JSON=1.
discover: $(OPS_DEPS)
	@$(OPS_ENV) $(PY) -m ops discover --stack $(STACK) $(if $(filter 1,$(JSON)),--json) \
	  $(if $(filter 1,$(FORCE)),--force) $(if $(filter 1,$(PRINT)),--print)

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

## mutate: mutation score of providers/, clients/, icl/ and components/, and every surviving mutant
mutate: venv
	@$(MUTMUT) 'providers.*' 'clients.*' 'icl.*' 'components.*' $(MUTMUT_QUIET)
	@$(PY) -m tests.mutation_report --scope providers --scope clients --scope icl --scope components --min-score 90

## mutate-ops: the same for ops/ (the operator commands); a run of its own, it takes as long
mutate-ops: venv
	@$(MUTMUT) 'ops.*' $(MUTMUT_QUIET)
	@$(PY) -m tests.mutation_report --scope ops --min-score 0

## bench: scale and pacing figures through the provider server (N=10, 200, 1000 integrations;
## BENCH_SIZES to choose), and what `make audit` costs (1,000 Level alerts, 200 integrations)
bench: venv
	$(PY) -m bench.scale $(BENCH_SIZES)
	$(PY) -m bench.audit

## bench-engine: the real Pulumi CLI against the sandbox at N=50, 200, 1000 integrations, pacing
## off and real, checkpoints off (BENCH_ENGINE_SIZES, BENCH_ENGINE_ARGS='--pacing off',
## BENCH_CHECKPOINTS=on to measure the default's quadratic cost)
BENCH_ENGINE_SIZES ?= 50 200 1000
BENCH_CHECKPOINTS ?= off
bench-engine: pulumi venv
	PULUMI_DIR="$(PULUMI_DIR)" $(PY) -m bench.engine --sizes $(BENCH_ENGINE_SIZES) \
	  --checkpoints $(BENCH_CHECKPOINTS) $(BENCH_ENGINE_ARGS)

## crash-drill: SIGKILL the CLI in the middle of an up of 200 integrations, then up again: no
## duplicate, each object named, ADOPT=1 takes all back (CRASH_ARGS='--kill all --checkpoints off')
crash-drill: pulumi venv
	PULUMI_DIR="$(PULUMI_DIR)" $(PY) -m bench.crash $(CRASH_ARGS)

clean: sandbox-stop
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache mutants
