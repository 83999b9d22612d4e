# One obvious command for each thing a person does: make run, make test, make bench.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
LOCK := requirements.lock
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export PREFECT_HOME ?= $(CURDIR)/.prefect

.PHONY: install test run bench lint fmt lock clean

# The versions that were tested: every install is constrained by the lock file (`make lock`
# rewrites it from pyproject.toml's ranges; README, "Updating dependencies").
$(STAMP): pyproject.toml $(LOCK)
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade 'pip>=24'
	$(BIN)/python -m pip install -q -c $(LOCK) -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

run: $(STAMP)
	$(BIN)/purchase-sync run 'data/samples/lazada_*.csv' 'data/samples/shopee_*' 'data/samples/tiktok_*' \
		--sku-map data/samples/sku_map.csv --sandbox --out out/

bench: $(STAMP)
	$(BIN)/python -m benchmarks

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Resolve pyproject.toml's ranges afresh in a throwaway venv and pin the result.
lock:
	rm -rf .venv-lock && $(PY) -m venv .venv-lock
	.venv-lock/bin/python -m pip install -q --upgrade 'pip>=24'
	.venv-lock/bin/python -m pip install -q -e '.[dev]'
	{ echo "# Tested versions (make lock). Installed with pip -c; edit pyproject.toml, not this."; \
	  .venv-lock/bin/python -m pip freeze --exclude-editable; } > $(LOCK)
	rm -rf .venv-lock

clean:
	rm -rf out .prefect .pytest_cache data/ledger.sqlite* data/sandbox.sqlite* data/sandbox-ledger.sqlite*
