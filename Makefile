.DEFAULT_GOAL := help
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c

# The system interpreter that creates the venv; any CPython >= 3.11.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Cargo profile of the extension module that `make build` installs. The tests use `dev`: it rebuilds in about
# a second after an edit and keeps debug assertions (overflow checks) on. The demo uses `release` (fat LTO):
# what you would deploy and time. Each profile has its own target folder, so switching costs a relink.
PROFILE ?= dev
DEMO_PROFILE ?= release
# Stamp files make every target incremental: a stamp is newer than everything it was built from.
STAMPS := $(VENV)/.stamps
RUST_SOURCES := Cargo.toml Cargo.lock $(shell find rust/src -name '*.rs' 2>/dev/null)
PYTEST_ARGS ?=
# When set (CI), each pytest run writes a JUnit report there, so a run that executed nothing can be refused.
JUNIT_DIR ?=
junit = $(if $(JUNIT_DIR),--junitxml=$(JUNIT_DIR)/$(1).xml)

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMPS)/venv: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "restpg needs Python >= 3.11; set PYTHON=/path/to/python3.11+" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@# The dev extra without building restpg itself (that is `make build`): dependencies read from pyproject.
	$(BIN)/python -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
		print("\n".join(p["dependencies"] + p["optional-dependencies"]["dev"]))' > $(VENV)/requirements.txt
	$(BIN)/python -m pip install --quiet -r $(VENV)/requirements.txt
	@mkdir -p $(STAMPS) && touch $@

.PHONY: venv
venv: $(STAMPS)/venv ## Create .venv with maturin and the dev dependencies (only when pyproject.toml changed)

$(STAMPS)/build-%: $(STAMPS)/venv $(RUST_SOURCES)
	VIRTUAL_ENV=$(abspath $(VENV)) $(BIN)/maturin develop --quiet --profile $*
	@rm -f $(STAMPS)/build-* && touch $@

.PHONY: build
build: $(STAMPS)/build-$(PROFILE) ## Build the Rust core into .venv (PROFILE=dev|release, default dev)

.PHONY: demo
demo: ## Start PostgreSQL, load the demo schema and serve it on http://127.0.0.1:3000
	@$(MAKE) --no-print-directory build PROFILE=$(DEMO_PROFILE)
	$(BIN)/python -m restpg.demo $(DEMO_ARGS)

.PHONY: test
test: test-rust test-python test-clients ## Run every test: cargo test, pytest, then the client libraries

.PHONY: test-rust
test-rust: ## Run the Rust tests (no Python needed)
	cargo test --quiet

.PHONY: test-python
test-python: build ## Run the Python spec and io tests against a real PostgreSQL and restpg processes
	$(BIN)/python -m pytest --ignore=tests/clients $(call junit,python) $(PYTEST_ARGS)

.PHONY: test-clients
test-clients: build ## Run postgrest-py, postgrest-js and @neondatabase/postgrest-js against a live server (npm ci once)
	$(BIN)/python -m pytest tests/clients $(call junit,clients) $(PYTEST_ARGS)

.PHONY: bench
bench: ## Benchmark W1-W8 against pgbench's ceiling (needs wrk and pgbench); BENCH_ARGS="--workloads W1"
	@command -v wrk >/dev/null || { echo "make bench needs wrk (Debian: apt-get install wrk)" >&2; exit 1; }
	@$(MAKE) --no-print-directory build PROFILE=release
	$(BIN)/python -m loadtest.bench $(BENCH_ARGS)

.PHONY: lint
lint: build ## Check formatting, clippy, ruff, mypy and the _core stubs
	cargo fmt --check
	PYO3_PYTHON=$(abspath $(BIN)/python) cargo clippy --all-targets --all-features -- -D warnings
	$(BIN)/ruff check python tests loadtest
	$(BIN)/ruff format --check python tests loadtest
	$(BIN)/mypy
	$(BIN)/python -m mypy.stubtest restpg._core

.PHONY: format
format: $(STAMPS)/venv ## Format and auto-fix Rust and Python sources
	cargo fmt
	$(BIN)/ruff check --fix --quiet python tests loadtest
	$(BIN)/ruff format python tests loadtest

.PHONY: clean
clean: ## Remove build outputs, caches and the venv (keeps .data, the demo database)
	rm -rf $(VENV) target dist .pytest_cache .mypy_cache .ruff_cache
	find python tests -name __pycache__ -type d -prune -exec rm -rf {} +
	find python -name '*.so' -delete
