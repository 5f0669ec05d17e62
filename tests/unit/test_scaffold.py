"""`netflix-elt new DIR` (netflix_elt.scaffold): the example project, copied whole or not at all."""

from __future__ import annotations

import filecmp
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from netflix_elt.cli import main
from netflix_elt.scaffold import EXAMPLE_FOLDERS, ScaffoldError, example_source, new_project
from tests.conftest import PROJECT_DIR


def _tree(root: Path) -> dict[str, bytes]:
    """{relative path: bytes} of the files under root, caches left out (os.walk, not the module's copy)."""
    files = {}
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in names:
            if not name.endswith(".pyc"):
                path = Path(folder) / name
                files[str(path.relative_to(root))] = path.read_bytes()
    return files


def _example_files() -> dict[str, bytes]:
    out = {}
    for name in EXAMPLE_FOLDERS:
        out.update({f"{name}/{rel}": data for rel, data in _tree(PROJECT_DIR / name).items()})
    return out


def test_new_writes_the_repository_project_byte_for_byte(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["new", str(tmp_path / "proj")])
    assert result.exit_code == 0, result.output
    written = _tree(tmp_path / "proj")
    assert written.pop(".gitignore").decode().split() == [".netflix_elt/", "target/", "__pycache__/", "*.pyc"]
    expected = _example_files()
    assert written == expected
    assert "config/netflix_elt.toml" in written and "seeds/seed_movie_release_dates.csv" in written
    assert f"Wrote {len(expected) + 1} files into" in result.output
    assert "netflix-elt extract --source synthetic" in result.output and "netflix-elt build" in result.output
    assert oct((tmp_path / "proj").stat().st_mode & 0o777) != oct(0o700)  # not mkdtemp's private mode


def test_new_into_an_empty_folder_is_fine(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert CliRunner().invoke(main, ["new", str(tmp_path / "empty")]).exit_code == 0
    assert (tmp_path / "empty" / "transforms" / "core" / "dim_movies.py").is_file()


@pytest.mark.parametrize("case", ["not empty", "a file", "no parent"])
def test_new_refuses_bad_targets_with_exit_2_and_changes_nothing(tmp_path: Path, case: str) -> None:
    target = tmp_path / "proj"
    if case == "not empty":
        target.mkdir()
        (target / "mine.txt").write_text("keep me")
    elif case == "a file":
        target.write_text("a file")
    else:
        target = tmp_path / "missing" / "proj"
    before = _tree(tmp_path)
    result = CliRunner().invoke(main, ["new", str(target)])
    assert result.exit_code == 2
    message = {"not empty": "is not empty", "a file": "is not a folder", "no parent": "does not exist"}[case]
    assert message in result.output and str(target if case != "no parent" else target.parent) in result.output
    assert _tree(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in tmp_path.iterdir() if p.name[0] != ".")


def test_a_failure_half_way_leaves_no_folder_behind(tmp_path: Path) -> None:
    broken = tmp_path / "src"
    for name in EXAMPLE_FOLDERS[:-1]:  # the last folder is missing: copytree fails after the others
        (broken / name).mkdir(parents=True)
        (broken / name / "x.txt").write_text(name)
    with pytest.raises(FileNotFoundError):
        new_project(tmp_path / "proj", source=broken)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]


def test_the_wheel_layout_wins_over_the_checkout_and_neither_is_an_error(tmp_path: Path) -> None:
    package = tmp_path / "site" / "lib" / "netflix_elt"
    package.mkdir(parents=True)
    with pytest.raises(ScaffoldError, match="has no example project"):
        example_source(package)
    for name in EXAMPLE_FOLDERS:
        (package / "example" / name).mkdir(parents=True)
    assert example_source(package) == package / "example"
    assert example_source() == PROJECT_DIR  # this checkout (editable install): the folders themselves
    assert filecmp.cmp(PROJECT_DIR / "config" / "netflix_elt.toml", example_source() / "config" / "netflix_elt.toml")
