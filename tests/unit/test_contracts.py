"""Contracts without a warehouse: Snowflake's type synonyms, the mismatch rows and table, the
declarations load_project accepts or refuses, and the manifest's `contract` (dbt's v12 schema)."""

from __future__ import annotations

import ast
import gzip
import json
import types
from pathlib import Path

import jsonschema
import pytest
from snowflake.snowpark import types as T

from netflix_elt.artifacts import build_manifest
from netflix_elt.config import load_settings
from netflix_elt.contracts import (
    ActualColumn,
    Contract,
    ContractColumn,
    canonical_type,
    mismatch_table,
    mismatches,
    snowpark_type,
)
from netflix_elt.errors import GraphError
from netflix_elt.registry import load_project, spec_of, transform, with_inputs
from tests.conftest import PROJECT_DIR

SCHEMAS = Path(__file__).resolve().parents[1] / "dbt_schemas"


@pytest.mark.parametrize(
    ("declared", "family"),
    [
        ("NUMBER", "NUMBER"),
        ("number(38,0)", "NUMBER"),
        ("NUMBER(18, 0)", "NUMBER"),
        ("DECIMAL", "NUMBER"),
        ("INT", "NUMBER"),
        ("integer", "NUMBER"),
        ("BIGINT", "NUMBER"),
        ("NUMBER(10,2)", "NUMBER(scale 2)"),
        ("NUMERIC(12, 2)", "NUMBER(scale 2)"),
        ("VARCHAR", "VARCHAR"),
        ("varchar(16777216)", "VARCHAR"),
        ("TEXT", "VARCHAR"),
        ("STRING", "VARCHAR"),
        ("FLOAT", "FLOAT"),
        ("DOUBLE", "FLOAT"),
        ("double precision", "FLOAT"),
        ("REAL", "FLOAT"),
        ("TIMESTAMP_NTZ", "TIMESTAMP_NTZ"),
        ("TIMESTAMP_NTZ(9)", "TIMESTAMP_NTZ"),
        ("DATETIME", "TIMESTAMP_NTZ"),
        ("TIMESTAMP", "TIMESTAMP_NTZ"),
        ("TIMESTAMP_LTZ", "TIMESTAMP_LTZ"),
        ("TIMESTAMP_TZ", "TIMESTAMP_TZ"),
        ("DATE", "DATE"),
        ("BOOLEAN", "BOOLEAN"),
        ("ARRAY", "ARRAY"),
        ("VARIANT", "VARIANT"),
    ],
)
def test_snowflake_synonyms_fold_to_one_family(declared: str, family: str) -> None:
    assert canonical_type(declared) == family


@pytest.mark.parametrize("declared", ["INTEGR", "INT(5)", "VARCHAR(10,2)", "DATE(3)", "NUMBER(", "", "MONEY"])
def test_what_is_not_a_snowflake_type_has_no_family(declared: str) -> None:
    assert canonical_type(declared) is None


@pytest.mark.parametrize(
    ("datatype", "family"),
    [
        (T.LongType(), "NUMBER"),
        (T.DecimalType(38, 0), "NUMBER"),
        (T.DecimalType(38, 6), "NUMBER(scale 6)"),
        (T.DoubleType(), "FLOAT"),
        (T.StringType(), "VARCHAR"),
        (T.DateType(), "DATE"),
        (T.TimestampType(T.TimestampTimeZone.NTZ), "TIMESTAMP_NTZ"),
        (T.TimestampType(T.TimestampTimeZone.LTZ), "TIMESTAMP_LTZ"),
        (T.TimestampType(T.TimestampTimeZone.TZ), "TIMESTAMP_TZ"),
        (T.TimestampType(), "TIMESTAMP_NTZ"),
        (T.ArrayType(T.StringType()), "ARRAY"),
        (T.VariantType(), "VARIANT"),
        (T.BooleanType(), "BOOLEAN"),
    ],
)
def test_snowpark_types_map_to_the_same_families(datatype: object, family: str) -> None:
    assert snowpark_type(datatype) == family


CONTRACT = Contract(
    (
        ContractColumn("ID", "INT", not_null=True),
        ContractColumn("NAME", "TEXT"),
        ContractColumn("TAGS", "ARRAY"),
    )
)


def test_a_kept_contract_has_no_mismatch_whatever_the_order() -> None:
    actual = [ActualColumn("TAGS", "ARRAY"), ActualColumn("NAME", "VARCHAR"), ActualColumn("ID", "NUMBER", nulls=0)]
    assert mismatches(CONTRACT, actual) == []


def test_every_kind_of_mismatch_is_a_row() -> None:
    actual = [ActualColumn("ID", "FLOAT"), ActualColumn("EXTRA", "DATE"), ActualColumn("TAGS", "VARIANT")]
    rows = mismatches(CONTRACT, actual)
    assert rows == [
        ("ID", "INT NOT NULL", "FLOAT"),
        ("NAME", "TEXT", "(missing)"),
        ("TAGS", "ARRAY", "VARIANT"),
        ("EXTRA", "(not in the contract)", "DATE"),
    ]
    # an engine that reports ARRAY as VARIANT (the emulator) is not held to what it cannot say
    assert ("TAGS", "ARRAY", "VARIANT") not in mismatches(CONTRACT, actual, {"ARRAY", "OBJECT"})
    assert mismatch_table(rows).splitlines() == [
        "  column  expected               actual",
        "  ID      INT NOT NULL           FLOAT",
        "  NAME    TEXT                   (missing)",
        "  TAGS    ARRAY                  VARIANT",
        "  EXTRA   (not in the contract)  DATE",
    ]


def test_nulls_break_only_a_not_null_column() -> None:
    actual = [ActualColumn("ID", "NUMBER", nulls=3), ActualColumn("NAME", "VARCHAR"), ActualColumn("TAGS", "ARRAY")]
    assert mismatches(CONTRACT, actual) == [("ID", "INT NOT NULL", "NUMBER with 3 NULL(s)")]


def _spec(**kw: object):
    @transform(layer="core", materialized=kw.pop("materialized", "table"), **kw)  # type: ignore[arg-type]
    def t_items(src):
        return src

    return with_inputs(spec_of(t_items))


def test_both_ways_of_declaring_give_the_same_contract() -> None:
    inline = _spec(columns={"id": "the id"}, contract={"id": "int not null"})
    typed = _spec(columns={"id": {"description": "the id", "data_type": "INT", "not_null": True}}, contract=True)
    assert inline.contract == typed.contract == Contract((ContractColumn("ID", "INT", not_null=True),))
    assert inline.columns == typed.columns == {"ID": "the id"}
    assert _spec(columns={"id": "the id"}).contract is None


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"contract": {"id": "INTEGR"}}, r"contract column 'ID': unknown type 'INTEGR'"),
        ({"contract": ["id"]}, r"contract= must be True or a dict of column -> type, got list"),
        ({"contract": {}}, r"contract=\{\} declares no columns"),
        ({"columns": {"id": "x"}, "contract": {"id": "INT", "b": "INT"}}, r"contract column\(s\) b are not among"),
        (
            {"columns": {"id": "x", "b": "y"}, "contract": {"id": "INT"}},
            r"documented column\(s\) b have no contract type",
        ),
        (
            {"columns": {"id": "x"}, "contract": True},
            r"contract=True needs a data_type for every column in columns= \(missing: id\)",
        ),
        ({"contract": True}, r"contract=True needs a data_type .*\(missing: no columns declared\)"),
        (
            {"columns": {"id": {"data_type": "INT"}}},
            r"columns declare data_type but the transform has no contract=True",
        ),
        (
            {"columns": {"id": {"data_type": "INT", "typo": 1}}, "contract": True},
            r"columns\['id'\] has unknown key\(s\) \['typo'\]",
        ),
        (
            {"columns": {"id": {"data_type": "INT", "not_null": "yes"}}, "contract": True},
            r"columns\['id'\]: not_null must be true or false, got 'yes'",
        ),
        (
            {"contract": {"id": "INT"}, "materialized": "ephemeral"},
            r"a contract needs a built relation; 'ephemeral' transforms have none",
        ),
    ],
)
def test_bad_declarations_fail_naming_the_transform(kw: dict, message: str) -> None:
    with pytest.raises(GraphError, match=r"transform 't_items' \(.*test_contracts.py\): " + message):
        _spec(**kw)


def test_a_bad_declaration_fails_load_project() -> None:
    @transform(layer="core", materialized="table", contract={"id": "NUMBR"})
    def broken(src_movies):
        return src_movies

    mod = types.ModuleType("contracts_bad")
    broken.__module__ = mod.__name__
    mod.broken = broken  # type: ignore[attr-defined]
    with pytest.raises(GraphError, match=r"transform 'broken' .*unknown type 'NUMBR'") as e:
        load_project(load_settings(PROJECT_DIR), [mod])
    assert e.value.exit_code == 2


def _declared_contracts() -> dict[str, dict[str, str]]:
    """The contract= dicts of the project's transforms, read from their source with ast (not the registry)."""
    out = {}
    for path in (PROJECT_DIR / "transforms").rglob("*.py"):
        for fn in ast.parse(path.read_text()).body:
            if not isinstance(fn, ast.FunctionDef):
                continue
            for deco in fn.decorator_list:
                if isinstance(deco, ast.Call) and getattr(deco.func, "id", "") == "transform":
                    for kw in deco.keywords:
                        if kw.arg == "contract":
                            out[fn.name] = ast.literal_eval(kw.value)
    return out


def test_the_manifest_carries_the_project_contracts_in_dbt_v12() -> None:
    settings = load_settings(PROJECT_DIR)
    manifest = build_manifest(load_project(settings), settings, "inv", engine="embedded")
    declared = _declared_contracts()
    layers = {p.parent.name for p in (PROJECT_DIR / "transforms").rglob("*.py") if p.stem in declared}
    assert layers == {"core", "marts"}
    models = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    for name, node in models.items():
        contract = declared.get(name)
        assert node["config"]["contract"]["enforced"] is (contract is not None), name
        assert node["contract"]["enforced"] is (contract is not None)
        if contract is None:
            continue
        assert len(node["contract"]["checksum"]) == 64
        for col, decl in contract.items():
            entry = node["columns"][col]
            assert entry["data_type"] == decl.removesuffix(" NOT NULL")
            assert [c["type"] for c in entry["constraints"]] == (["not_null"] if decl.endswith("NOT NULL") else [])
    assert {n for n in declared} <= set(models)
    schema = json.loads(gzip.decompress((SCHEMAS / "manifest-v12.json.gz").read_bytes()))
    errors = [
        f"{list(e.absolute_path)}: {e.message[:200]}"
        for e in jsonschema.Draft202012Validator(schema).iter_errors(json.loads(json.dumps(manifest)))
    ]
    assert errors == []


def test_the_sql_of_the_checks_parses_as_snowflake() -> None:
    import sqlglot

    from netflix_elt.contracts import null_count_sql
    from netflix_elt.freshness import freshness_sql

    counts = null_count_sql('SELECT "A", "B" FROM DB.S.T UNION ALL SELECT 1, 2', ["A", "B"])
    assert sqlglot.parse_one(counts, read="snowflake").sql("snowflake").startswith('SELECT COUNT(*) - COUNT("A")')
    assert sqlglot.parse_one(freshness_sql("DB.RAW.RAW_RATINGS", "_LOADED_AT"), read="snowflake")
