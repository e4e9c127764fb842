# Everything runs inside a local virtual environment (.venv) built from python3 alone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BASE := $(VENV)/.installed-base

.PHONY: demo test lint bench clean venv browser

venv: $(STAMP)

# the demo needs only crindex itself; the tests also need the dev extra (pytest, Spark,
# PostgreSQL driver, the service's web stack, Playwright, linters: about 1 GB more)
$(BASE): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(BASE)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(BASE) $(STAMP)

demo: $(BASE)
	$(BIN)/crindex demo

# Debian's chromium (and a CJK font for the Chinese pages) renders the HTML reports and the
# dashboard in the tests, headless and without network. Where it cannot be installed (no root,
# not Debian), the browser tests skip with a reason; with CI=true they fail instead.
browser:
	@(command -v chromium >/dev/null && fc-list 2>/dev/null | grep -qi wqy) || \
	  (apt-get update -qq && apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null) || \
	  echo "note: could not install chromium; browser tests will skip (and fail with CI=true)"

# both cores (pytest-xdist); the Spark tests share one worker and its one Spark session
test: $(STAMP) browser
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup

# lint-imports: the layers and forbidden imports of [tool.importlinter] in pyproject.toml
lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo

clean:
	rm -rf $(VENV) crindex-demo .pytest_cache build src/*.egg-info
