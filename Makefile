# Two commands matter (see README): `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app wsgi
HOST   ?= 127.0.0.1
PORT   ?= 5000
STAMP  := $(VENV)/.installed

.PHONY: install run serve demo browser test fuzz lint messages bench soak cluster clean

$(STAMP): setup.cfg pyproject.toml sdk/python/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]" -e "./sdk/python[flask,fastapi,test]"
	touch $(STAMP)

install: $(STAMP)

## Install, migrate, create dev keys and the demo app, serve on http://127.0.0.1:5000
run: install
	$(FLASK) db upgrade
	$(FLASK) dev bootstrap
	$(FLASK) run --host $(HOST) --port $(PORT)

## The production server on this checkout: granian with deploy/granian.env (port 8000),
## the app's settings from the environment (README: "Running in production").
serve: install
	$(FLASK) db upgrade
	rm -rf instance/prometheus  # multiprocess metrics of a previous run (gunicorn clears its own)
	set -a && . deploy/granian.env && set +a && exec $(BIN)/granian wsgi:app

## The IdP and two example partner apps on three origins, built and served; prints the
## URLs (examples/partner-app/README.md)
demo: install
	$(BIN)/python examples/demo.py

## Debian's Chromium for the browser tests (tests/browser), installed only when missing.
## Without apt-get (or the rights to use it) this says so and goes on: the browser tests
## then skip, or fail when IDP_TEST_REQUIRE_SERVICES=1.
CHROMIUM := /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { command -v apt-get >/dev/null \
	  && { apt-get install -y chromium || { apt-get update && apt-get install -y chromium; }; } \
	  || echo "make browser: could not install Debian's chromium with apt-get; without" \
	    "$(CHROMIUM) the browser tests skip (and fail when IDP_TEST_REQUIRE_SERVICES=1)." >&2; }

## Install and run every test: SQLite always; the tests marked postgres/redis also on
## PostgreSQL + Redis at TEST_DATABASE_URL / TEST_REDIS_URL (defaults: the local servers),
## required when IDP_TEST_REQUIRE_SERVICES=1; the browser tests in headless Chromium
## (`make browser`), required likewise.  Prints branch coverage and fails below the gates
## (the whole, then each package): the figures reached when they were set.
COVERAGE_GATE := 93
PACKAGE_GATES := idp:94 keys:92 wallet:91
test: install browser
	$(BIN)/ruff check .
	$(BIN)/python -m pytest --contract-complete --cov --cov-report=term --cov-fail-under=$(COVERAGE_GATE)
	@for gate in $(PACKAGE_GATES); do \
	  pkg=$${gate%%:*}; min=$${gate##*:}; \
	  got=$$($(BIN)/coverage report --include="$$pkg/*" --format=total); \
	  echo "branch coverage of $$pkg/: $$got% (gate $$min%)"; \
	  $(BIN)/coverage report --include="$$pkg/*" --fail-under=$$min >/dev/null \
	    || { echo "coverage of $$pkg/ is below its gate of $$min%" >&2; exit 1; }; \
	done
	$(BIN)/python -m fuzz.run --max-examples $(FUZZ_TEST_EXAMPLES)
	$(BIN)/python -m pytest sdk/python/tests
	cd sdk/js && npm ci --no-audit --no-fund && npm run build && npm test && npm run test:browser
	cd examples/partner-app && npm ci --no-audit --no-fund && npm run e2e

## schemathesis over every operation of /openapi.json against gunicorn on PostgreSQL +
## Redis (fuzz/run.py); `make test` runs it with FUZZ_TEST_EXAMPLES per operation.
FUZZ_TEST_EXAMPLES := 40
FUZZ_EXAMPLES ?= 500
fuzz: install
	$(BIN)/python -m fuzz.run --max-examples $(FUZZ_EXAMPLES) $(FUZZ_ARGS)

## ruff, and the direction of dependencies between the server's packages (.importlinter)
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

## The hosted pages' translations (docs/pages.md#languages): extract every marked string of
## idp/ and wallet/, merge it into each language's .po file, compile the .mo files
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _l --no-location --sort-output \
	  --project=idp-wallet -o idp/translations/messages.pot idp wallet
	$(BIN)/pybabel update -i idp/translations/messages.pot -d idp/translations \
	  --no-fuzzy-matching --ignore-obsolete --width 100
	$(BIN)/pybabel compile -d idp/translations --statistics

## Benchmarks (not tests): print figures, run on demand (see bench/README.md), then one
## table of every goal beside its peer or limit from the same run (bench/summary.py);
## exits 0 whether or not goals are met (a benchmark that stops with an error is listed
## as such).  wrk and pgbench from Debian, node oidc-provider from bench/peer's lock file.
## Options per benchmark: BENCH_ARGS (token endpoint), WALLET_BENCH_ARGS, VERIFY_BENCH_ARGS,
## COMPARE_ARGS, LOGIN_BENCH_ARGS, SCALING_ARGS, WALLET_BASELINE_ARGS, e.g. COMPARE_ARGS="--rounds 5".
SUMMARY := bench/results/summary
bench: install
	command -v wrk >/dev/null || apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }
	rm -rf $(SUMMARY) && mkdir -p $(SUMMARY)
	-$(BIN)/python bench/compare.py --summary-json $(SUMMARY)/1-token-vs-oidc-provider.json $(COMPARE_ARGS)
	-$(BIN)/python bench/token_endpoint.py --summary-json $(SUMMARY)/2-token-vs-rsa.json $(BENCH_ARGS)
	-$(BIN)/python bench/wallet_consume.py --summary-json $(SUMMARY)/3-wallet-consume.json $(WALLET_BENCH_ARGS)
	-$(BIN)/python bench/login.py --summary-json $(SUMMARY)/4-login.json $(LOGIN_BENCH_ARGS)
	-$(BIN)/python bench/verify.py --summary-json $(SUMMARY)/5-verify.json $(VERIFY_BENCH_ARGS)
	-$(BIN)/python bench/scaling.py --summary-json $(SUMMARY)/6-scaling.json $(SCALING_ARGS)
	-$(BIN)/python bench/wallet_baseline.py --summary-json $(SUMMARY)/7-wallet-vs-before-lots.json $(WALLET_BASELINE_ARGS)
	$(BIN)/python bench/summary.py $(SUMMARY) 1-token-vs-oidc-provider 2-token-vs-rsa \
	  3-wallet-consume 4-login 5-verify 6-scaling 7-wallet-vs-before-lots

## Faults under load (reliability/soak.py): 32 clients of mixed workload on our own
## PostgreSQL and Redis while a worker is killed, PostgreSQL restarted and Redis stopped
## 10 s; prints requests, errors by kind, recovery times and the ledger audit, and fails
## on a lost or duplicated write, a 5xx other than 503 or an error outside the faults.
## SOAK_ARGS, e.g. SOAK_ARGS="--seconds 600".  Needs Debian's postgresql and redis-server.
soak: install
	$(BIN)/python -m reliability.soak $(SOAK_ARGS)

## Two gunicorn nodes behind a local balancer on shared PostgreSQL and Redis
## (reliability/cluster.py): SSO, rate limits, revocation, refresh reuse, key rotation
## and client edits checked across the nodes, then the workload while one node is
## killed; fails like soak.  CLUSTER_ARGS, e.g. CLUSTER_ARGS="--seconds 120".
cluster: install
	$(BIN)/python -m reliability.cluster $(CLUSTER_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache .coverage

## Every target with its ## comment from this file (targets without one are listed bare)
.PHONY: help
help:
	@awk '/^## / { doc = doc (doc == "" ? "" : "\n") substr($$0, 4); next } \
	  /^$$/ { doc = ""; next } \
	  /^[a-z][a-zA-Z0-9_-]*:([^=]|$$)/ { name = $$0; sub(/:.*/, "", name); \
	    n = split(doc, lines, "\n"); if (!n) printf "  %s\n", name; \
	    for (i = 1; i <= n; i++) printf "  %-8s %s\n", (i == 1 ? name : ""), lines[i]; \
	    doc = "" }' $(firstword $(MAKEFILE_LIST))
