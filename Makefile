# Every target sets itself up: a fresh clone needs only Python 3.11+, Node.js and the registries.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
NODE_DIRS := tests/interop/sdjwt-node tests/interop/di-node
PYTEST_ARGS ?=

.PHONY: help venv deps interop-deps test test-fast demo demo-di lint typecheck bench docs clean

help:
	@echo "make demo    - run the pilot scenario end to end (SQLite + files, offline verification)"
	@echo "make test    - install everything needed and run the whole test suite"
	@echo "make bench   - benchmarks (ratios against raw signature operations)"
	@echo "make docs    - build the documentation site (warnings are errors)"
	@echo "make lint    - ruff (check + format) and mypy strict on src/ and cli/"

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

interop-deps:
	@for d in $(NODE_DIRS); do \
	  if [ -f $$d/package-lock.json ]; then \
	    (cd $$d && npm ci --no-audit --no-fund --loglevel=error) || exit 1; \
	  fi; \
	done

test: deps interop-deps
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

test-fast: deps
	$(PY) -m pytest -n 2 -m "not slow and not interop" $(PYTEST_ARGS)

demo: venv
	$(PY) examples/pilot.py

demo-di: venv
	$(PY) examples/pilot.py --format di

lint: deps
	$(VENV)/bin/ruff check src cli tests benchmarks examples
	$(VENV)/bin/ruff format --check src cli tests benchmarks examples
	$(VENV)/bin/mypy

bench: deps interop-deps
	$(PY) benchmarks/run.py

docs: deps
	$(PIP) install --quiet -e '.[docs]'
	$(VENV)/bin/mkdocs build --strict

clean:
	rm -rf $(VENV) build dist site demo-out .pytest_cache .mypy_cache .hypothesis
