# frontdoor: `make run` starts everything on the embedded database; `make test` runs every check.
# Needs only Python 3.11: the first run creates .venv, installs uv into it, and syncs uv.lock.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: run test install check lint typecheck imports migrations-check openapi docs pytest e2e test-faults fuzz reset bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(UV): $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==0.13.*"

$(VENV)/.installed: $(UV) pyproject.toml uv.lock
	$(UV) sync --locked --inexact --quiet
	@touch $@

install: $(VENV)/.installed

HOST ?= 127.0.0.1
PORT ?= 8000

run: install ## start the whole product with the demo council (make run PORT=8080)
	$(BIN)/frontdoor run --host $(HOST) --port $(PORT)

test: install ## every check, then the whole test suite
	$(MAKE) --no-print-directory check
	$(MAKE) --no-print-directory pytest

check: lint typecheck imports migrations-check

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

imports: install
	$(BIN)/lint-imports

migrations-check: install ## upgrade, alembic check, and a full round trip on a scratch database
	$(BIN)/python -m services.tools.migration_check

openapi: install ## regenerate the committed OpenAPI documents
	$(BIN)/python -m services.tools.openapi_docs --write

docs: openapi ## regenerate every generated document (OpenAPI, docs/configuration.md)
	$(BIN)/python -m services.tools.config_docs --write

# pytest exits 5 when it collected no tests: that is a failure here, never a pass.
pytest: install
	$(BIN)/pytest; status=$$?; if [ $$status -eq 5 ]; then echo "pytest collected no tests"; exit 1; fi; exit $$status

e2e: install ## only the end-to-end tests (workers as separate processes)
	$(BIN)/pytest -m e2e; status=$$?; if [ $$status -eq 5 ]; then echo "pytest collected no tests"; exit 1; fi; exit $$status

# Fault injection (docs/reliability.md): each test starts its own PostgreSQL and kills things.
test-faults: install ## workers, APIs and PostgreSQL killed and restarted under a bounded load
	$(BIN)/pytest -m faults tests/faults; status=$$?; if [ $$status -eq 5 ]; then echo "pytest collected no tests"; exit 1; fi; exit $$status
# `make test` runs schemathesis over the three OpenAPI documents with a few examples per
# operation (tests/test_schemathesis.py); this is the same run, longer. FUZZ_SEED=<n> varies it.
FUZZ_EXAMPLES ?= 100
FUZZ_STATEFUL_STEPS ?= 20
fuzz: install ## schemathesis over every API, every phase, many more examples (tens of minutes)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_STATEFUL_STEPS=$(FUZZ_STATEFUL_STEPS) $(BIN)/pytest tests/test_schemathesis.py -p no:cacheprovider

bench: install
	$(BIN)/python -m bench

reset: ## stop an embedded PostgreSQL left running, then wipe its data (demo and test)
	@if [ -x $(BIN)/python ]; then $(BIN)/python -m services.embedded_db wipe .frontdoor; else rm -rf .frontdoor; fi

clean: reset
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
