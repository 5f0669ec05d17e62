"""dbt-style progress: one line per node or test as it finishes, then a closing summary, failures first.

A line reads like dbt's (`12 of 58 PASS not_null(user_id) on fct_ratings ..... [PASS in 0.12s]`),
padded with dots to 80 columns and never cut: a long name makes a longer line. The summary lists
every error, then every warning, each with its message and failing sample, then dbt's
`Done. PASS=.. WARN=.. ERROR=.. SKIP=.. TOTAL=..`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text

from netflix_elt.cli.events import emit
from netflix_elt.cli.output import console, emit_text

LINE_WIDTH = 80  # dbt's printer width: dots pad a line's status to this column
WORD = {"success": "OK", "pass": "PASS", "fail": "FAIL", "warn": "WARN", "error": "ERROR", "skipped": "SKIP"}
STYLE = {"OK": "green", "PASS": "green", "FAIL": "red", "ERROR": "red", "WARN": "yellow", "SKIP": "yellow"}
LEVEL = {"OK": "info", "PASS": "info", "SKIP": "info", "WARN": "warn", "FAIL": "error", "ERROR": "error"}
# the buckets of dbt's `Done.` line
BUCKET = {"OK": "PASS", "PASS": "PASS", "WARN": "WARN", "FAIL": "ERROR", "ERROR": "ERROR", "SKIP": "SKIP"}
NOT_BUILT = "not built"


def word(status: str) -> str:
    """dbt's word for a status: success is OK, a test's pass is PASS, 'not built' is SKIP."""
    return "SKIP" if status == NOT_BUILT else WORD.get(status, status.upper())


def fancy_line(progress: str, status: str, message: str, tail: str, elapsed: float | None) -> Text:
    """`{progress}{STATUS} {message} ..... [{tail} in 0.12s]` as rich Text (user text is never markup)."""
    style = STYLE.get(status, "")
    head = Text(progress)
    head.append(status, style=style)
    head.append(f" {message} ")
    timing = "" if elapsed is None else f" in {elapsed:.2f}s"
    closing = f" [{tail}{timing}]"
    head.append("." * max(3, LINE_WIDTH - len(head.plain) - len(closing)), style="dim")
    head.append(" [")
    head.append(tail, style=style)
    head.append(f"{timing}]")
    return head


def _first(message: str) -> str:
    lines = message.strip().splitlines()
    return lines[0] if lines else ""


@dataclass
class Failure:
    """One entry of the closing summary: what failed, why, and a few failing rows."""

    what: str  # `test rating_in_half_stars on fct_ratings`, `transform stg_items`
    status: str  # FAIL, ERROR, WARN
    node: str
    message: str = ""
    sample: list[Any] = field(default_factory=list)
    where: str = ""  # the file to look at

    @property
    def is_error(self) -> bool:
        return self.status in ("FAIL", "ERROR")


@dataclass
class Progress:
    """The lines of one command: counts what finished and collects the failures for the summary."""

    noun: str = "nodes"  # what TOTAL counts: nodes (run, build) or tests (validate)
    counts: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)

    # run, build, snapshot, retry: one line per graph node --------------------------------------
    def node(self, index: int, total: int, res: Any) -> None:
        """A finished node of the runner (the CLI's reporter); a test suite adds one line per expectation."""
        w = word(res.status)
        self.counts[BUCKET[w]] += 1
        self.kinds["test suite" if res.kind == "test" else res.kind] += 1
        rows = None if res.rows is None else f"{res.rows:,}"
        detail = _first(res.message) if res.status != "error" else _first(res.message)[:200]
        message = f"{res.kind} {res.name}" + (f" {detail}" if detail else "")
        tail = w if rows is None or w != "OK" else f"{w} {rows}"
        if res.status in ("fail", "warn") and res.failures:
            tail = f"{w} {res.failures}"
        line = fancy_line(f"{index} of {total} ", w, message, tail, res.execution_time)
        emit(
            "node_result",
            level=LEVEL[w],
            node=res.name,
            status=res.status,
            elapsed=res.execution_time,
            message=res.message,
            data={
                "index": index,
                "total": total,
                "kind": res.kind,
                "unique_id": res.unique_id,
                "rows": res.rows,
                "relation": res.relation,
                **({"deferred": res.extra["deferred"]} if (res.extra or {}).get("deferred") else {}),
            },
            text=lambda: emit_text(line),
        )
        self._detail(res)
        tests = (res.extra or {}).get("tests") if res.kind == "test" else None
        for t in tests or ():
            self._suite_test(res, t)
        if res.status == "error":
            self.failures.append(Failure(f"{res.kind} {res.name}", w, res.name, res.message))

    def _detail(self, res: Any) -> None:
        """--log-level debug: where the node's relation and compiled SQL are, and its whole message."""
        parts = [p for p in (res.relation, getattr(res, "compiled_path", None)) if p]
        message = " <- ".join(parts) + (f": {res.message}" if res.message else "")
        emit(
            "node_detail",
            level="debug",
            node=res.name,
            status=res.status,
            message=message,
            data={"relation": res.relation, "compiled_path": getattr(res, "compiled_path", None)},
            text=lambda: emit_text(Text(f"    {res.name}: {message}", style="dim")),
        )

    def _suite_test(self, res: Any, t: dict[str, Any]) -> None:
        """One expectation of a suite `build` ran: an indented line under its suite's."""
        suite = (res.extra or {}).get("suite", res.name)
        w = word(t["status"])
        unexpected = t.get("unexpected")
        tail = f"{w} {unexpected:,}" if w in ("FAIL", "WARN") and unexpected else w
        line = fancy_line("    ", w, f"{t['expectation']} on {suite}", tail, None)
        node = f"{suite}.{t['expectation']}"
        emit(
            "test_result",
            level=LEVEL[w],
            node=node,
            status=t["status"],
            message=t.get("message") or "",
            data={
                "suite": suite,
                "expectation": t["expectation"],
                "severity": t.get("severity"),
                "unexpected": unexpected,
                "sample": t.get("sample") or [],
            },  # fmt: skip
            text=lambda: emit_text(line),
        )
        if w in ("FAIL", "ERROR", "WARN"):
            what = f"test {t['expectation']} on {suite}"
            self.failures.append(
                Failure(
                    what, w, node, _test_message(t.get("severity"), unexpected, t.get("message")), t.get("sample") or []
                )
            )

    # validate: one line per expectation -------------------------------------------------------
    def test(self, index: int, total: int, r: Any, where: str = "") -> None:
        """A finished expectation of `validate` (an ExpectationResult)."""
        w = word(r.status)
        self.counts[BUCKET[w]] += 1
        self.kinds["test"] += 1
        unexpected = r.unexpected_count
        tail = f"{w} {unexpected:,}" if w in ("FAIL", "WARN") and unexpected else w
        message = f"{r.expectation} on {r.suite}"
        if w in ("SKIP", "ERROR") and r.message:
            message += f" ({_first(r.message)})"
        line = fancy_line(f"{index} of {total} ", w, message, tail, r.execution_time if w != "SKIP" else None)
        node = f"{r.suite}.{r.expectation}"
        emit(
            "test_result",
            level=LEVEL[w],
            node=node,
            status=r.status,
            elapsed=r.execution_time,
            message=r.message,
            data={
                "index": index,
                "total": total,
                "suite": r.suite,
                "expectation": r.expectation,
                "gx_type": r.gx_type,
                "severity": r.severity,
                "unexpected": unexpected,
                "relation": r.relation,
                "sample": json.loads(r.sample_json()),
            },
            text=lambda: emit_text(line),
        )
        if w in ("FAIL", "ERROR", "WARN"):
            msg = _test_message(r.severity, unexpected, r.message)
            self.failures.append(Failure(f"test {r.expectation} on {r.suite}", w, node, msg, list(r.sample), where))

    # the closing summary ----------------------------------------------------------------------
    def summary(self, elapsed: float, ok: bool) -> None:
        """Finished running ..., the failures (errors first, then warnings), then dbt's Done. line."""
        total = sum(self.counts.values())
        errors = [f for f in self.failures if f.is_error]
        warnings = [f for f in self.failures if not f.is_error]
        ran = ", ".join(f"{n} {_plural(k, n)}" for k, n in sorted(self.kinds.items())) or f"0 {self.noun}"
        if errors or warnings:
            closing = f"Completed with {_count(len(errors), 'error')} and {_count(len(warnings), 'warning')}:"
        else:
            closing = "Completed successfully"
        emit(
            "finished",
            level="info" if ok else "error",
            status="success" if ok else "error",
            elapsed=elapsed,
            message=f"Finished running {ran} in {elapsed:.2f}s. {closing}",
            data={"kinds": dict(self.kinds)},
            text=lambda: _print_finished(ran, elapsed, closing, ok),
        )
        for f in [*errors, *warnings]:
            emit(
                "failure",
                level="error" if f.is_error else "warn",
                node=f.node,
                status=f.status.lower(),
                message=f.message,
                data={"what": f.what, "sample": f.sample, "where": f.where},
                text=lambda f=f: _print_failure(f),
            )
        parts = {k: self.counts.get(k, 0) for k in ("PASS", "WARN", "ERROR", "SKIP")}
        done = "Done. " + " ".join(f"{k}={v}" for k, v in parts.items()) + f" TOTAL={total}"
        color = "green" if ok else "red"
        emit(
            "summary",
            level="info" if ok else "error",
            status="success" if ok else "error",
            elapsed=elapsed,
            message=done,
            data={**{k.lower(): v for k, v in parts.items()}, "total": total},
            text=lambda: emit_text(Text.assemble(("Done.", color), done.removeprefix("Done."))),
        )


def _test_message(severity: str | None, unexpected: int | None, message: str | None) -> str:
    parts = []
    if unexpected:
        parts.append(f"{unexpected:,} unexpected")
    if message:
        parts.append(_first(message))
    if severity and severity != "-":
        parts.append(f"severity {severity}")
    return ", ".join(parts)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _plural(kind: str, n: int) -> str:
    return kind if n == 1 else kind + ("es" if kind.endswith("s") else "s")


def _print_finished(ran: str, elapsed: float, closing: str, ok: bool) -> None:
    console.print()
    emit_text(Text(f"Finished running {ran} in {elapsed:.2f}s."))
    console.print()
    style = "green" if closing.startswith("Completed successfully") else "yellow" if ok else "red"
    emit_text(Text(closing, style=style))


def _print_failure(f: Failure) -> None:
    label = {"FAIL": "Failure", "ERROR": "Error", "WARN": "Warning"}[f.status]
    head = Text(f"\n{label} in {f.what}", style="red" if f.is_error else "yellow")
    if f.where:
        head.append(f" ({f.where})", style="dim")
    emit_text(head)
    for line in f.message.strip().splitlines()[:20]:
        emit_text(Text(f"  {line}"))
    if f.sample:
        emit_text(Text("  failing sample: " + json.dumps(f.sample, default=str), style="dim"))


def expand_not_built(suite: Any, results: Sequence[Any]) -> list[Any]:
    """A suite whose table is not built has one `(all)` result: one SKIP line per expectation instead,
    so that `i of N` counts the expectations the suite files declare."""
    from dataclasses import replace

    labels = [spec.label for spec in getattr(suite, "expectations", ())]
    out: list[Any] = []
    for r in results:
        if r.status == NOT_BUILT and r.expectation == "(all)" and labels:
            out += [replace(r, expectation=label) for label in labels]
        else:
            out.append(r)
    return out


class ValidationLines:
    """The `on_suite` callback of validate: one numbered line per expectation as its suite finishes."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.done = 0

    def __call__(self, suite: Any, results: Sequence[Any], planned: int) -> None:
        where = _relpath(getattr(suite, "file", ""))
        for r in expand_not_built(suite, results):
            self.done += 1
            self.progress.test(self.done, max(planned, self.done), r, where)


def print_validation_results(progress: Progress, results: Iterable[Any], suites: dict[str, Any]) -> None:
    """Lines for results that were not printed as they finished (retry of validate)."""
    lines = [(suites.get(r.suite), x) for r in results for x in expand_not_built(suites.get(r.suite), [r])]
    for i, (suite, r) in enumerate(lines, 1):
        progress.test(i, len(lines), r, _relpath(getattr(suite, "file", "")))


def _relpath(path: Any) -> str:
    import os

    if not path:
        return ""
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)
