"""The project's contracts hold under Snowflake's typing rules, not only on the embedded engine.

The embedded engine enforces every contract on each build (the fixture warehouse is built with
them). Snowflake is not reachable from the tests, so its side is derived independently: each
built transform's compiled SQL is typed by sqlglot's Snowflake dialect, starting from the RAW
tables' declared types and the seeds', node by node in build order (the emulator's own column
types are never read), and every contract column must be of that type's family.
"""

from __future__ import annotations

import json
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

from netflix_elt.compiler import relation_of
from netflix_elt.config import load_settings
from netflix_elt.contracts import canonical_type
from netflix_elt.ingest.load import METADATA_COLUMNS
from netflix_elt.registry import load_project
from tests.conftest import PROJECT_DIR

# what sqlglot cannot type, with the return type Snowflake documents for it
RETURNS = {"TO_TIMESTAMP_NTZ": "TIMESTAMP_NTZ"}


def _typed_functions(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Anonymous) and node.name.upper() in RETURNS and len(node.expressions) == 1:
        return exp.Cast(
            this=node.expressions[0], to=exp.DataType.build(RETURNS[node.name.upper()], dialect="snowflake")
        )
    return node


def test_contracts_match_snowflake_types_of_the_compiled_sql(fixture_workspace) -> None:
    ws = fixture_workspace
    settings, project = ws.settings, ws.project
    schema: dict[str, dict[str, dict[str, dict[str, str]]]] = {}

    def put(relation: str, columns: dict[str, str]) -> None:
        db, sch, table = relation.split(".")
        schema.setdefault(db, {}).setdefault(sch, {})[table] = columns

    for src in settings.config.sources.values():
        put(
            settings.fqn(settings.raw_schema, src.table),
            {**{c.upper(): t for c, t in src.columns.items()}, **METADATA_COLUMNS},
        )
    for name, seed in settings.config.seeds.items():
        put(relation_of(settings, project[name]), {c.upper(): t for c, t in seed.columns.items()})

    compiler = ws.compiler()
    checked, wrong = 0, []
    for name in project.order:
        node = project[name]
        if node.kind != "transform" or not node.builds:
            continue
        tree = sqlglot.parse_one(compiler.select_sql(node), read="snowflake").transform(_typed_functions)
        tree = qualify(tree, schema=schema, dialect="snowflake", validate_qualify_columns=False)
        tree = annotate_types(tree, schema=schema, dialect="snowflake")
        types = {s.alias_or_name.upper(): s.type.sql("snowflake") for s in tree.selects}
        put(relation_of(settings, node), types)
        for col in node.contract.columns if node.contract else ():
            checked += 1
            if canonical_type(types.get(col.name, "UNKNOWN")) != col.family:
                wrong.append((name, col.name, col.data_type, types.get(col.name)))
    assert wrong == []
    declared = sum(len(n.contract.columns) for n in project.nodes.values() if n.contract)
    assert checked == declared > 40  # every contract column of the core and mart tables


def test_the_fixture_warehouse_was_built_with_its_contracts(built_fixture_warehouse: Path) -> None:
    """conftest's build ran every contracted node through Materialization.apply: all succeeded."""
    results = json.loads((built_fixture_warehouse / "build_run_results.json").read_text())["results"]
    built = {r["unique_id"].split(".")[-1]: r["status"] for r in results}
    project = load_project(load_settings(PROJECT_DIR))
    contracted = {n.name for n in project.nodes.values() if n.contract}
    assert contracted and {built[n] for n in contracted} == {"success"}
