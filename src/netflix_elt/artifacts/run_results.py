"""`target/run_results.json` in dbt's run_results v6 schema, and reading it back.

In memory a command's results stay as the runner made them (one NodeResult per graph step; a
suite step carries its expectations in `extra["tests"]`). On disk each expectation is its own
row, with the unique_id of its test node in the manifest, as dbt writes one row per test: a
suite that was skipped or up to date gives each of its tests that status. dbt's rows have no
name, kind or details; `read_results` joins them with the manifest again for readers here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netflix_elt.artifacts.common import RUN_RESULTS_VERSION, metadata, write_json
from netflix_elt.artifacts.expectation_nodes import ExpectationIndex, expectation_id
from netflix_elt.config import Settings

TEST_STATUSES = {"pass", "fail", "warn", "error", "skipped"}
NOT_BUILT = "not built"


@dataclass
class NodeResult:
    name: str
    unique_id: str
    kind: str
    status: str  # success, error, skipped, pass, fail, warn
    execution_time: float = 0.0
    rows: int | None = None
    message: str = ""
    relation: str | None = None
    compiled_path: str | None = None  # inside the target folder, as `target/compiled/...`
    started_at: str | None = None
    completed_at: str | None = None
    failures: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    exception: BaseException | None = field(default=None, repr=False, compare=False)  # not written
    thread_id: str = "main"
    compiled_code: str | None = None


def _row(
    r: NodeResult,
    unique_id: str,
    status: str,
    *,
    message: str | None,
    failures: int | None,
    execution_time: float,
    compiled: bool,
    code: str | None,
    relation: str | None,
    rows: int | None = None,
    scope: dict[str, Any] | None = None,
) -> dict[str, Any]:
    response: dict[str, Any] = {"_message": message or status, "code": status.upper()}
    if rows is not None:
        response["rows_affected"] = rows
    if scope and scope.get("scope"):  # what an expectation ran on (quality.incremental), and its rows
        response["scope"] = scope["scope"]
        if scope.get("rows_checked") is not None:
            response["rows_checked"] = scope["rows_checked"]
    return {
        "status": status,
        "timing": [{"name": "execute", "started_at": r.started_at, "completed_at": r.completed_at}],
        "thread_id": r.thread_id,
        "execution_time": round(execution_time, 4),
        "adapter_response": response,
        "message": message,
        "failures": failures,
        "unique_id": unique_id,
        "compiled": compiled,
        "compiled_code": code,
        "relation_name": relation,
        "batch_results": None,
    }


def _test_status(status: str) -> str:
    return "skipped" if status == NOT_BUILT or status not in TEST_STATUSES else status


def test_rows(r: NodeResult, tests: ExpectationIndex, project_name: str) -> list[dict[str, Any]]:
    """The rows of a test result: one per expectation, with the manifest's test ids."""
    suite = str(r.extra.get("suite") or r.name.split(".")[0])

    def uid(label: str) -> str:
        node = tests.find(suite, label)
        return node.unique_id if node is not None else expectation_id(project_name, suite, label)[1]

    kw = {"compiled": False, "code": None, "relation": None}
    if "expectation" in r.extra and r.extra["expectation"] != "(all)":  # validate: one expectation
        status = _test_status(str(r.extra.get("status") or r.status))
        return [
            _row(
                r,
                uid(str(r.extra["expectation"])),
                status,
                message=r.message or None,
                failures=r.failures,
                execution_time=r.execution_time,
                scope=r.extra,
                **kw,
            )
        ]
    listed = r.extra.get("tests")
    if isinstance(listed, list) and listed:  # build: a suite step with its expectations
        share = r.execution_time / len(listed)
        rows = []
        for t in listed:
            status = _test_status(str(t.get("status")))
            count = t.get("unexpected")
            msg = r.message if status in ("fail", "warn", "error") else None
            rows.append(
                _row(
                    r, uid(str(t["expectation"])), status, message=msg, failures=count, execution_time=share,
                    scope=t, **kw,
                )
            )  # fmt: skip
        return rows
    # skipped, up to date, errored or not built as a whole: every expectation of the suite says so
    nodes = tests.by_suite(suite)
    share = r.execution_time / max(1, len(nodes))
    status = _test_status(r.status)
    return [
        _row(r, n.unique_id, status, message=r.message or None, failures=None, execution_time=share, **kw)
        for n in nodes
    ]


def build_run_results(
    settings: Settings,
    results: list[NodeResult],
    *,
    command: str,
    args: dict[str, Any],
    elapsed: float,
    invocation_id: str,
    engine: str,
    tests: ExpectationIndex,
    started_at: str | None = None,
) -> dict[str, Any]:
    pname = settings.config.project.name
    rows: list[dict[str, Any]] = []
    for r in results:
        if r.kind == "test":
            rows += test_rows(r, tests, pname)
            continue
        rows.append(
            _row(
                r,
                r.unique_id,
                r.status,
                message=r.message or None,
                failures=r.failures,
                execution_time=r.execution_time,
                compiled=r.compiled_code is not None,
                code=r.compiled_code,
                relation=r.relation,
                rows=r.rows,
            )
        )
    return {
        "metadata": metadata(RUN_RESULTS_VERSION, settings, invocation_id, engine, started_at),
        "results": rows,
        "elapsed_time": round(elapsed, 4),
        "args": {**args, "which": command, "invocation_command": f"netflix-elt {command}"},
    }


def write_run_results(settings: Settings, results: list[NodeResult], **kw: Any) -> Path:
    path = settings.target_dir / "run_results.json"
    write_json(path, build_run_results(settings, results, **kw))
    return path


def read_run_results(target_dir: Path, *, required: bool = True) -> dict[str, Any]:
    """The last command's run_results.json; without it, ConfigError (exit 2) or {} when not required."""
    path = target_dir / "run_results.json"
    if not path.is_file():
        if not required:
            return {}
        from netflix_elt.errors import ConfigError

        raise ConfigError(f"{path} does not exist: there is no previous run to retry")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        if not required:
            return {}
        raise


def _read_manifest(target_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((target_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def command_of(run_results: dict[str, Any]) -> str:
    """The command that wrote run_results.json (dbt keeps it as `args.which`)."""
    return str((run_results.get("args") or {}).get("which") or "")


def read_results(target_dir: Path, run_results: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The rows of run_results.json with what dbt keeps in the manifest put back: `resource_type`,
    `name` (a test: its suite), and for tests `suite`, `expectation` and `severity`."""
    data = read_run_results(target_dir, required=False) if run_results is None else run_results
    nodes = _read_manifest(target_dir).get("nodes") or {}
    out = []
    for r in data.get("results") or []:
        uid = str(r.get("unique_id", ""))
        rtype = uid.split(".")[0]
        row = {**r, "resource_type": rtype, "name": uid.split(".")[-1]}
        if rtype == "test":
            meta = ((nodes.get(uid) or {}).get("meta") or {}).get("netflix_elt") or {}
            row.update(
                name=meta.get("suite") or uid.split(".")[2],
                suite=meta.get("suite"),
                expectation=meta.get("expectation"),
                severity=meta.get("severity"),
            )
        out.append(row)
    return out
