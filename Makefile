# The README's two commands: `make run` and `make test`. Everything installs into .venv.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 3000
# make test runs three workers: the fuzzer's e2e tests on one, the other e2e tests (local stacks in
# subprocesses) on another, everything else wherever a worker is free (tests/conftest.py groups them, and gives
# each fuzz case a node id of its own; --dist loadgroup). The stacks start one at a time (tests/e2e/conftest.py):
# two starting at once starved one past its start on a 2-CPU machine. A 2-CPU machine is busy throughout: a
# third worker keeps it so while one waits on its stack. TEST_WORKERS=0: one process.
TEST_WORKERS ?= 3

.PHONY: run test lint typecheck unit integration e2e bench docs layer clean browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	PORT=$(PORT) $(BIN)/loyalty-local serve

# The dashboard's headless-browser test needs Debian's chromium; as root it is installed here.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's chromium for the dashboard test"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
	      || echo "could not install chromium: the dashboard test will be skipped"; \
	  else echo "chromium not found: the dashboard test will be skipped (apt-get install chromium)"; fi; }

test: $(STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/cfn-lint infra/template.yaml
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict
	$(BIN)/python -m pytest -q --durations=20 -n $(TEST_WORKERS) --dist loadgroup

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

integration: $(STAMP)
	$(BIN)/python -m pytest -q tests/integration

e2e: $(STAMP)
	$(BIN)/python -m pytest -q tests/e2e

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Builds the layer as `sam build` does (BuildMethod: makefile) into .aws-sam/layer, for inspection.
layer: $(STAMP)
	$(MAKE) -C layers/loyalty build-LoyaltyLayer ARTIFACTS_DIR=$(CURDIR)/.aws-sam/layer

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .ruff_cache .mypy_cache
