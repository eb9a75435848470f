# `make run` and `make test` work on a fresh machine with only Python 3.11:
# each creates .venv when missing and (re)installs only when pyproject.toml changed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.stratforge-installed
EXAMPLE := plugins/stratforge-example
OPTUNA := plugins/stratforge-optuna

.PHONY: run demo test lint typecheck bench browser docs pictures openapi clean

$(STAMP): pyproject.toml $(EXAMPLE)/pyproject.toml $(OPTUNA)/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e '.[dev]' -e $(EXAMPLE) -e $(OPTUNA)
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/stratforge serve

demo: $(STAMP)
	$(BIN)/stratforge run --strategy sma_cross --param fast=20 --param slow=60 \
		--param long_only=true --sizer percent --sizer-param percent=95 \
		--data-arg bars=2500 --data-arg regime_length=120 --analyzer sharpe --analyzer drawdown

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# The browser tests drive Debian's Chromium (never a downloaded one); the REST guide's curl
# walkthrough (docs/api.md), which the suite runs, needs curl and jq.
CHROMIUM := /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) -a -x "$$(command -v jq)" -a -x "$$(command -v curl)" || { \
		echo "installing Debian's chromium, curl and jq for the browser and guide tests"; \
		$$(test "$$(id -u)" = 0 || echo sudo) apt-get update -qq && \
		$$(test "$$(id -u)" = 0 || echo sudo) apt-get install -y -qq chromium chromium-driver curl jq >/dev/null; }

test: lint typecheck browser
	$(BIN)/python -m pytest -n 2 --dist loadfile

# The documentation site (MkDocs Material, API reference by mkdocstrings) into site/;
# strict: any warning (a broken link, a missing reference) fails the build.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# Redraw docs/img/ (futures figures and dashboard screenshots) with headless Chromium.
pictures: $(STAMP) browser
	$(BIN)/python scripts/doc_pictures.py

# The committed REST contract: api/openapi.json and api/examples/*.json, from create_app
# (tests/test_openapi_contract.py fails until they are regenerated after an API change).
openapi: $(STAMP)
	$(BIN)/python -m stratforge.api.contract --out api

bench: $(STAMP)
	$(BIN)/python bench/overhead.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache site
