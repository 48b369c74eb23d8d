# The README's two commands: `make run` and `make test`. Everything installs into .venv.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 3000

.PHONY: run test lint typecheck unit integration e2e bench layer clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	PORT=$(PORT) $(BIN)/loyalty-local serve

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/cfn-lint infra/template.yaml
	$(BIN)/python -m pytest -q

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

integration: $(STAMP)
	$(BIN)/python -m pytest -q tests/integration

e2e: $(STAMP)
	$(BIN)/python -m pytest -q tests/e2e

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# Builds the layer as `sam build` does (BuildMethod: makefile) into .aws-sam/layer, for inspection.
layer: $(STAMP)
	$(MAKE) -C layers/loyalty build-LoyaltyLayer ARTIFACTS_DIR=$(CURDIR)/.aws-sam/layer

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .ruff_cache .mypy_cache
