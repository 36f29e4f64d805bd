# The two commands of the quick start are `make demo` and `make test`; both install first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
REQUIREMENTS := pyproject.toml requirements.txt requirements-layer.txt requirements-local.txt requirements-dev.txt

.PHONY: install demo test lint serve clean

install: $(STAMP)

$(STAMP): $(REQUIREMENTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: install
	$(BIN)/spotify-etl demo

test: install
	$(BIN)/ruff check .
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .

serve: install
	$(BIN)/chalice local --no-autoreload --stage local

clean:
	rm -rf $(VENV) build .lake-demo .pytest_cache .ruff_cache
