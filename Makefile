# Two commands set everything up on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && echo $$p && break; done)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8050
WORKERS ?= 2
THREADS ?= 4
# test processes: one per core, at most 4 (each starts its own PostgreSQL and builds its own demo templates)
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); echo $$(( n > 4 ? 4 : n )))
export PORTFOLIO_INSTANCE ?= $(CURDIR)/instance

.PHONY: run test lint bench soak install install-dev serve clean

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is required (python3.11, python3.12, ...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## run: install, create/upgrade the database, load the demo data on first run, fit due models, ready the big portfolios' graphs, print the demo logins, serve with gunicorn on http://$(HOST):$(PORT)
run: install
	$(BIN)/portfolio init-db
	$(BIN)/portfolio load-demo --if-empty
	$(BIN)/portfolio fit-models
	$(BIN)/portfolio warm-graphs
	@$(BIN)/portfolio demo-logins
	@echo "Serving on http://$(HOST):$(PORT) with gunicorn, $(WORKERS) workers x $(THREADS) threads  (Ctrl+C to stop)"
	PORTFOLIO_COOKIE_SECURE=0 PORTFOLIO_BASE_URL=http://$(HOST):$(PORT) $(BIN)/portfolio serve --host $(HOST) --port $(PORT) --workers $(WORKERS) --threads $(THREADS)

## lint: ruff (lint + format check) and mypy on src/; `make test` runs it first, so CI does too
lint: install-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

## test: install the dev extras, lint, then run the whole suite (unit, PostgreSQL, browser)
test: lint
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

## soak: the adversarial suite (tests/security) with many more generated calls per callback, route and parser
soak: install-dev
	SECURITY_EXAMPLES=$${SECURITY_EXAMPLES:-400} $(BIN)/pytest tests/security -q

## bench: speed and memory benchmarks; figures go to benchmarks/results.json
bench: install-dev
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache benchmarks/work
