# The two commands of the quick start are `make demo` and `make test`; both install first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv

.PHONY: install lock demo test check lint serve clean package deploy-env browser bench-deps

# .venv holds exactly locks/dev.txt (every version pinned, every file hashed) and this project,
# editable: packages the lock does not name are removed, others moved to the lock's version.
# uv comes first, from locks/uv.txt through pip; uv then installs the rest.
$(UV): locks/uv.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes \
		--no-deps -r locks/uv.txt
	touch $(UV)

install: $(UV)
	$(UV) pip install --quiet --python $(BIN)/python --exact --verify-hashes \
		--build-constraints locks/dev.txt -r locks/dev.txt --editable .
	$(BIN)/python tools/lock.py check --venv $(VENV):dev

# Regenerates locks/ from the requirements files, keeping every version they still allow;
# UPGRADE=1 takes the newest of everything, PACKAGE="moto botocore" the newest of those.
# An upgrade lands only with `make test` green on a fresh clone (README, "Dependencies").
lock: $(UV)
	$(BIN)/python tools/lock.py compile $(if $(UPGRADE),--upgrade) \
		$(foreach package,$(PACKAGE),--upgrade-package $(package))
	$(MAKE) install

demo: install
	$(BIN)/spotify-etl demo

test: install browser
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -q

# The inner loop: lint, types (mypy, over what pyproject.toml names) and every test but the
# integration tier (servers, subprocesses, fuzzing, the browser, the package), in under a
# minute; `make test` runs them all, as CI.
check: install
	$(BIN)/ruff check .
	$(BIN)/mypy
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
# for it alone, never for the app or the tests. .venv then holds locks/bench.txt, which keeps
# every version of locks/dev.txt; the next `make install` takes dlt out again.
bench-deps: install
	$(UV) pip install --quiet --python $(BIN)/python --exact --verify-hashes \
		--build-constraints locks/dev.txt -r locks/bench.txt --editable .
	$(BIN)/python tools/lock.py check --venv $(VENV):bench

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

# .venv312 holds exactly locks/deploy.txt: Chalice, its pip and what the package bundles.
$(VENV312)/bin/python:
	$(PYTHON312) -m venv --without-pip $(VENV312)

deploy-env: install $(VENV312)/bin/python
	$(UV) pip install --quiet --python $(VENV312)/bin/python --exact --verify-hashes \
		-r locks/deploy.txt
	$(BIN)/python tools/lock.py check --venv $(VENV312):deploy

package: deploy-env
	rm -rf build/package
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} \
		$(VENV312)/bin/chalice package --pkg-format terraform --stage dev build/package/

clean:
	rm -rf $(VENV) $(VENV312) build .lake-demo .pytest_cache .ruff_cache .mypy_cache
