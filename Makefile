# The two commands of the Quick start: `make demo` and `make test`. Each sets up what it needs first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test install system-packages lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

system-packages:
	@bash tools/install-system-packages.sh

## Serve the demo marketplace on 127.0.0.1, crawl it, match, and serve the dashboard on 127.0.0.1:8501.
demo: install system-packages
	$(BIN)/brandpatrol demo

## Run the whole test suite (lint and type checks first, so pytest's summary is the last line).
test: install system-packages
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -n auto --maxprocesses 4 --dist worksteal

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

## Run the benchmarks (faiss, the index baseline, comes from the bench extra).
bench: install system-packages
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .brandpatrol-demo .pytest_cache .mypy_cache .ruff_cache
