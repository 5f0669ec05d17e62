"""MovieLens dashboard: a plain Streamlit script over the marts.

Locally (`netflix-elt dashboard`) it reads the warehouse through `netflix_elt.connect()`; deployed to
Streamlit in Snowflake (`netflix-elt dashboard --deploy`), where netflix_elt is not installed, it uses
the app's own session (`get_active_session()`). Every chart reads one mart with one query
(movielens_queries.py). Only APIs of Streamlit 1.51 and 1.52 (Streamlit in Snowflake's warehouse
runtime and the local lock) and Streamlit's own charts, which render offline.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import streamlit as st

if str(Path(__file__).parent) not in sys.path:  # `streamlit run` adds the script's folder; AppTest does not
    sys.path.insert(0, str(Path(__file__).parent))
import movielens_queries as q  # noqa: E402

st.set_page_config(page_title="MovieLens", layout="wide")


@st.cache_resource(show_spinner=False)
def session():  # a snowflake.snowpark.Session
    try:
        import netflix_elt  # absent inside Snowflake
    except ImportError:
        from snowflake.snowpark.context import get_active_session

        return get_active_session()
    return netflix_elt.connect(command="netflix-elt dashboard")


@st.cache_data(ttl=300, show_spinner=False)
def query(sql: str) -> pd.DataFrame:
    df = session().sql(sql).to_pandas()
    df.columns = [c.lower() for c in df.columns]
    return df


st.title("MovieLens")
try:
    head = query(q.HEADLINE).iloc[0]
except Exception as e:  # the warehouse lock's message (a build is writing), a missing mart: one clear line
    st.error(f"The warehouse cannot be read: {str(e).strip().splitlines()[0]}")
    st.caption("Build the marts with `netflix-elt build`, or wait for the running command, then reload.")
    st.stop()

ratings = int(head["ratings"] or 0)
cols = st.columns(6)
cols[0].metric("Ratings", f"{ratings:,}")
cols[1].metric("Users", f"{int(head['users']):,}")
cols[2].metric("Movies", f"{int(head['movies']):,}")
cols[3].metric("First rating", str(head["first_day"]))
cols[4].metric("Last rating", str(head["last_day"]))
share = head["known_release_share"]
cols[5].metric("Ratings with a known release date", "-" if pd.isna(share) else f"{float(share):.1%}")

left, right = st.columns(2)
with left:
    st.subheader("Ratings per month")
    st.line_chart(query(q.MONTHLY), x="rating_month", y="num_ratings")
with right:
    st.subheader("Rating distribution")
    dist = query(q.DISTRIBUTION)
    dist["rating"] = dist["rating"].map(lambda r: f"{float(r):.1f}")
    st.bar_chart(dist, x="rating", y="num_ratings")

genres = query(q.GENRES)
left, right = st.columns(2)
with left:
    st.subheader("Ratings per genre")
    st.bar_chart(genres, x="genre", y="num_ratings")
with right:
    st.subheader("Average rating per genre")
    st.bar_chart(genres, x="genre", y="avg_rating")

st.subheader("Top-rated movies")
most = max(int(head["most_ratings"] or 1), 1)
left, right = st.columns(2)
min_ratings = left.slider("Minimum number of ratings", 1, max(most, 2), min(q.ANALYSIS_MIN_RATINGS, most))
genre = right.selectbox("Genre", ["All genres", *sorted(genres["genre"])])
top = query(q.top_rated(min_ratings, None if genre == "All genres" else genre))
st.dataframe(top, hide_index=True)

st.subheader("Top tags")
st.bar_chart(query(q.TAGS), x="tag", y="num_uses", horizontal=True)
