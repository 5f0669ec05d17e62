"""MovieLens dashboard: a plain Streamlit script over the marts.

Locally (`netflix-elt dashboard`) it reads the warehouse through `netflix_elt.connect()`; deployed to
Streamlit in Snowflake (`netflix-elt dashboard --deploy`, container runtime) it uses the app's own
session (movielens_data.py). Every chart reads one mart with one query (movielens_queries.py). APIs of
Streamlit 1.52.2, the version of the local lock and of requirements.txt. The charts are Vega-Lite
specs given to Streamlit's `st.vega_lite_chart`: drawn offline, without Altair building and
validating a chart in Python on every run, and with one layer each for the browser to draw. Each
chart's height is Streamlit's (`height=` in pixels), not the spec's: Streamlit's front end builds a
chart's Vega view again whenever the chart's box changes size, and a box whose height comes from its
content grows once the chart is drawn, which cost every chart a third build in the browser.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import streamlit as st

if str(Path(__file__).parent) not in sys.path:  # `streamlit run` adds the script's folder; AppTest does not
    sys.path.insert(0, str(Path(__file__).parent))
import movielens_queries as q  # noqa: E402
from movielens_data import query  # noqa: E402

CHART_HEIGHT = 260  # pixels, axes included
TAG_BAR = 22  # pixels a top tag: one readable label each
TAG_AXIS = 60  # pixels for the tag chart's x axis and its title


def bars(x: str, y: str, x_type: str, *, title_x: str, title_y: str, sort: str | None = None) -> dict:
    """One bar layer: `x` categories (in `sort` order), `y` values; a tooltip shows both."""
    x_channel = {"field": x, "type": x_type, "title": title_x, "sort": sort}
    if x_type == "ordinal":  # half stars: short labels, kept level
        x_channel["axis"] = {"labelAngle": 0}
    return {
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {"x": x_channel, "y": {"field": y, "type": "quantitative", "title": title_y}},
    }


def chart(data: pd.DataFrame, spec: dict, height: int = CHART_HEIGHT) -> None:
    """The chart in a box of a fixed height (see the module's docstring), as wide as its column."""
    st.vega_lite_chart(data, spec, width="stretch", height=height)


st.set_page_config(page_title="MovieLens", layout="wide")
st.title("MovieLens")
try:  # every first-page frame before the first element: the page arrives in one burst
    head = query(q.HEADLINE).iloc[0]
    monthly, dist, genres, tags = (query(sql) for sql in (q.MONTHLY, q.DISTRIBUTION, q.GENRES, q.TAGS))
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
    line = {
        "mark": {"type": "line", "tooltip": True},
        "encoding": {
            "x": {"field": "rating_month", "type": "temporal", "title": "Month"},
            "y": {"field": "num_ratings", "type": "quantitative", "title": "Ratings"},
        },
    }
    chart(monthly[["rating_month", "num_ratings"]], line)
with right:
    st.subheader("Rating distribution")
    dist["rating"] = dist["rating"].map(lambda r: f"{float(r):.1f}")
    chart(dist, bars("rating", "num_ratings", "ordinal", title_x="Stars", title_y="Ratings"))

left, right = st.columns(2)
with left:
    st.subheader("Ratings per genre")
    chart(genres, bars("genre", "num_ratings", "nominal", title_x="Genre", title_y="Ratings", sort="-y"))
with right:
    st.subheader("Average rating per genre")
    chart(genres, bars("genre", "avg_rating", "nominal", title_x="Genre", title_y="Average rating", sort="-y"))

st.subheader("Top-rated movies")
most = max(int(head["most_ratings"] or 1), 1)
left, right = st.columns(2)
min_ratings = left.slider("Minimum number of ratings", 1, max(most, 2), min(q.ANALYSIS_MIN_RATINGS, most))
genre = right.selectbox("Genre", ["All genres", *sorted(genres["genre"])])
top = query(q.top_rated(min_ratings, None if genre == "All genres" else genre))
st.dataframe(top, hide_index=True)

st.subheader("Top tags")
tag_bars = {
    "mark": {"type": "bar", "tooltip": True},
    "encoding": {
        "y": {"field": "tag", "type": "nominal", "title": None, "sort": "-x"},
        "x": {"field": "num_uses", "type": "quantitative", "title": "Uses"},
    },
}
chart(tags, tag_bars, height=TAG_BAR * len(tags) + TAG_AXIS)
