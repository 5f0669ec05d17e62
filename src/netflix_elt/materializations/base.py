"""The small interface every materialization implements, and what a build gets to work with."""

from __future__ import annotations

import abc
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from netflix_elt.config import Settings
from netflix_elt.invocation import Invocation
from netflix_elt.registry import Node, Project

if TYPE_CHECKING:
    from netflix_elt.adapters import Adapter
    from netflix_elt.compiler import Compiler


@dataclass
class BuildResult:
    rows: int | None
    sql: list[str]
    message: str = ""
    merged: bool = False  # an incremental MERGE (rows beyond the watermark), not a full build


@dataclass
class BuildContext:
    """One command's settings, project, engine adapter, invocation and compiler, shared by every build."""

    settings: Settings
    project: Project
    adapter: Adapter
    invocation: Invocation
    compiler: Compiler = field(repr=False)
    # BuildState.basis of an incremental node, given its stream inputs (None: never rebuild on it)
    basis: Callable[[Node, Collection[str]], str] | None = field(default=None, repr=False)

    @classmethod
    def create(
        cls, settings: Settings, project: Project, adapter: Adapter, invocation: Invocation, **compiler_kwargs: bool
    ) -> BuildContext:
        from netflix_elt.compiler import Compiler

        return cls(
            settings, project, adapter, invocation, Compiler(project, settings, adapter, invocation, **compiler_kwargs)
        )

    def relation(self, node: Node) -> str:
        return self.compiler.relation(node)


class Materialization(abc.ABC):
    """How one kind of node is written to the warehouse (one class per materialization)."""

    # its build calls enforce_contract on the rows it is about to write (Incremental: the merged ones)
    enforces_contract_itself: ClassVar[bool] = False

    def apply(self, ctx: BuildContext, node: Node, *, full_refresh: bool = False) -> BuildResult:
        """Build the node once its contract holds: every strategy checks it before any write, here
        on the node's SELECT unless it `enforces_contract_itself` on what it writes."""
        if not self.enforces_contract_itself:
            self.enforce_contract(ctx, node, ctx.compiler.select_sql(node))
        return self.build(ctx, node, full_refresh=full_refresh)

    def enforce_contract(self, ctx: BuildContext, node: Node, sql: str) -> None:
        """ContractError unless `sql`, the rows about to be written, keeps the node's contract."""
        if node.contract is not None:
            from netflix_elt.contracts import enforce

            enforce(ctx.adapter, f"transform {node.name!r} ({node.file})", node.contract, sql)

    @abc.abstractmethod
    def build(self, ctx: BuildContext, node: Node, *, full_refresh: bool = False) -> BuildResult:
        """Materialize the node; a failed statement leaves the previous relation intact."""

    def compiled_text(self, ctx: BuildContext, node: Node, result: BuildResult) -> str:
        """What is written to target/compiled/ for the node: by default the last statement run."""
        return result.sql[-1] if result.sql else ctx.compiler.select_sql(node)
