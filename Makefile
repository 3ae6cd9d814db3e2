# Two commands matter (see README): `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app wsgi
HOST   ?= 127.0.0.1
PORT   ?= 5000
STAMP  := $(VENV)/.installed

.PHONY: install run test lint bench clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

## Install, migrate, create dev keys and the demo app, serve on http://127.0.0.1:5000
run: install
	$(FLASK) db upgrade
	$(FLASK) dev bootstrap
	$(FLASK) run --host $(HOST) --port $(PORT)

## Install and run every test: SQLite always; PostgreSQL + Redis at TEST_DATABASE_URL /
## TEST_REDIS_URL (defaults: the local servers), required when IDP_TEST_REQUIRE_SERVICES=1.
test: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## Benchmarks (not tests): print figures, run on demand (see bench/README.md).
## wrk comes from Debian; pass options with BENCH_ARGS="--duration 30 --workers 3".
bench: install
	command -v wrk >/dev/null || apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }
	$(BIN)/python bench/token_endpoint.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache
