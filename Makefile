# netflix-elt: `make demo` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
# The state folder every netflix-elt command reads by default: the demo builds there.
STATE  := $(or $(NETFLIX_ELT_HOME),$(CURDIR)/.netflix_elt)
# Wheels of requirements.lock, for the offline install tests (wheel, fresh clone); see tests/integration/test_install.py
WHEELHOUSE := $(VENV)/wheelhouse
UV_VERSION := 0.13.9
PIP := $(BIN)/python -m pip
export PIP_DISABLE_PIP_VERSION_CHECK=1

.PHONY: venv dev demo test lint bench lock wheel wheelhouse clean chromium

venv: $(STAMP)
dev: $(DEV_STAMP)

# Runtime only (requirements.lock, hashes checked), then the project itself, editable.
# Redone only when the lock or pyproject changes: quick when up to date.
$(STAMP): requirements.lock pyproject.toml setup.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --require-hashes --no-deps -r requirements.lock
	$(PIP) install -q --no-deps --no-build-isolation -e .
	@rm -f $(DEV_STAMP)
	@touch $(STAMP)

# The test and lint tools on top (requirements-dev.lock: the runtime lock's pins plus the dev extra).
$(DEV_STAMP): $(STAMP) requirements-dev.lock
	$(PIP) install -q --require-hashes --no-deps -r requirements-dev.lock
	@touch $(DEV_STAMP)

demo: $(STAMP)
	@scripts/demo_reset.sh "$(STATE)" "$(RESET)"
	$(BIN)/netflix-elt extract --source synthetic --scale small
	$(BIN)/netflix-elt build
	$(BIN)/netflix-elt extract --source synthetic --scale small --batch 2
	$(BIN)/netflix-elt build
	$(BIN)/netflix-elt compile top_rated_movies
	$(BIN)/netflix-elt tables
	@echo
	@echo "The demo's warehouse is in $(STATE), where every netflix-elt command run here looks. Next:"
	@echo "  .venv/bin/netflix-elt show dim_movies      # or once: source .venv/bin/activate, then netflix-elt show dim_movies"
	@echo "  .venv/bin/netflix-elt ls                   # every node; netflix-elt --help for the rest"
	@echo "make demo again resets this warehouse and landing (only those it made) and rebuilds them."

# No system packages are installed here: the browser tests skip, naming `make chromium`.
test: $(DEV_STAMP) $(WHEELHOUSE)/.complete
	$(BIN)/python -m pytest -q

# Opt-in: headless Chromium + chromedriver (Debian packages, needs root) for the browser tests.
chromium:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null && echo "chromium and chromedriver are installed" || \
	  ( apt-get update -q && apt-get install -y -q chromium chromium-driver )

wheelhouse: $(WHEELHOUSE)/.complete
$(WHEELHOUSE)/.complete: requirements.lock | $(STAMP)
	$(PIP) download -q --require-hashes --no-deps -r requirements.lock -d $(WHEELHOUSE)
	@touch $@

# The wheel, carrying the example project as package data (setup.py); into dist/.
wheel: $(STAMP)
	$(PIP) wheel -q --no-deps --no-build-isolation -w dist .

lint: $(DEV_STAMP)
	$(BIN)/ruff check src transforms tests benchmarks dashboards
	$(BIN)/ruff format --check src transforms tests benchmarks dashboards

bench: $(DEV_STAMP)
	$(BIN)/python benchmarks/build_bench.py --scale 20m --repeat 3 --warm
	$(BIN)/python benchmarks/startup_bench.py --repeat 5

# Re-resolve both locks from pyproject.toml with uv (needs the package registry). Versions already
# in a lock are kept unless UPGRADE=1; the dev lock is constrained by the runtime lock, so the two
# agree on every package they share. setuptools is pinned too: `pip install -e .` builds without
# isolation from the runtime lock.
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install -q uv==$(UV_VERSION)
	echo "setuptools>=77" > .venv-lock/build.in
	.venv-lock/bin/uv pip compile -q pyproject.toml .venv-lock/build.in $(if $(UPGRADE),--upgrade) \
	  --python-version 3.11 --generate-hashes --custom-compile-command "make lock" -o requirements.lock
	.venv-lock/bin/uv pip compile -q pyproject.toml .venv-lock/build.in --extra dev -c requirements.lock \
	  $(if $(UPGRADE),--upgrade) --python-version 3.11 --generate-hashes --custom-compile-command "make lock" \
	  -o requirements-dev.lock
	rm -rf .venv-lock

clean:
	rm -rf $(VENV) target .pytest_cache build dist
	@echo "kept $(STATE) (the warehouse and landing); delete it yourself to start from nothing"
