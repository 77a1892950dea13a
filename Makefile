# The two commands: `make run` (embedded server + demo city) and `make test` (whole suite).
# `make run` installs the runtime dependencies only; test, lint and bench add the dev extras.
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test bench lint

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

# SIMULATE=1: virtual shoppers walk the demo city once the server is up (vicinity simulate).
run: $(VENV)/.installed-run
	$(VENV)/bin/vicinity serve --demo --host $(HOST) --port $(PORT) $(if $(SIMULATE),--simulate)

test: $(VENV)/.installed-dev
	bash scripts/test.sh

bench: $(VENV)/.installed-dev
	$(PY) -m bench

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy
