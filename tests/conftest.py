"""Shared fixtures: the real MovieLens fixture folder, an isolated state folder, a built warehouse."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1]
# the `netflix-elt` processes tests start never run in a developer's warm process (tests/integration/test_warm.py
# starts its own, in its own socket folder)
os.environ["NETFLIX_ELT_WARM"] = "0"
FIXTURE_DIR = (PROJECT_DIR / ".." / "shared" / "data" / "movielens" / "ml-latest-small").resolve()


def interruptible() -> None:
    """Ctrl-C as a terminal delivers it, even when pytest runs as a background job.

    A non-interactive shell starts `cmd &` with SIGINT ignored, and Python then leaves it ignored, so
    a build under a backgrounded `.ci/run` ran to the end with 0 (a false failure, not a race).
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(autouse=True)
def _forget_registered_secrets() -> Iterator[None]:
    """Secrets a test makes the process remember (connections.register_secret) end with the test: a
    test's fake password such as "pass" would otherwise be scrubbed from every later test's output."""
    from netflix_elt import connections

    before = set(connections._KNOWN_SECRETS)
    yield
    connections._KNOWN_SECRETS.clear()
    connections._KNOWN_SECRETS.update(before)


def require_fixture() -> Path:
    if not (FIXTURE_DIR / "ratings.csv").is_file():
        pytest.skip(f"MovieLens fixture folder {FIXTURE_DIR} is absent (see ../shared/data/movielens/SOURCES.md)")
    return FIXTURE_DIR


@pytest.fixture
def fixture_dir() -> Path:
    return require_fixture()


@pytest.fixture
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh state folder and target folder for one test."""
    monkeypatch.setenv("NETFLIX_ELT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NETFLIX_ELT_TARGET_PATH", str(tmp_path / "target"))
    return tmp_path


@pytest.fixture(scope="session")
def built_fixture_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The real project loaded from the fixture, seeded and run once; yields its temp root.

    Tests that use it open their own Workspace on the same state folder and must not change it.
    """
    fixture = require_fixture()
    root = tmp_path_factory.mktemp("fixture_wh")
    old = {k: os.environ.get(k) for k in ("NETFLIX_ELT_HOME", "NETFLIX_ELT_TARGET_PATH")}
    os.environ["NETFLIX_ELT_HOME"] = str(root / "home")
    os.environ["NETFLIX_ELT_TARGET_PATH"] = str(root / "target")
    from netflix_elt.api import Workspace

    try:
        with Workspace.from_options(PROJECT_DIR) as ws:
            ws.load(str(fixture))
            ws.seed()
            outcome = ws.run()
            assert outcome.ok, [(r.name, r.message) for r in outcome.results if r.status != "success"]
        # later tests run other commands on this warehouse: keep the build's own artifacts
        for name in ("run_results.json", "manifest.json"):
            shutil.copy(root / "target" / name, root / f"build_{name}")
    finally:
        # restore at once: tests that do not ask for this warehouse must not write into it
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    yield root


@pytest.fixture
def fixture_workspace(built_fixture_warehouse: Path, monkeypatch: pytest.MonkeyPatch):
    """A workspace on the shared fixture warehouse (read-only use)."""
    monkeypatch.setenv("NETFLIX_ELT_HOME", str(built_fixture_warehouse / "home"))
    monkeypatch.setenv("NETFLIX_ELT_TARGET_PATH", str(built_fixture_warehouse / "target"))
    from netflix_elt.api import Workspace

    with Workspace.from_options(PROJECT_DIR) as ws:
        yield ws


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """moto's S3 server on 127.0.0.1 and a free port, for the S3 tests; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{server._server.server_port}"  # type: ignore[union-attr]
    finally:
        server.stop()


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


def use_moto(monkeypatch: pytest.MonkeyPatch, endpoint: str, secret: str = "testing") -> None:
    """Point boto3's standard credential chain and endpoint at moto, and nowhere else."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(var, raising=False)


def tiny_config(sources: str, *, name: str = "tiny", database: str = "TINY", threads: int = 1) -> str:
    """The config of a throwaway project for `write_tiny_project`: the embedded profile, target DEV,
    and the given `[sources.*]` text (braces doubled, `{package}` is filled in later)."""
    return (
        f'[project]\nname = "{name}"\ntransforms = "{{package}}"\nseeds = "seeds"\nthreads = {threads}\n\n'
        f'[warehouse]\ndatabase = "{database}"\n\n[targets.dev]\nschema = "DEV"\n\n'
        '[profiles.local]\nengine = "embedded"\n\n' + sources.lstrip("\n")
    )


ITEMS_SOURCE = """
[sources.raw_items]
table = "RAW_ITEMS"
file = "items.csv"
mode = "full"
columns = {{ id = "INTEGER", name = "VARCHAR", price = "FLOAT" }}
"""

# the items project's staging view and core table (raw_items -> stg_items -> dim_items)
ITEMS_TRANSFORMS = """
from netflix_elt import transform


@transform(layer="staging", materialized="view")
def stg_items(raw_items):
    return raw_items.select("id", "name", "price")


@transform(layer="core", materialized="table")
def dim_items(stg_items):
    return stg_items.select("id", "name", "price")
"""

ITEMS_MART = """
from netflix_elt import transform


@transform(layer="marts", materialized="table")
def {name}({input}):
    return {input}.select("id", "price")
"""


def write_items_project(root: Path, prefix: str, database: str, items_csv: str) -> Path:
    """The items project with three marts, one module each (dim_items -> mart_a -> mart_c, dim_items
    -> mart_b), in `root`; returns its transforms package."""
    import textwrap

    config = tiny_config(ITEMS_SOURCE, name=prefix, database=database)
    write_tiny_project(root, prefix, config, ITEMS_TRANSFORMS, items_csv)
    package = next(p for p in root.iterdir() if p.name.startswith(f"{prefix}_"))
    for name, input_ in (("mart_a", "dim_items"), ("mart_b", "dim_items"), ("mart_c", "mart_a")):
        (package / f"{name}.py").write_text(textwrap.dedent(ITEMS_MART.format(name=name, input=input_)))
    return package


def write_tiny_project(root: Path, prefix: str, config: str, transforms: str, items_csv: str) -> Path:
    """A throwaway project in `root`: config (with `{package}` filled in), one transforms module
    under a package name unique to the test, and `landing/items.csv`."""
    import textwrap

    package = f"{prefix}_{root.name.replace('-', '_')}"
    (root / "config").mkdir()
    (root / "config" / "netflix_elt.toml").write_text(config.format(package=package))
    (root / package).mkdir()
    (root / package / "__init__.py").write_text("")
    (root / package / "items.py").write_text(textwrap.dedent(transforms))
    (root / "landing").mkdir()
    (root / "landing" / "items.csv").write_text(items_csv)
    return root
