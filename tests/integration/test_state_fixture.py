"""`state:modified` on the real project over the shared fixture warehouse: against the build just
made nothing is modified; against a manifest whose checksum for one model differs, that model and
its descendants are selected (the descendants read from the manifest's own child_map)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from netflix_elt.cli import main
from tests.conftest import PROJECT_DIR


def ls(*args: str) -> list[str]:
    res = CliRunner().invoke(main, ["ls", "-o", "name", "--project-dir", str(PROJECT_DIR), *args])
    assert res.exit_code == 0, res.output
    return res.output.split()


def descendants(manifest: dict, uid: str) -> set[str]:
    seen, todo = set(), [uid]
    while todo:
        for child in manifest["child_map"].get(todo.pop(), []):
            if child.startswith(("model.", "snapshot.", "seed.", "analysis.")) and child not in seen:
                seen.add(child)
                todo.append(child)
    return seen


def test_state_modified_on_the_fixture(built_fixture_warehouse: Path, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NETFLIX_ELT_HOME", str(built_fixture_warehouse / "home"))
    monkeypatch.setenv("NETFLIX_ELT_TARGET_PATH", str(built_fixture_warehouse / "target"))
    manifest = json.loads((built_fixture_warehouse / "build_manifest.json").read_text())
    # the warehouse was built by `run`, which applies no snapshot: those are new in this target, and
    # nothing else is modified (views, tables, incremental, ephemeral, seeds: the code as built)
    snapshots = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "snapshot"}
    assert snapshots and set(ls("-s", "state:new")) == snapshots
    assert set(ls("-s", "state:modified")) == snapshots
    state = tmp_path / "state"
    state.mkdir()
    (state / "manifest.json").write_text(json.dumps(manifest))
    assert ls("-s", "state:modified", "--state", str(state)) == []  # the manifest's checksums are the same

    uid = next(u for u in manifest["nodes"] if u.endswith(".dim_movies"))
    manifest["nodes"][uid]["checksum"]["checksum"] = "0" * 64  # as if dim_movies was different then
    (state / "manifest.json").write_text(json.dumps(manifest))
    assert ls("-s", "state:modified", "--state", str(state)) == ["dim_movies"]
    below = {manifest["nodes"][u]["name"] for u in descendants(manifest, uid)}
    assert below, "dim_movies has descendants in the fixture project"
    assert set(ls("-s", "state:modified+", "--state", str(state))) == {"dim_movies"} | below
