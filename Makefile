# Template tooling: `make demo` serves a freshly generated service; `make test` proves the template.
.DEFAULT_GOAL := help
SHELL := bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# pyenv shims hide interpreters that are not "global"; uv needs the real ones on PATH.
PYENV_BINS := $(wildcard $(HOME)/.pyenv/versions/3.13*/bin $(HOME)/.pyenv/versions/3.12*/bin)
empty :=
space := $(empty) $(empty)
export PATH := $(abspath $(BIN)):$(subst $(space),:,$(PYENV_BINS)):$(PATH)
PYTEST_ARGS ?=

.PHONY: help new demo test lint system-deps clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check "uv>=0.9"

$(VENV)/.synced: pyproject.toml uv.lock | $(BIN)/uv
	$(BIN)/uv sync --frozen --python $(BIN)/python
	@touch $@

# new.py is cookiecutter with one line per bad answer instead of cookiecutter's traceback.
OUT ?= .
new: $(VENV)/.synced ## generate a service, asking each question (OUT=dir, ANSWERS='cache=none ...')
	$(BIN)/python new.py --output-dir $(OUT) $(ANSWERS)

demo: $(VENV)/.synced ## generate the default service into ./demo and serve it on 127.0.0.1:8000
	rm -rf demo
	$(BIN)/python new.py --no-input --output-dir demo
	$(MAKE) -C demo/orders-service run

system-deps: ## install the Debian packages the image, chart and rule tests use (root or sudo)
	@missing=$$(for p in $$(grep -v '^#' .ci/apt-packages); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if ! command -v apt-get >/dev/null; then echo "no apt-get: install $$missing yourself"; exit 0; fi; \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

lint: $(VENV)/.synced ## lint and type-check the template's own code (hooks, tests)
	$(BIN)/ruff check hooks tests new.py
	$(BIN)/ruff format --check hooks tests new.py
	$(BIN)/mypy

# Timing tests (benchmark, render and `make test` speed) run after the parallel suite, alone:
# sharing two cores with image builds would measure the neighbours, not the service.
test: system-deps lint ## everything: renders, hooks, deep quality gates, image, chart ...
	@start=$$(date +%s); \
	export TEMPLATE_TEST_SHARED_INSTALLS=$$(mktemp -d /tmp/template-installs-XXXXXX); \
	$(BIN)/pytest -n auto --dist loadgroup -m "not timing" $(PYTEST_ARGS); status=$$?; \
	parallel=$$(( $$(date +%s) - start )); \
	$(BIN)/pytest -m timing $(PYTEST_ARGS) || status=1; \
	rm -rf "$$TEMPLATE_TEST_SHARED_INSTALLS"; \
	echo "template suite wall time: $$(( $$(date +%s) - start )) s ($$parallel s parallel, then the timing group)"; \
	exit $$status

clean: ## remove the virtualenv, caches and demo output
	rm -rf $(VENV) .cache demo
