# The two commands of the README: `make demo` and `make test`. Everything else is a step of those.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
COMPAT_VERSIONS := 5.50.0 4.44.1

.PHONY: demo test lint typecheck compat clean

demo: $(VENV)/.demo-installed
	$(BIN)/bridge demo

test: $(VENV)/.dev-installed compat
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

compat:
	@for v in $(COMPAT_VERSIONS); do PYTHON=$(PYTHON) scripts/compat-env.sh $$v >/dev/null || exit 1; done

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed (set PYTHON=python3.11)"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip

$(VENV)/.demo-installed: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install -q --disable-pip-version-check -e '.[demo]'
	@touch $@

$(VENV)/.dev-installed: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev,demo]'
	@touch $@ $(VENV)/.demo-installed

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
