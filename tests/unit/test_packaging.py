"""Install metadata (issue 16, item 8): ranges in pyproject, two hashed locks that agree, every imported
package declared, a Makefile whose `make test` installs no system package, the LICENSE declared."""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import PROJECT_DIR

PYPROJECT = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text(encoding="utf-8"))
# the project's own: the packages and the dashboard app's modules beside its script
LOCAL_MODULES = {"netflix_elt", "transforms", "tests"} | {p.stem for p in (PROJECT_DIR / "dashboards").glob("*.py")}
# Tools a user of `make demo` never needs: the list of what the single lock used to install
DEV_ONLY = {"pytest", "hypothesis", "moto", "ruff", "selenium", "cfn-lint", "sympy", "docker", "trio", "responses"}
# sha256 of https://www.apache.org/licenses/LICENSE-2.0.txt, the text pyproject's license names
APACHE_2_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"


def _requirements(group: str | None = None) -> list[Requirement]:
    project = PYPROJECT["project"]
    specs = project["dependencies"] if group is None else project["optional-dependencies"][group]
    return [Requirement(s) for s in specs]


def parse_lock(path: Path) -> dict[str, tuple[str, frozenset[str]]]:
    """{canonical name: (version, sha256 hashes)} of a `uv pip compile --generate-hashes` file.

    Raises AssertionError naming the line for an entry that is not `name==version` with a hash.
    """
    entries: dict[str, tuple[str, frozenset[str]]] = {}
    text = path.read_text(encoding="utf-8")
    blocks = re.split(r"\n(?=[A-Za-z0-9])", "\n" + text)
    for block in blocks:
        head = block.strip().split("\n", 1)[0].split(" ", 1)[0].strip()
        if not head or head.startswith("#"):
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;\\]+)", head)
        assert m, f"{path.name}: {head!r} is not pinned as name==version"
        hashes = frozenset(re.findall(r"--hash=sha256:([0-9a-f]{64})", block))
        assert hashes, f"{path.name}: {head} has no --hash"
        name = canonicalize_name(m.group(1))
        assert name not in entries, f"{path.name}: {name} appears twice"
        entries[name] = (m.group(3), hashes)
    return entries


RUNTIME = parse_lock(PROJECT_DIR / "requirements.lock")
DEV = parse_lock(PROJECT_DIR / "requirements-dev.lock")


def test_pyproject_uses_ranges_with_both_bounds() -> None:
    for req in [*_requirements(), *_requirements("dev")]:
        ops = {s.operator for s in req.specifier}
        assert not ops & {"==", "==="}, f"pyproject: {req} pins one version; pins belong in the locks"
        assert ops & {">=", ">", "~="}, f"pyproject: {req} has no lower bound"
        assert ops & {"<", "<=", "~="}, f"pyproject: {req} has no upper bound"


def test_every_lock_entry_is_pinned_with_hashes_and_a_bad_entry_is_named(tmp_path: Path) -> None:
    assert len(RUNTIME) > 40 and len(DEV) > len(RUNTIME)
    bad = tmp_path / "bad.lock"
    bad.write_text("click==8.5.1 \\\n    --hash=sha256:" + "a" * 64 + "\nrich>=13\n", encoding="utf-8")
    with pytest.raises(AssertionError, match=r"'rich>=13' is not pinned"):
        parse_lock(bad)
    bad.write_text("click==8.5.1\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="click==8.5.1 has no --hash"):
        parse_lock(bad)


def test_dev_lock_holds_the_runtime_lock_unchanged_plus_the_dev_tools_only() -> None:
    for name, pin in RUNTIME.items():
        assert DEV.get(name) == pin, f"{name}: runtime lock {pin[0]}, dev lock {DEV.get(name, ('absent',))[0]}"
    for req in _requirements("dev"):
        name = canonicalize_name(req.name)
        assert name in DEV, f"requirements-dev.lock lacks the dev extra {req.name}"
        assert req.specifier.contains(DEV[name][0]), f"dev lock {name}=={DEV[name][0]} is outside {req}"
    leaked = sorted(DEV_ONLY & set(RUNTIME))
    assert not leaked, f"requirements.lock (what make demo installs) holds dev-only packages {leaked}"
    assert set(DEV) >= DEV_ONLY


def test_runtime_lock_satisfies_every_declared_dependency() -> None:
    for req in _requirements():
        name = canonicalize_name(req.name)
        assert name in RUNTIME, f"requirements.lock lacks {req.name}"
        assert req.specifier.contains(RUNTIME[name][0]), f"lock {name}=={RUNTIME[name][0]} is outside {req}"
    # the editable install of make demo builds without isolation, from the lock's setuptools
    build_req = Requirement(PYPROJECT["build-system"]["requires"][0])
    assert build_req.specifier.contains(RUNTIME["setuptools"][0])


def _imported_modules(folders: list[Path], root: Path = PROJECT_DIR) -> dict[str, str]:
    """{dotted module (two parts for the `snowflake` namespace): a file importing it} of the code."""
    found: dict[str, str] = {}
    for folder in folders:
        for path in sorted(folder.rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                for name in names:
                    parts = name.split(".")
                    if parts[0] in sys.stdlib_module_names or parts[0] in LOCAL_MODULES or parts[0] == "__future__":
                        continue
                    key = ".".join(parts[:2]) if parts[0] == "snowflake" else parts[0]
                    found.setdefault(key, str(path.relative_to(root)))
    return found


@functools.cache
def _owners() -> dict[Path, str]:
    """{absolute file: distribution} of every installed distribution (RECORD paths, not resolved)."""
    owners: dict[Path, str] = {}
    for dist in importlib.metadata.distributions():
        root, name = Path(dist.locate_file("")), canonicalize_name(dist.metadata["Name"])
        for file in dist.files or ():
            owners.setdefault(Path(os.path.normpath(root / file)), name)
    return owners


def _distribution_of(module: str) -> str:
    """The installed distribution whose files hold `module` (namespace packages resolved by file)."""
    spec = importlib.util.find_spec(module)
    assert spec is not None, f"{module} is imported but not installed"
    origin = spec.origin if spec.origin not in (None, "namespace") else next(iter(spec.submodule_search_locations))
    owner = _owners().get(Path(os.path.normpath(origin)))
    assert owner, f"no installed distribution holds {origin}"
    return owner


def test_every_package_src_transforms_and_dashboards_import_is_declared() -> None:
    declared = {canonicalize_name(r.name) for r in _requirements()}
    imports = _imported_modules([PROJECT_DIR / "src", PROJECT_DIR / "transforms", PROJECT_DIR / "dashboards"])
    assert {"yaml", "duckdb", "numpy", "botocore", "uvicorn", "pyarrow", "snowflake.snowpark"} <= set(imports)
    missing = {m: (_distribution_of(m), where) for m, where in imports.items() if _distribution_of(m) not in declared}
    assert not missing, f"imported but only transitive (add to pyproject dependencies): {missing}"


def test_the_import_scan_catches_an_undeclared_import(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("import json\nfrom snowflake.connector import connect\nimport tomlkit\n")
    imports = _imported_modules([tmp_path], root=tmp_path)
    assert set(imports) == {"snowflake.connector", "tomlkit"}
    assert _distribution_of("snowflake.connector") == "snowflake-connector-python"
    assert _distribution_of("tomlkit") not in {canonicalize_name(r.name) for r in _requirements()}


def test_license_file_is_the_apache_2_text_pyproject_declares() -> None:
    assert PYPROJECT["project"]["license"] == "Apache-2.0"
    assert hashlib.sha256((PROJECT_DIR / "LICENSE").read_bytes()).hexdigest() == APACHE_2_SHA256


def _dry_run(*targets: str) -> str:
    """What `make` would run for targets, all prerequisites treated as out of date (-B), running nothing (-n)."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    out = subprocess.run(
        ["make", "-n", "-B", "-C", str(PROJECT_DIR), *targets], capture_output=True, text=True, check=True
    )
    return out.stdout


def test_make_demo_installs_the_runtime_lock_only_and_builds_into_the_default_state_folder() -> None:
    demo = _dry_run("demo")
    assert "pip install -q --require-hashes --no-deps -r requirements.lock" in demo
    assert "requirements-dev.lock" not in demo
    assert "NETFLIX_ELT_HOME=" not in demo  # every later command looks in the same (default) folder
    assert "rm -rf" not in demo and "scripts/demo_reset.sh" in demo
    assert ".venv/bin/netflix-elt show dim_movies" in demo and "source .venv/bin/activate" in demo


def test_make_test_adds_the_dev_lock_and_installs_no_system_package() -> None:
    test = _dry_run("test")
    assert "--require-hashes --no-deps -r requirements-dev.lock" in test
    assert "apt-get" not in test and "apt " not in test
    assert "apt-get install" in _dry_run("chromium")  # the explicit opt-in


def test_make_lock_uses_uv_with_hashes_and_constrains_the_dev_lock_by_the_runtime_lock() -> None:
    lock = _dry_run("lock")
    compiles = [line for line in re.sub(r"\\\n\s*", " ", lock).splitlines() if "uv pip compile" in line]
    assert len(compiles) == 2 and all("--generate-hashes" in c for c in compiles)
    runtime, dev = compiles
    assert "-o requirements.lock" in runtime and "--extra" not in runtime
    assert "--extra dev -c requirements.lock" in dev and "-o requirements-dev.lock" in dev


def test_without_chromium_the_browser_tests_skip_naming_make_chromium(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests import browser

    monkeypatch.setattr(browser, "CHROMIUM", str(tmp_path / "no-chromium"))
    with pytest.raises(pytest.skip.Exception, match=r"no-chromium or .* is absent; `make chromium` installs them"):
        next(browser.headless_chromium(tmp_path, window="800,600", page_load_timeout=5))
