"""KnownRelations: one catalog query per command, then what the command built."""

from __future__ import annotations

from types import SimpleNamespace

from netflix_elt.known_relations import KnownRelations


class CatalogSpy:
    def __init__(self) -> None:
        self.catalog_queries = 0
        self.asked: list[str] = []

    def relations(self, database: str) -> list[tuple[str, str, str]]:
        self.catalog_queries += 1
        return [("DEV", "DIM_MOVIES", "TABLE"), ("RAW", "RAW_MOVIES", "TABLE"), ("PROD", "Mixed_Case", "VIEW")]

    def relation_exists(self, relation: str) -> bool:
        self.asked.append(relation)
        return relation == "OTHER.DEV.X"


def test_one_catalog_query_answers_every_question_of_the_command() -> None:
    spy = CatalogSpy()
    known = KnownRelations(spy, SimpleNamespace(database="movielens"))  # type: ignore[arg-type]
    known.add("MOVIELENS.DEV.EARLY")  # before the first question: the catalog read will have it or not
    assert spy.catalog_queries == 0  # nothing is read until asked
    assert known.exists("MOVIELENS.DEV.DIM_MOVIES")
    assert known.exists("movielens.prod.MIXED_CASE")  # Snowflake folds unquoted names to upper case
    assert not known.exists("MOVIELENS.DEV.SRC_MOVIES")
    assert not known.exists("MOVIELENS.DEV.EARLY")
    known.add("MOVIELENS.DEV.SRC_MOVIES")  # built by this command
    assert known.exists("MOVIELENS.DEV.SRC_MOVIES")
    assert spy.catalog_queries == 1 and spy.asked == []


def test_a_relation_of_another_database_is_asked_on_its_own() -> None:
    spy = CatalogSpy()
    known = KnownRelations(spy, SimpleNamespace(database="MOVIELENS"))  # type: ignore[arg-type]
    assert known.exists("OTHER.DEV.X") and not known.exists("OTHER.DEV.Y")
    assert spy.asked == ["OTHER.DEV.X", "OTHER.DEV.Y"] and spy.catalog_queries == 0
