"""What `build`, `validate`, `tables` and `ls` print: dbt-style lines, the closing summary, --quiet,
--log-format json, and whole lines when the output is not a terminal.

Two warehouses: a tiny project whose data fails one error and one warn test (built here), and the
shared fixture warehouse (conftest's `built_fixture_warehouse`, read only). Expected values come
from the suite YAML files (PyYAML) and the landed CSV files (the csv module), not from the CLI.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from netflix_elt.artifacts import read_results
from netflix_elt.cli import events, main, output
from tests.conftest import ITEMS_SOURCE, ITEMS_TRANSFORMS, PROJECT_DIR, tiny_config, write_tiny_project

CONFIG = tiny_config(ITEMS_SOURCE, name="outp", database="OUTP")

RAW_SUITE = """
expectations:
  - type: expect_column_values_to_not_be_null
    kwargs: {column: name}
  - name: name_is_lower_case
    type: unexpected_rows_expectation
    kwargs:
      unexpected_rows_query: SELECT * FROM {batch} WHERE name <> LOWER(name)
    severity: warn
  - type: expect_column_values_to_not_be_null
    kwargs: {column: id}
"""

DIM_SUITE = """
expectations:
  - name: price_below_50
    type: unexpected_rows_expectation
    kwargs:
      unexpected_rows_query: SELECT * FROM {batch} WHERE price >= 50
"""

# id 2 has no name (fails an error test), 'Apple' is not lower case (fails a warn test)
ITEMS = "id,name,price\n1,Apple,3.5\n2,,12.0\n3,pear,70.0\n4,fig,1.0\n"
LINE = re.compile(r"^(\d+) of (\d+) (OK|PASS|FAIL|WARN|ERROR|SKIP) (.+?) \.{3,} \[(.+)\]$")
SUB_LINE = re.compile(r"^    (OK|PASS|FAIL|WARN|ERROR|SKIP) (.+?) \.{3,} \[(.+)\]$")


def cli(*args: str, project: Path) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, [*args, "--project-dir", str(project)])
    return res.exit_code, res.stdout, res.stderr


def suite_expectations(root: Path) -> dict[str, list[dict]]:
    """Each suite file's expectations, read with PyYAML (the table is the file's name unless set)."""
    out: dict[str, list[dict]] = {}
    for path in sorted((root / "expectations").rglob("*.yml")):
        doc = yaml.safe_load(path.read_text())
        out[doc.get("table") or path.stem] = doc["expectations"]
    return out


def items_csv(project: Path) -> list[dict[str, str]]:
    with (project / "landing" / "items.csv").open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, tuple[int, str, str]]]]:
    """The tiny project, built once (its raw test fails), then validated in text, quiet and JSON."""
    root = tmp_path_factory.mktemp("cli_output_tiny")
    write_tiny_project(root, "outp", CONFIG, ITEMS_TRANSFORMS, ITEMS)
    for folder, name, text in (("raw", "raw_items", RAW_SUITE), ("core", "dim_items", DIM_SUITE)):
        (root / "expectations" / folder).mkdir(parents=True)
        (root / "expectations" / folder / f"{name}.yml").write_text(textwrap.dedent(text))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NETFLIX_ELT_HOME", str(root / "home"))
        mp.setenv("NETFLIX_ELT_TARGET_PATH", str(root / "target"))
        runs = {"build": cli("build", "--from", str(root / "landing"), project=root)}
        runs["build_results"] = (0, (root / "target" / "run_results.json").read_text(), "")
        runs["build_json"] = cli("build", "--from", str(root / "landing"), "--log-format", "json", project=root)
        runs["run"] = cli("run", "-s", "stg_items", project=root)  # a view; dim_items stays unbuilt
        mp.chdir(root)  # file names in the summary are relative to the current folder
        runs["validate"] = cli("validate", project=root)
        runs["quiet"] = cli("validate", "-q", project=root)
        runs["json"] = cli("validate", "--log-format", "json", project=root)
        runs["tables"] = cli("tables", project=root)
        yield root, runs


WORST = ("error", "fail", "warn", "skipped", "pass")


def steps(root: Path, run_results: str) -> list[dict]:
    """The graph steps of a build as the CLI prints them (a suite is one step), from run_results.json,
    which has one row per expectation (dbt's test nodes, named in manifest.json)."""
    out: dict[str, dict] = {}
    for r in read_results(root / "target", json.loads(run_results)):
        if r["resource_type"] != "test":
            out[r["name"]] = {"name": r["name"], "status": r["status"]}
            continue
        step = out.setdefault(f"test:{r['suite']}", {"name": r["suite"], "status": "pass"})
        if WORST.index(r["status"]) < WORST.index(step["status"]):
            step["status"] = r["status"]
    return list(out.values())


# build -------------------------------------------------------------------------------------------
def test_build_prints_one_line_per_node_and_per_test(tiny: tuple[Path, dict]) -> None:
    root, runs = tiny
    code, out, _ = runs["build"]
    assert code == 1, out
    results = steps(root, runs["build_results"][1])
    lines = [m for m in map(LINE.match, out.splitlines()) if m]
    assert len(lines) == len(results), out  # one numbered line per node of the graph
    assert [int(m[1]) for m in lines] == list(range(1, len(results) + 1))
    assert {int(m[2]) for m in lines} == {len(results)}
    by_name = {r["name"]: r["status"] for r in results}
    word = {"success": "OK", "pass": "PASS", "fail": "FAIL", "warn": "WARN", "error": "ERROR", "skipped": "SKIP"}
    for m in lines:
        name = m[4].split()[1]
        assert m[3] == word[by_name[name]], (name, m[0])
    # the raw suite's expectations, each on its own line under the suite's
    subs = [m for m in map(SUB_LINE.match, out.splitlines()) if m]
    expected = suite_expectations(root)["raw_items"]
    assert len(subs) == len(expected)
    rows = items_csv(root)
    nameless = sum(1 for r in rows if not r["name"])
    upper = sum(1 for r in rows if r["name"] and r["name"] != r["name"].lower())
    assert {m[2]: m[3] for m in subs} == {
        "expect_column_values_to_not_be_null(name) on raw_items": f"FAIL {nameless}",
        "name_is_lower_case on raw_items": f"WARN {upper}",
        "expect_column_values_to_not_be_null(id) on raw_items": "PASS",
    }


def test_build_summary_lists_failures_first_with_their_sample(tiny: tuple[Path, dict]) -> None:
    root, runs = tiny
    out = runs["build"][1]
    tail = out[out.index("Finished running") :]
    assert "Completed with 1 error and 1 warning:" in tail
    error_at = tail.index("Failure in test expect_column_values_to_not_be_null(name) on raw_items")
    warn_at = tail.index("Warning in test name_is_lower_case on raw_items")
    assert error_at < warn_at < tail.index("Done.")
    rows = items_csv(root)
    sample_line = next(ln for ln in tail[error_at:warn_at].splitlines() if "failing sample:" in ln)
    sample = json.loads(sample_line.split("failing sample:", 1)[1])
    assert [s["id"] for s in sample] == [int(r["id"]) for r in rows if not r["name"]]
    results = steps(root, runs["build_results"][1])
    skipped = sum(r["status"] == "skipped" for r in results)
    passed = sum(r["status"] in ("success", "pass") for r in results)
    done = next(ln for ln in out.splitlines() if ln.startswith("Done."))
    assert done == f"Done. PASS={passed} WARN=0 ERROR=1 SKIP={skipped} TOTAL={len(results)}"


def test_build_in_json_writes_only_events_to_stdout(tiny: tuple[Path, dict]) -> None:
    root, runs = tiny
    code, out, err = runs["build_json"]
    assert code == 1 and err == "", err
    records = [json.loads(line) for line in out.splitlines()]
    assert all(tuple(r) == events.KEYS for r in records)
    results = steps(root, runs["build_results"][1])
    nodes = [r for r in records if r["event"] == "node_result"]
    assert [(r["node"], r["status"]) for r in nodes] == [(r["name"], r["status"]) for r in results]
    assert [r["data"]["index"] for r in nodes] == list(range(1, len(results) + 1))
    loads = [r for r in records if r["event"] == "load_file"]
    assert [r["data"]["file"] for r in loads] == [(root / "landing" / "items.csv").as_uri()]
    assert len([r for r in records if r["event"] == "test_result"]) == len(suite_expectations(root)["raw_items"])


# validate ----------------------------------------------------------------------------------------
def test_validate_numbers_every_expectation_of_the_suite_files(tiny: tuple[Path, dict]) -> None:
    root, runs = tiny
    code, out, _ = runs["validate"]
    assert code == 1, out
    suites = suite_expectations(root)
    total = sum(len(v) for v in suites.values())
    lines = [m for m in map(LINE.match, out.splitlines()) if m]
    assert [int(m[1]) for m in lines] == list(range(1, total + 1)) and {int(m[2]) for m in lines} == {total}
    statuses = {m[4]: m[3] for m in lines}
    # dim_items was skipped by the failed build: its one test is SKIP (not built), not dropped
    not_built = "OUTP.DEV.DIM_ITEMS does not exist: dim_items is not built yet"
    assert statuses[f"price_below_50 on dim_items ({not_built})"] == "SKIP"
    assert [m[3] for m in lines].count("PASS") == 1 and [m[3] for m in lines].count("FAIL") == 1
    head = "Failure in test expect_column_values_to_not_be_null(name) on raw_items ("
    assert head in out and out.split(head, 1)[1].startswith(str(Path("expectations/raw/raw_items.yml")))
    assert "1 unexpected, severity error" in out
    assert "1 unexpected, severity error" in out


def test_quiet_prints_failures_and_the_summary_only(tiny: tuple[Path, dict]) -> None:
    _, runs = tiny
    code, out, _ = runs["quiet"]
    assert code == 1, out
    words = [m[3] for m in map(LINE.match, out.splitlines()) if m]
    assert "PASS" not in words and "SKIP" not in words
    assert sorted(words) == ["FAIL", "WARN"]
    assert "Completed with 1 error and 1 warning:" in out and out.rstrip().splitlines()[-1].startswith("Done.")
    assert "Data Docs:" not in out


def test_json_log_lines_parse_and_carry_the_stable_keys(tiny: tuple[Path, dict]) -> None:
    root, runs = tiny
    code, out, err = runs["json"]
    assert code == 1, out + err
    records = [json.loads(line) for line in out.splitlines()]  # every stdout line is one JSON object
    assert records and all(tuple(r) == events.KEYS for r in records)
    assert events.KEYS == ("ts", "level", "event", "node", "status", "elapsed", "message", "data")
    tests = [r for r in records if r["event"] == "test_result"]
    assert len(tests) == sum(len(v) for v in suite_expectations(root).values())
    failing = next(r for r in tests if r["node"] == "raw_items.expect_column_values_to_not_be_null(name)")
    assert (failing["status"], failing["level"], failing["data"]["unexpected"]) == ("fail", "error", 1)
    assert [s["id"] for s in failing["data"]["sample"]] == [int(r["id"]) for r in items_csv(root) if not r["name"]]
    summary = records[-1] if records[-1]["event"] == "summary" else next(r for r in records if r["event"] == "summary")
    assert summary["data"] == {"pass": 1, "warn": 1, "error": 1, "skip": 1, "total": 4}
    documented = (PROJECT_DIR / "docs" / "output.md").read_text()
    for r in records:
        assert f"`{r['event']}`" in documented, r["event"]
    for key in events.KEYS:
        assert f"| `{key}` |" in documented, key


def test_tables_lists_views_with_their_kind(tiny: tuple[Path, dict]) -> None:
    root, runs = tiny
    code, out, _ = runs["tables"]
    assert code == 0, out
    kinds = {m[1]: m[2] for m in re.finditer(r"│ DEV\s+│ (\w+)\s+│ (TABLE|VIEW)\s+│", out)}
    assert runs["run"][0] == 0, runs["run"][1]
    assert kinds == {"STG_ITEMS": "VIEW"}  # dim_items was skipped by the failed build, and not run
    raw = re.search(r"│ RAW\s+│ RAW_ITEMS\s+│ TABLE\s+│\s+([\d,]+) │", out)
    assert raw is not None and int(raw[1].replace(",", "")) == len(items_csv(root))


# the shared fixture warehouse ----------------------------------------------------------------------
@pytest.fixture
def on_fixture(built_fixture_warehouse: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The shared warehouse with a target folder of the test's own: `validate` writes run_results.json
    and the manifest there, which later tests (test_docs) read from the shared one as the build's."""
    monkeypatch.setenv("NETFLIX_ELT_HOME", str(built_fixture_warehouse / "home"))
    monkeypatch.setenv("NETFLIX_ELT_TARGET_PATH", str(tmp_path / "target"))
    return built_fixture_warehouse


def test_validate_on_the_fixture_passes_every_expectation_of_built_tables(on_fixture: Path) -> None:
    code, out, _ = cli("validate", project=PROJECT_DIR)
    assert code == 0, out
    suites = suite_expectations(PROJECT_DIR)
    snapshots = {p.stem for p in (PROJECT_DIR / "expectations" / "snapshots").glob("*.yml")}  # `run` builds none
    lines = [m for m in map(LINE.match, out.splitlines()) if m]
    total = sum(len(v) for v in suites.values())
    assert len(lines) == total and {int(m[2]) for m in lines} == {total}
    passed = [m for m in lines if m[3] == "PASS"]
    assert len(passed) == sum(len(v) for k, v in suites.items() if k not in snapshots)
    skipped = [m for m in lines if m[3] == "SKIP"]
    assert {m[4].split(" on ")[1].split()[0] for m in skipped} == snapshots
    assert len(skipped) == sum(len(suites[s]) for s in snapshots)
    for suite in suites:  # a suite name is never cut or wrapped
        assert any(f" on {suite} " in m[0] for m in lines), suite


def test_tables_on_the_fixture_counts_views_like_the_csv(on_fixture: Path) -> None:
    from netflix_elt.api import Workspace
    from tests.conftest import FIXTURE_DIR

    code, out, _ = cli("tables", project=PROJECT_DIR)
    assert code == 0, out
    found = {(m[1], m[2]): (m[3], int(m[4].replace(",", ""))) for m in re.finditer(
        r"│ (\w+)\s+│ (\w+)\s+│ (TABLE|VIEW)\s+│\s+([\d,]+) │", out)}  # fmt: skip
    with Workspace.from_options(PROJECT_DIR) as ws:
        views = {n.upper() for n, node in ws.project.nodes.items() if node.builds and node.materialized == "view"}
    assert {name for (schema, name), (kind, _) in found.items() if kind == "VIEW"} == views
    with (FIXTURE_DIR / "movies.csv").open(newline="", encoding="utf-8") as f:
        movies = sum(1 for _ in csv.DictReader(f))
    assert found[("DEV", "SRC_MOVIES")] == ("VIEW", movies)


def test_quiet_on_all_passing_suites_prints_no_pass_line(on_fixture: Path) -> None:
    code, out, _ = cli("validate", "-q", "-s", "dim_movies", project=PROJECT_DIR)
    assert code == 0, out
    assert not [ln for ln in out.splitlines() if LINE.match(ln)], out
    n = len(suite_expectations(PROJECT_DIR)["dim_movies"])
    assert out.strip().splitlines()[-1] == f"Done. PASS={n} WARN=0 ERROR=0 SKIP=0 TOTAL={n}"


def test_debug_reports_when_the_session_was_ready_and_info_does_not(on_fixture: Path) -> None:
    """The issue's "first statement within 1 s" is read from this event (benchmarks/startup_bench.py)."""
    code, out, _ = cli("show", "dim_movies", "--log-level", "debug", "--log-format", "json", project=PROJECT_DIR)
    assert code == 0, out
    events_ = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    opened = [e for e in events_ if e["event"] == "log" and e["message"].startswith("session open")]
    assert len(opened) == 1, events_
    assert opened[0]["level"] == "debug" and opened[0]["data"] == {"logger": "netflix_elt"}
    m = re.fullmatch(r"session open on the embedded engine, its first statements answered, ([\d.]+) s after the "
                     r"process started", opened[0]["message"])  # fmt: skip
    assert m is not None and float(m[1]) > 0, opened[0]["message"]
    for level in ("info", "warn"):  # the next command, in the same process, at another level: no such event
        code, out, _ = cli("show", "dim_movies", "--log-level", level, "--log-format", "json", project=PROJECT_DIR)
        assert code == 0 and "session open" not in out, out


def test_suite_names_stay_whole_on_an_80_column_terminal(on_fixture: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(output.console, "fixed_width", 80)  # as a terminal of 80 columns
    code, out, _ = cli("validate", "-s", "fct_ratings", project=PROJECT_DIR)
    assert code == 0, out
    assert max(len(ln) for ln in out.splitlines() if not ln.startswith("Data Docs: file://")) <= 80
    for spec in suite_expectations(PROJECT_DIR)["fct_ratings"]:
        words = " ".join(out.split())  # rich wraps between words, never inside one
        label = spec.get("name") or spec["type"]
        assert label in words, label
    assert not [ln for ln in out.splitlines() if 0 < len(ln.strip()) <= 2], out  # no letter-per-line column


# not a terminal: nothing cut -------------------------------------------------------------------
def test_piped_output_keeps_file_names_whole(tmp_path: Path) -> None:
    deep = tmp_path / ("a-rather-long-folder-name-" * 4) / "landing"
    deep.mkdir(parents=True)
    (deep / "items.csv").write_text(ITEMS)
    write_tiny_project(tmp_path, "outpipe", CONFIG, ITEMS_TRANSFORMS, ITEMS)
    env = {"NETFLIX_ELT_HOME": str(tmp_path / "home"), "NETFLIX_ELT_TARGET_PATH": str(tmp_path / "t"),
           "COLUMNS": "80", "PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)}  # fmt: skip
    args = [sys.executable, "-m", "netflix_elt.cli", "load", "--from", str(deep), "--project-dir", str(tmp_path)]
    piped = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert piped.returncode == 0, piped.stdout + piped.stderr
    uri = (deep / "items.csv").as_uri()
    assert len(uri) > 80 and uri in piped.stdout, piped.stdout
    assert "…" not in piped.stdout


def test_cli_runner_output_is_not_cut_at_80_columns(isolated_home: Path) -> None:
    long = "x" * 150
    res = CliRunner().invoke(main, ["show", long, "--project-dir", str(PROJECT_DIR)])
    assert res.exit_code == 2 and f"no node named '{long}'" in res.stderr.replace("\n", "")
    assert f"no node named '{long}'" in res.stderr  # on one line, not folded


def test_tables_on_an_empty_warehouse_says_so(isolated_home: Path) -> None:
    res = CliRunner().invoke(main, ["tables", "--project-dir", str(PROJECT_DIR)])
    assert res.exit_code == 0, res.output  # an answer, not a failure (docs/exit_codes.md)
    assert "has no tables or views yet" in res.output and "netflix-elt build" in res.output
    res = CliRunner().invoke(main, ["tables", "--log-format", "json", "--project-dir", str(PROJECT_DIR)])
    (record,) = [json.loads(line) for line in res.stdout.splitlines()]
    assert (record["event"], record["level"], tuple(record)) == ("tables_empty", "warn", events.KEYS)


# ls --output ---------------------------------------------------------------------------------------
def test_ls_output_json_name_and_path_equal_the_registry(isolated_home: Path) -> None:
    from netflix_elt.api import Workspace
    from netflix_elt.graph import unique_id

    with Workspace.from_options(PROJECT_DIR) as ws:
        project, pname = ws.project, ws.settings.config.project.name
    kinds = ("source", "seed", "transform", "snapshot")
    expected = [n for n in project.order if project[n].kind in kinds]
    code, out, _ = cli("ls", "--output", "json", project=PROJECT_DIR)
    assert code == 0, out
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["name"] for r in rows] == expected
    rtype = {"source": "source", "seed": "seed", "transform": "model", "snapshot": "snapshot"}
    for r in rows:
        node = project[r["name"]]
        assert r["unique_id"] == unique_id(pname, node)
        assert r["resource_type"] == ("analysis" if node.materialized == "analysis" else rtype[node.kind])
        assert r["depends_on"]["nodes"] == [unique_id(pname, project[i]) for i in node.inputs]
        assert r["config"]["materialized"] == node.materialized and r["layer"] == node.layer
        assert (PROJECT_DIR / r["original_file_path"]).is_file()
    code, names, _ = cli("ls", "-o", "name", project=PROJECT_DIR)
    assert names.splitlines() == expected
    code, paths, _ = cli("ls", "-o", "path", "-s", "dim_movies", project=PROJECT_DIR)
    assert paths.splitlines() == [str(Path(project["dim_movies"].file).relative_to(PROJECT_DIR))]


@pytest.mark.parametrize(
    "args",
    [("ls", "--output", "xml"), ("ls", "--log-level", "loud"), ("tables", "--log-format", "yaml"), ("ls", "-q", "1")],
)
def test_bad_output_options_are_usage_errors(isolated_home: Path, args: tuple[str, ...]) -> None:
    res = CliRunner().invoke(main, [*args, "--project-dir", str(PROJECT_DIR)])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output


def test_log_options_from_the_environment(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETFLIX_ELT_LOG_FORMAT", "json")
    res = CliRunner().invoke(main, ["show", "nope", "--project-dir", str(PROJECT_DIR)])
    (record,) = [json.loads(line) for line in res.stdout.splitlines()]
    assert (record["event"], record["data"], res.exit_code) == ("error", {"exit_code": 2}, 2)
    monkeypatch.setenv("NETFLIX_ELT_LOG_FORMAT", "text")
    res = CliRunner().invoke(main, ["ls", "--help"])
    assert "NETFLIX_ELT_LOG_FORMAT" in res.output and "NETFLIX_ELT_QUIET" in res.output


def test_a_reader_that_goes_away_ends_the_command_quietly_with_141() -> None:
    """`netflix-elt ls -o name | head -0`: no traceback, no 'Error: BrokenPipeError', exit 141."""
    cmd = [sys.executable, "-m", "netflix_elt", "ls", "-o", "name", "--project-dir", str(PROJECT_DIR)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the first line is written
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141, err
    assert "Traceback" not in err and "BrokenPipe" not in err, err
