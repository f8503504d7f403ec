# level-ilert: every command a user or CI runs. `make test` is THE test command.
SHELL := /bin/bash
PYTHON ?= python3
VENV := venv
PY := $(VENV)/bin/python

.PHONY: test lint typecheck unit sandbox venv clean

## venv: create ./venv (the virtualenv Pulumi.yaml names) and install pinned requirements
venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

## test: lint, type-check and run every test layer (unit, sandbox, program, engine)
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
	$(PY) -m sandbox

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
