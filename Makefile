# Every target sets itself up: a fresh clone needs only Python 3.11+ and the registries; Node.js
# (npm) for the interop tests, which are skipped without it outside CI.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
NODE_DIRS := $(wildcard tests/interop/*-node)
PYTEST_ARGS ?=

.PHONY: help venv deps interop-deps system-deps test test-fast demo demo-di lint typecheck bench docs clean

help:
	@echo "make demo    - run the pilot scenario end to end (SQLite + files, offline verification)"
	@echo "make test    - install everything needed and run the whole test suite"
	@echo "make bench   - benchmarks (ratios against raw signature operations)"
	@echo "make docs    - build the documentation site (warnings are errors)"
	@echo "make lint    - ruff (check + format), mypy strict on src/ and cli/, import layers and cycles"

$(VENV)/.stamp-base: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.stamp-test: $(VENV)/.stamp-base pyproject.toml
	$(PIP) install --quiet -e '.[test]'
	touch $@

venv: $(VENV)/.stamp-base

deps: $(VENV)/.stamp-test

# Outside CI a machine without Node.js skips the interop set-up (the interop tests skip
# themselves); in CI (CI=true) a missing npm is an error, so the interop tests always run there.
interop-deps:
	@if ! command -v npm >/dev/null 2>&1; then \
	  case "$${CI:-}" in \
	    [Tt]rue|TRUE|1|[Yy]es) \
	      echo "error: npm not found, and CI=$${CI} needs the Node.js interop tests: install Node.js" >&2; \
	      exit 1;; \
	  esac; \
	  echo "notice: npm not found: skipping the Node.js interop set-up; the interop tests will be skipped (install Node.js to run them)"; \
	  exit 0; \
	fi; \
	for d in $(NODE_DIRS); do \
	  if [ -f $$d/package-lock.json ]; then \
	    (cd $$d && npm ci --no-audit --no-fund --loglevel=error) || exit 1; \
	  fi; \
	done

# System parts the tests use for real: Debian's Chromium (pages checked in a headless browser) and
# PostgreSQL server binaries (a throw-away cluster per test run). In CI (CI=true) missing ones are
# installed with apt-get; elsewhere their tests skip and say how to install them.
SYSTEM_PACKAGES_CHECK = \
	missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || missing="$$missing postgresql"

system-deps:
	@$(SYSTEM_PACKAGES_CHECK); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	case "$${CI:-}" in \
	  [Tt]rue|TRUE|1|[Yy]es) \
	    echo "installing system packages:$$missing"; \
	    if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	    $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1;; \
	  *) echo "notice: missing system packages:$$missing (apt-get install$$missing); their tests will be skipped";; \
	esac

test: deps interop-deps system-deps
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

test-fast: deps
	$(PY) -m pytest -n 2 -m "not slow and not interop" $(PYTEST_ARGS)

demo: venv
	$(PY) examples/pilot.py

demo-di: venv
	$(PY) examples/pilot.py --format di

lint: deps
	$(VENV)/bin/ruff check src cli tests benchmarks examples tools
	$(VENV)/bin/ruff format --check src cli tests benchmarks examples tools
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache
	$(PY) tools/check_imports.py

bench: deps interop-deps
	$(PY) benchmarks/run.py

docs: deps
	$(PIP) install --quiet -e '.[docs]'
	$(VENV)/bin/mkdocs build --strict

clean:
	rm -rf $(VENV) build dist site demo-out .pytest_cache .mypy_cache .hypothesis
