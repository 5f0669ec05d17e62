"""Project discovery: transforms in every folder (namespace packages too), configurable layers, undeclared seeds."""

from __future__ import annotations

import csv
import json
import logging
import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from netflix_elt.config import check_layer, load_settings
from netflix_elt.discovery import undeclared_seeds
from netflix_elt.errors import ConfigError, GraphError
from netflix_elt.registry import load_project
from tests.conftest import PROJECT_DIR

TRANSFORM = """
from netflix_elt import transform


@transform(layer="{layer}")
def {name}({inputs}):
    return {first}
"""


def _project(root: Path, *, layers: str | None = None, seeds: str = "") -> tuple[Path, str]:
    """A project with one source and a transforms package named after the test folder (unique per test)."""
    package = f"disc_{root.name.replace('-', '_')}"
    (root / "config").mkdir()
    layer_line = f"layers = {layers}\n" if layers else ""
    (root / "config" / "netflix_elt.toml").write_text(
        f'[project]\ntransforms = "{package}"\n{layer_line}\n[targets.dev]\nschema = "DEV"\n\n'
        '[profiles.local]\nengine = "embedded"\n\n'
        '[sources.raw_items]\ntable = "RAW_ITEMS"\nfile = "items.csv"\ncolumns = { id = "INTEGER" }\n' + seeds
    )
    (root / package).mkdir()
    (root / package / "__init__.py").write_text("")
    return root, package


def _write(path: Path, name: str, layer: str, inputs: str = "raw_items") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    first = inputs.split(",")[0].strip()
    path.write_text(TRANSFORM.format(layer=layer, name=name, inputs=inputs, first=first))


def test_folders_without_init_are_found_as_namespace_packages(tmp_path):
    root, pkg = _project(tmp_path)
    _write(root / pkg / "staging" / "stg_items.py", "stg_items", "staging")  # no __init__.py
    _write(root / pkg / "intermediate" / "int_items.py", "int_items", "intermediate", "stg_items")
    _write(root / pkg / "intermediate" / "deeper" / "int_deeper.py", "int_deeper", "intermediate", "int_items")
    (root / pkg / "notes").mkdir()  # no Python inside: not a package, and not an error
    (root / pkg / "notes" / "README.txt").write_text("not code")
    project = load_project(load_settings(root))
    transforms = sorted(n.name for n in project.nodes.values() if n.kind == "transform")
    # independent: one transform per .py file below the package, named as the file
    files = sorted(p.stem for p in (root / pkg).rglob("*.py") if p.name != "__init__.py")
    assert transforms == files == ["int_deeper", "int_items", "stg_items"]
    assert project["int_deeper"].inputs == ("int_items",) and project["int_items"].layer == "intermediate"
    assert project.order.index("stg_items") < project.order.index("int_items") < project.order.index("int_deeper")


def test_a_folder_python_cannot_import_is_an_error_naming_it(tmp_path):
    root, pkg = _project(tmp_path)
    _write(root / pkg / "my-models" / "x.py", "x", "core")
    with pytest.raises(GraphError, match=r"folder .*my-models holds Python files but 'my-models' is not a valid"):
        load_project(load_settings(root))


def test_a_file_python_cannot_import_is_an_error_naming_it(tmp_path):
    root, pkg = _project(tmp_path)
    _write(root / pkg / "core" / "dim-x.py", "dim_x", "core")
    with pytest.raises(GraphError, match=r"file .*core/dim-x\.py: 'dim-x' is not a valid module name"):
        load_project(load_settings(root))


def test_the_default_layers_include_intermediate(tmp_path):
    root, _ = _project(tmp_path)
    settings = load_settings(root)
    assert settings.config.project.layers == ("staging", "intermediate", "core", "marts")
    # the shipped project says the same in its TOML
    shipped = tomllib.loads((PROJECT_DIR / "config" / "netflix_elt.toml").read_text())["project"]["layers"]
    assert tuple(shipped) == settings.config.project.layers


def test_layers_come_from_the_toml(tmp_path):
    root, pkg = _project(tmp_path, layers='["bronze", "silver", "gold"]')
    _write(root / pkg / "gold.py", "gold_items", "gold")
    _write(root / pkg / "ana.py", "an_items", "analyses")  # analyses are always allowed
    project = load_project(load_settings(root))
    assert project["gold_items"].layer == "gold" and project["an_items"].layer == "analyses"


def test_a_layer_not_in_the_toml_is_refused_with_a_suggestion(tmp_path):
    root, pkg = _project(tmp_path, layers='["bronze", "silver", "gold"]')
    _write(root / pkg / "g.py", "gold_items", "glod")
    with pytest.raises(GraphError) as err:
        load_project(load_settings(root))
    msg = str(err.value)
    assert "gold_items" in msg and "g.py" in msg and "layer 'glod' is not one of bronze, silver, gold, analyses" in msg
    assert "did you mean 'gold'?" in msg and "[project] layers" in msg


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        ("[]", "at least one layer"),
        ('["Core"]', "'Core' is not a layer name"),
        ('["core", "core"]', "'core' is listed twice"),
        ('["snapshots"]', "'snapshots' is the layer of the framework's own nodes"),
        ('"core"', "project.layers"),
    ],
)
def test_bad_layer_settings_name_the_setting(tmp_path, layers, message):
    root, _ = _project(tmp_path, layers=layers)
    with pytest.raises(ConfigError, match="project.layers") as err:
        load_settings(root)
    assert message in str(err.value)


def test_check_layer_suggests_the_close_one(tmp_path):
    settings = load_settings(_project(tmp_path)[0])
    assert check_layer(settings, "intermediate") == "intermediate"
    with pytest.raises(ConfigError, match=r"unknown layer 'mart' \(--layer\): the layers are staging, intermediate, "
                       r"core, marts .*did you mean 'marts'\?"):  # fmt: skip
        check_layer(settings, "mart")
    with pytest.raises(ConfigError) as err:
        check_layer(settings, "zzz")
    assert "did you mean" not in str(err.value)


def test_run_layer_is_checked_before_the_engine_starts(tmp_path, monkeypatch):
    from netflix_elt.cli import main

    root, _ = _project(tmp_path)
    monkeypatch.setenv("NETFLIX_ELT_HOME", str(tmp_path / "home"))
    res = CliRunner().invoke(main, ["run", "--layer", "intermediat", "--project-dir", str(root)])
    assert res.exit_code == 2, res.output
    assert "unknown layer 'intermediat'" in res.output and "did you mean 'intermediate'?" in res.output
    assert not (tmp_path / "home" / "warehouse").exists()  # nothing was opened


SEED = '[seeds.known]\nfile = "known.csv"\ncolumns = { a = "INTEGER" }\n'


def test_an_undeclared_seed_gets_a_warning_with_the_toml_to_add(tmp_path, caplog):
    root, _ = _project(tmp_path, seeds=SEED)
    (root / "seeds").mkdir()
    (root / "seeds" / "known.csv").write_text("a\n1\n")
    (root / "seeds" / "new-ratings.csv").write_text("movie_id,label,score,release_date\n1,x,2.5,2020-01-31\n")
    (root / "seeds" / "notes.txt").write_text("not a seed")
    with caplog.at_level(logging.WARNING, logger="netflix_elt"):
        load_project(load_settings(root))
    messages = [r.getMessage() for r in caplog.records if r.name == "netflix_elt"]
    assert len(messages) == 1, messages
    msg = messages[0]
    assert msg.startswith("seed file seeds/new-ratings.csv is not declared in ") and "is not loaded" in msg
    toml_part = msg.split("\n", 1)[1]
    # the suggested lines are valid TOML that declares the file with its header's columns
    suggested = tomllib.loads(toml_part)["seeds"]["new_ratings"]
    with open(root / "seeds" / "new-ratings.csv", newline="") as f:
        header = next(csv.reader(f))
    assert suggested["file"] == "new-ratings.csv"
    assert list(suggested["columns"]) == header
    assert suggested["columns"] == {
        "movie_id": "INTEGER",
        "label": "VARCHAR",
        "score": "FLOAT",
        "release_date": "DATE",
    }
    # adding them to the config declares the seed, and the warning goes away
    config = root / "config" / "netflix_elt.toml"
    config.write_text(config.read_text() + "\n" + toml_part + "\n")
    settings = load_settings(root)
    assert "new_ratings" in settings.config.seeds and undeclared_seeds(settings) == []
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="netflix_elt"):
        assert "new_ratings" in load_project(settings)
    assert not [r for r in caplog.records if r.name == "netflix_elt"]


def test_a_seed_in_a_sub_folder_and_an_unreadable_one(tmp_path):
    from netflix_elt.discovery import seed_suggestion

    root, _ = _project(tmp_path)
    (root / "seeds" / "extra").mkdir(parents=True)
    (root / "seeds" / "extra" / "2024 codes.csv").write_bytes(b"\xff\xfe\x00garbage")
    settings = load_settings(root)
    [path] = undeclared_seeds(settings)
    msg = seed_suggestion(settings, path)
    assert "seeds/extra/2024 codes.csv" in msg
    parsed = tomllib.loads(msg.split("\n", 1)[1])["seeds"]
    [(name, seed)] = parsed.items()
    assert name == "seed_2024_codes" and seed["file"] == "extra/2024 codes.csv"


def test_the_cli_prints_the_seed_warning(tmp_path):
    root, _ = _project(tmp_path)
    (root / "seeds").mkdir()
    (root / "seeds" / "x.csv").write_text("a,b\n1,2\n")
    env = {**os.environ, "NETFLIX_ELT_HOME": str(tmp_path / "home"), "PYTHONPATH": os.pathsep.join(sys.path)}
    res = subprocess.run(
        [sys.executable, "-m", "netflix_elt.cli", "ls", "--project-dir", str(root)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "warning: seed file seeds/x.csv is not declared" in res.stderr  # a command's warning line
    assert textwrap.dedent('[seeds.x]\nfile = "x.csv"\ncolumns = { a = "INTEGER", b = "INTEGER" }') in res.stderr
    # with --log-format json it is one `log` event on stdout, like every other event
    res = subprocess.run(
        [sys.executable, "-m", "netflix_elt.cli", "ls", "--project-dir", str(root), "--log-format", "json"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    logs = [e for e in map(json.loads, res.stdout.splitlines()) if e["event"] == "log"]
    assert [(e["level"], e["data"]) for e in logs] == [("warn", {"logger": "netflix_elt"})]
    assert logs[0]["message"].startswith("seed file seeds/x.csv is not declared")
    # and --quiet keeps it (a warning), --log-level error drops it
    res = subprocess.run(
        [sys.executable, "-m", "netflix_elt.cli", "ls", "--project-dir", str(root), "--log-level", "error"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert res.returncode == 0 and "not declared" not in res.stderr, res.stderr
