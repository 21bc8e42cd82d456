# Xuyên: `make demo` to try it, `make test` to run every test. GNU make.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium
XUYEN_TEST_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/test
# Test processes for `make test` (pytest-xdist): one per core by default; TEST_WORKERS=0 runs in this process.
TEST_WORKERS ?= auto
export XUYEN_TEST_POSTGRES_URL

.PHONY: install demo test lint bench clean

install: $(STAMP)

# (Re)install whenever pyproject.toml changes.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "Xuyên needs Python 3.11 or newer, but $(PYTHON) is $$($(PYTHON) -V 2>/dev/null || echo "not installed")." >&2; \
	  echo "Install Python 3.11+ and run e.g. 'make PYTHON=python3.12 $(MAKECMDGOALS)'." >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $@

demo: $(STAMP)
	$(BIN)/xuyen demo

test: $(STAMP)
	@if $(BIN)/python -c 'import sys, psycopg; psycopg.connect(sys.argv[1], connect_timeout=3).close()' \
	    "$(XUYEN_TEST_POSTGRES_URL)" >/dev/null 2>&1; then \
	  echo "Databases: SQLite and PostgreSQL ($(XUYEN_TEST_POSTGRES_URL))."; \
	else \
	  echo "Databases: SQLite only; PostgreSQL is not reachable at $(XUYEN_TEST_POSTGRES_URL), so its tests" \
	       "are skipped (CI=true makes them fail). Set XUYEN_TEST_POSTGRES_URL to use another server."; \
	fi
	@if [ -x $(CHROMIUM) ]; then \
	  echo "Browser tests: run with Chromium at $(CHROMIUM)."; \
	else \
	  echo "Browser tests: cannot run, no Chromium at $(CHROMIUM) (Debian: apt-get install chromium)."; \
	fi
	$(BIN)/pytest --numprocesses $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(STAMP)
	@set -e; for script in bench/*.py; do \
	  [ -e "$$script" ] || { echo "No benchmarks in bench/."; exit 0; }; \
	  case "$$(basename "$$script")" in _*) continue;; esac; \
	  echo "== $$script"; PYTHONPATH=$(CURDIR) $(BIN)/python "$$script"; \
	done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis build dist src/*.egg-info test-artifacts
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	rm -f xuyen.db xuyen.db-wal xuyen.db-shm
