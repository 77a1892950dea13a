# The two commands: `make run` (embedded server + demo city) and `make test` (whole suite).
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test bench lint

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

run: $(VENV)/.installed
	$(VENV)/bin/vicinity serve --demo

test: $(VENV)/.installed
	bash scripts/test.sh

bench: $(VENV)/.installed
	$(PY) -m bench

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy
