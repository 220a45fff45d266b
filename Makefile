# One command each: `make run` (dashboard with data) and `make test` (set up + all tests).
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run serve nginx test lint bench browser refresh clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

run: setup
	scripts/run.sh

# production layout: WORKERS Streamlit workers behind nginx (README, "Productie")
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

bench: setup
	$(BIN)/python benchmarks/refresh.py
	scripts/mirror-snapshot.sh $(BENCH_DATA)
	$(BIN)/python benchmarks/briefing.py --data-dir $(BENCH_DATA)
	$(BIN)/python benchmarks/dashboard.py --data-dir $(BENCH_DATA)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
