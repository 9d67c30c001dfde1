# The two commands of the README:  `make demo` (set up, run the main job on the devnet)  and  `make test`.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home
export UV_LINK_MODE ?= copy

.PHONY: setup browser demo test bench dev schema

setup:  ## Python packages (uv, from uv.lock) and the devnet's npm packages (from package-lock.json)
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install -q uv
	$(UV) sync --frozen --group dev
	@# `npm ci` rejects anvil's lock entries for other platforms; `npm install` follows the lock and leaves it as is
	npm install --no-audit --no-fund --loglevel=error
	@mkdir -p $(DAGSTER_HOME)
	@test -f $(DAGSTER_HOME)/dagster.yaml || printf 'telemetry:\n  enabled: false\n' > $(DAGSTER_HOME)/dagster.yaml
	@# pool duckdb_writer: one writing step at a time across runs (the run lock file keeps whole runs apart)
	@grep -q '^concurrency:' $(DAGSTER_HOME)/dagster.yaml || printf 'concurrency:\n  pools:\n    default_limit: 1\n' >> $(DAGSTER_HOME)/dagster.yaml

demo: setup  ## Build the devnet history (once), run the ingest job on it, show what landed
	$(UV) run --frozen python -m devnet.build $${OYSTER_DEVNET_SIZE:-default}
	$(UV) run --frozen dagster job execute -m pipelines.definitions -j ingest_job
	$(UV) run --frozen python -m pipelines.cli summary

browser:  ## Debian's Chromium, for the dashboard's browser test (needs root or sudo)
	@command -v chromium >/dev/null 2>&1 || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

test: setup browser  ## The whole test suite (unit, property, and integration tests against a real anvil)
	$(UV) run --frozen pytest -q -p no:cacheprovider

bench: setup  ## Every benchmark (several minutes: the large history is generated once per run)
	$(UV) run --frozen python benchmarks/replay_bench.py
	$(UV) run --frozen python benchmarks/ingest_bench.py
	$(UV) run --frozen python benchmarks/state_bench.py
	$(UV) run --frozen python benchmarks/marts_bench.py

dev: setup
	$(UV) run --frozen dagster dev -w workspace.yaml

schema:  ## Regenerate sql/schema/events.sql from models/events.py
	$(UV) run --frozen python -m pipelines.cli schema
