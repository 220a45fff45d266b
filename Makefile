# One command each: `make run` (dashboard with data) and `make test` (set up + all tests).
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup lock run serve nginx test lint bench faults browser refresh clean

LOCK := requirements.lock

# Reproducible install: every package pinned with its hashes in requirements.lock (`make lock`),
# then the project itself without resolving anything. A dependency added to pyproject.toml but
# not yet locked is installed unpinned, with a warning (and tests/test_lock.py fails).
$(STAMP): pyproject.toml $(LOCK)
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install -q --no-deps -e .
	@$(BIN)/python scripts/lock.py check || { \
	  echo "WARNING: installing pyproject.toml's dependencies unpinned; run 'make lock'" >&2; \
	  $(BIN)/python -m pip install -q -e '.[dev]'; }
	@touch $(STAMP)

setup: $(STAMP)

# re-resolve pyproject.toml (dev tools included) into requirements.lock, pinned with hashes; the
# versions already locked stay where they fit (`make lock UPGRADE=1`: the newest of everything)
lock:
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python scripts/lock.py compile $(if $(UPGRADE),--upgrade)

run: setup
	scripts/run.sh

# production layout: WORKERS Streamlit workers behind nginx (docs/deploy.md)
WORKERS ?= 2
serve: setup nginx
	WORKERS=$(WORKERS) scripts/serve.sh

nginx:
	scripts/ensure-nginx.sh

refresh: setup
	$(BIN)/python -m pipelines refresh

browser:
	scripts/ensure-chromium.sh
	scripts/ensure-axe.sh

test: setup browser nginx
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .

BENCH_DATA ?= /tmp/regio-bench-data

faults: setup
	$(BIN)/python benchmarks/faults.py

bench: setup
	$(BIN)/python benchmarks/refresh.py
	scripts/mirror-snapshot.sh $(BENCH_DATA)
	$(BIN)/python benchmarks/briefing.py --data-dir $(BENCH_DATA)
	$(BIN)/python benchmarks/dashboard.py --data-dir $(BENCH_DATA)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
