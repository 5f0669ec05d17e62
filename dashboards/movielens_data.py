"""The dashboard's data: one Snowpark session per process and one cached query per chart.

A module of its own (not the script) so that `netflix-elt dashboard` can call `warm()` before its
server answers: Streamlit's caches are per process and keyed by this module's functions, so the
first visitor's page then runs no query. Inside Snowflake, where netflix_elt is not installed, the
session is the app's own (`get_active_session()`).
"""

from __future__ import annotations

import movielens_queries as q
import pandas as pd
import streamlit as st

TTL_SECONDS = 300  # a build on Snowflake may change the marts meanwhile; the embedded engine cannot


@st.cache_resource(show_spinner=False)
def session():  # a snowflake.snowpark.Session
    try:
        import netflix_elt  # absent inside Snowflake
    except ImportError:
        from snowflake.snowpark.context import get_active_session

        return get_active_session()
    return netflix_elt.connect(command="netflix-elt dashboard")


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def query(sql: str) -> pd.DataFrame:
    """The rows of one chart's query, column names lower-cased (a copy per caller: st.cache_data)."""
    df = session().sql(sql).to_pandas()
    df.columns = [c.lower() for c in df.columns]
    return df


def warm() -> None:
    """Run every query of the first page once, so that page is served from the cache."""
    for sql in q.chart_queries().values():
        query(sql)
