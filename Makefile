# netflix-elt: `make demo` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_HOME ?= $(CURDIR)/.netflix_elt/demo
export PIP_DISABLE_PIP_VERSION_CHECK=1

.PHONY: venv demo test lint bench lock clean chromium

venv: $(STAMP)

# Recreated only when the lock or pyproject changes: quick when up to date.
$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --no-deps -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	@touch $(STAMP)

demo: $(STAMP)
	rm -rf "$(DEMO_HOME)"
	NETFLIX_ELT_HOME="$(DEMO_HOME)" $(BIN)/netflix-elt extract --source synthetic --scale small
	NETFLIX_ELT_HOME="$(DEMO_HOME)" $(BIN)/netflix-elt build
	NETFLIX_ELT_HOME="$(DEMO_HOME)" $(BIN)/netflix-elt extract --source synthetic --scale small --batch 2
	NETFLIX_ELT_HOME="$(DEMO_HOME)" $(BIN)/netflix-elt build
	NETFLIX_ELT_HOME="$(DEMO_HOME)" $(BIN)/netflix-elt compile top_rated_movies
	NETFLIX_ELT_HOME="$(DEMO_HOME)" $(BIN)/netflix-elt tables

test: $(STAMP) chromium
	$(BIN)/python -m pytest -q

# Headless Chromium + chromedriver for the docs site's browser test (Debian packages; skipped
# by that test when absent, so a machine without apt still runs the rest).
chromium:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  ( (apt-get update -q && apt-get install -y -q chromium chromium-driver) >/dev/null 2>&1 || \
	    echo "chromium not installed: the docs browser test will be skipped" )

lint: $(STAMP)
	$(BIN)/ruff check src transforms tests benchmarks
	$(BIN)/ruff format --check src transforms tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/build_bench.py --scale 20m --repeat 3

# Re-resolve the lock from pyproject.toml (needs the package registry).
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install -q 'setuptools>=75' wheel -e '.[dev]'
	( echo "# Pinned versions of every dependency (all transitive), resolved together on Python 3.11."; \
	  echo "# Regenerate: make lock"; \
	  .venv-lock/bin/pip freeze --all --exclude-editable | grep -v -E '^(-e|pip==|netflix)' ) > requirements.lock
	rm -rf .venv-lock

clean:
	rm -rf $(VENV) target .netflix_elt .pytest_cache
