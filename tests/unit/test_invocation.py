"""One Invocation per command: every builder of a command sees the same id and run_started_at."""

from __future__ import annotations

from types import SimpleNamespace

from netflix_elt.builders import Builders
from netflix_elt.invocation import Invocation
from netflix_elt.registry import Project


def test_every_node_of_a_command_shares_one_clock() -> None:
    inv = Invocation("build", "dev")
    b = Builders(SimpleNamespace(), Project([]), SimpleNamespace(session=None), inv, state=None)  # type: ignore[arg-type]
    first, second = b.context(), b.context()  # one per node
    assert first.compiler.run_started_at == second.compiler.run_started_at == inv.run_started_at
    assert first.invocation is second.invocation is inv


def test_each_command_gets_its_own_invocation() -> None:
    a, b = Invocation("run", "dev"), Invocation("run", "dev")
    assert a.id != b.id and a.run_started_at <= b.run_started_at
