"""`netflix-elt retry`: rerun only what failed or was skipped in the last run, as `dbt retry` does.

The plan comes from `target/run_results.json` (the last run, build, snapshot or validate):
transforms and snapshots that errored, failed their tests or were skipped because an upstream
did not succeed, or the suites of failing expectations. Everything else is left as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from netflix_elt.artifacts import command_of, read_results, read_run_results
from netflix_elt.config import Settings
from netflix_elt.errors import ConfigError

RETRIED = ("error", "fail", "skipped", "runtime error")
COMMANDS = ("run", "build", "snapshot", "validate")


@dataclass
class RetryPlan:
    """What to rerun: the last command, the node (or suite) names, and that command's arguments."""

    command: str
    names: list[str]
    args: dict[str, Any] = field(default_factory=dict)
    invocation_id: str = ""


def plan_retry(settings: Settings) -> RetryPlan:
    """Read the last run's results; ConfigError (exit 2) when there is none or it cannot be retried."""
    data = read_run_results(settings.target_dir)
    command = command_of(data)
    if command not in COMMANDS:
        raise ConfigError(f"the last command was {command!r}; retry reruns only {', '.join(COMMANDS)}")
    names: list[str] = []
    for r in read_results(settings.target_dir, data):  # a test row's name is its suite (from the manifest)
        if r.get("status") not in RETRIED:
            continue
        name = r.get("name")
        if name and name not in names:
            names.append(str(name))
    invocation = str(data.get("metadata", {}).get("invocation_id", ""))
    args = {k: v for k, v in (data.get("args") or {}).items() if k not in ("which", "invocation_command")}
    return RetryPlan(command, names, args, invocation)
