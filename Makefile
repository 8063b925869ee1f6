# frontdoor: `make run` starts everything on the embedded database; `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: run test install check lint typecheck imports migrations-check openapi pytest reset bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(UV): $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==0.13.*"

$(VENV)/.installed: $(UV) pyproject.toml uv.lock
	$(UV) sync --locked --inexact --quiet
	@touch $@

install: $(VENV)/.installed

run: install ## start the whole product with the demo council
	$(BIN)/frontdoor run

test: install ## every check, then the whole test suite
	$(MAKE) --no-print-directory check
	$(MAKE) --no-print-directory pytest

check: lint typecheck imports migrations-check

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy

imports:
	$(BIN)/lint-imports

migrations-check: ## upgrade, alembic check, and a full round trip on a scratch database
	$(BIN)/python -m tests.migration_roundtrip

openapi: install ## regenerate the committed OpenAPI documents
	$(BIN)/python -m tests.openapi_docs --write

pytest:
	$(BIN)/pytest; status=$$?; if [ $$status -eq 5 ]; then echo "pytest collected no tests"; exit 1; fi; exit $$status

bench: install
	$(BIN)/python -m bench

reset: ## stop nothing, wipe the embedded database and demo data
	rm -rf .frontdoor

clean: reset
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
