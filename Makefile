# skillsubsidy — one Makefile for set-up, running and checking.
# `make run` and `make test` set up everything they need in .venv on a fresh machine.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install system-packages run test lint typecheck pytest examples bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install the project with its dev tools

system-packages: ## Debian's PostgreSQL, Chromium and a Chinese font for the tests, when missing
	@scripts/install-system-packages

run: $(STAMP) ## start the web app and API on http://127.0.0.1:8000 with a fresh demo data set (SQLite)
	$(BIN)/skillsubsidy serve --demo

test: lint typecheck pytest examples ## everything CI runs: lint, types, tests, public examples

lint: $(STAMP) ## ruff
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP) ## mypy (strict) on src
	$(BIN)/mypy

pytest: $(STAMP) system-packages ## the test suite (SQLite, PostgreSQL, Chromium)
	$(BIN)/pytest -q

examples: $(STAMP) ## replay ../shared/spec/examples.jsonl through the CLI, when present
	@if [ -f ../shared/tools/check_examples.py ]; then $(BIN)/python ../shared/tools/check_examples.py; \
	else echo "../shared not present: skipped"; fi

bench: $(STAMP) ## the engine benchmark (1,000,000 mixed claims); see bench/README.md
	$(BIN)/python bench/run.py --claims 1000000

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
