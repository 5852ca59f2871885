# Two commands for a fresh machine with Python 3.11+:
#   make demo   - create .venv, install org360, run the demo on the embedded PostgreSQL
#   make test   - install the test tools, run the linter and the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test install

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/org360 demo

test: install
	$(BIN)/ruff check .
	$(BIN)/pytest
