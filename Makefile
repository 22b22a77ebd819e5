# Two commands do all the setup on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install chromium postgres weaviate-build weaviate weaviate-up weaviate-status weaviate-stop demo test test-fast lint bench clean

$(STAMP): pyproject.toml
	@echo "==> Creating the Python environment in $(VENV) and installing dependencies"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# Debian's chromium, driven by Playwright with executable_path=/usr/bin/chromium (browser downloads do not work here).
chromium:
	@if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi "noto.*cjk"; then \
	  echo "==> chromium present: $$(/usr/bin/chromium --version 2>/dev/null)"; \
	else echo "==> Installing Debian chromium and fonts for emoji/CJK/RTL screenshots (needs root)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    chromium fonts-dejavu-core fonts-noto-core fonts-noto-cjk fonts-noto-color-emoji >/dev/null; fi

# Debian's PostgreSQL server binaries: the store tests start a throwaway cluster with them (tests/fixtures_postgres.py).
postgres:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  echo "==> postgresql present: $$(ls -d /usr/lib/postgresql/*/bin/initdb | head -1)"; \
	else echo "==> Installing Debian postgresql for the store tests (needs root)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; fi

# Build (or find) the pinned weaviate-server; the first build takes a few minutes.
weaviate-build: $(STAMP)
	@$(PY) -m weaviate_local build

# Run a local Weaviate on 127.0.0.1:8080 (gRPC 50051) in the foreground until Ctrl-C.
weaviate: $(STAMP)
	@$(PY) -m weaviate_local ensure

# The same in the background (its state is recorded in the cache folder), and its status / stop.
weaviate-up: $(STAMP)
	@$(PY) -m weaviate_local ensure --detach
weaviate-status: $(STAMP)
	@$(PY) -m weaviate_local status
weaviate-stop: $(STAMP)
	@$(PY) -m weaviate_local stop

# The app on a local Weaviate with demo data, no key needed: http://127.0.0.1:8501
# (DEMO_ARGS passes options through, e.g. DEMO_ARGS="--port 8502"; Ctrl-C or closing the terminal stops it all.)
demo: $(STAMP) weaviate-build
	@$(PY) -m scripts.demo $(DEMO_ARGS)

# The whole suite: core, integration (real Weaviate + Jina stand-in + PostgreSQL), AppTest, browser.
test: $(STAMP) chromium postgres weaviate-build lint
	@$(PY) -m pytest

test-fast: $(STAMP)
	@$(PY) -m pytest tests/core tests/weaviate_local

lint: $(STAMP)
	@$(VENV)/bin/ruff check rerank_playground components pages app.py tests scripts benchmarks weaviate_local testkit
	@$(VENV)/bin/mypy
	@$(VENV)/bin/mypy --strict rerank_playground

# Pipeline overhead (benchmarks/pipeline.py), batch concurrency and bookkeeping (benchmarks/batch.py), then
# click -> chart in chromium against its floors (benchmarks/latency.py).
bench: $(STAMP) weaviate-build chromium
	@$(PY) -m benchmarks.pipeline
	@$(PY) -m benchmarks.batch
	@$(PY) -m benchmarks.latency

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache artifacts
