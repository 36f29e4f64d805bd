# The two commands of the quick start are `make demo` and `make test`; both install first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
REQUIREMENTS := pyproject.toml requirements.txt requirements-layer.txt requirements-local.txt requirements-dev.txt

.PHONY: install demo test check lint serve clean package browser bench-deps

install: $(STAMP)

$(STAMP): $(REQUIREMENTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: install
	$(BIN)/spotify-etl demo

test: install browser
	$(BIN)/ruff check .
	$(BIN)/pytest -q

# The inner loop: lint and every test but the integration tier (servers, subprocesses,
# fuzzing, the browser, the package), in under a minute; `make test` runs them all, as CI.
check: install
	$(BIN)/ruff check .
	$(BIN)/pytest -q -n auto -m "not integration"

# The dashboard's browser tests drive Debian's headless Chromium (through Playwright, from
# requirements-dev.txt) with fonts for every script and colour emoji, installed here where we can
# (root on Debian, as CI is); elsewhere the tests are skipped, except in CI.
BROWSER_PACKAGES := chromium fonts-noto-core fonts-noto-cjk fonts-noto-color-emoji
browser:
	@dpkg -s $(BROWSER_PACKAGES) >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] \
		&& command -v apt-get >/dev/null && apt-get update -qq \
		&& apt-get install -y -qq --no-install-recommends $(BROWSER_PACKAGES) >/dev/null; } \
		|| echo "note: no chromium or its fonts; the dashboard's browser tests will be skipped"

# benchmarks/api_calls.py compares the extract with dlt's rest_api source: dlt is installed
# for it alone, never for the app or the tests.
bench-deps: install
	$(BIN)/python -m pip install --quiet -r requirements-bench.txt

lint: install
	$(BIN)/ruff check .

# chalice local on 127.0.0.1:8000 with the variables the CLI reads: the environment over
# .env (LAKE_URI there, else ./.lake), e.g. `make serve`, or LAKE_URI=.lake-demo make serve,
# then open /dashboard.
PORT ?= 8000
serve: install
	$(BIN)/python -m spotify_etl.serve --port $(PORT)

# The deployment package for the dev stage, as Terraform (CloudFormation refuses on_s3_event).
# Chalice takes the Lambda runtime from the interpreter running it, hence a Python 3.12 venv.
PYTHON312 ?= env PYENV_VERSION=3.12.1 python3.12
VENV312 := .venv312
STAMP312 := $(VENV312)/.installed

$(STAMP312): requirements.txt requirements-local.txt
	test -x $(VENV312)/bin/python || $(PYTHON312) -m venv $(VENV312)
	$(VENV312)/bin/python -m pip install --quiet --upgrade pip
	$(VENV312)/bin/python -m pip install --quiet -r requirements.txt \
		"$$(grep -E '^chalice' requirements-local.txt)"
	touch $(STAMP312)

package: $(STAMP312)
	rm -rf build/package
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} \
		$(VENV312)/bin/chalice package --pkg-format terraform --stage dev build/package/

clean:
	rm -rf $(VENV) $(VENV312) build .lake-demo .pytest_cache .ruff_cache
