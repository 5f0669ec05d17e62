"""The dashboard's SQL: one query per chart, each on one mart (the same SQL on Snowflake and the embedded engine).

Kept apart from the Streamlit script so the benchmark and the tests run exactly these queries. Names are
unqualified: the session's current schema is the target's (netflix_elt.connect) or the app's (Snowflake).
"""

from __future__ import annotations

TOP_N = 20
ANALYSIS_MIN_RATINGS = 101  # the analysis top_rated_movies: more than 100 ratings

HEADLINE = """
SELECT SUM(num_ratings) AS ratings,
       (SELECT COUNT(*) FROM dim_users) AS users,
       COUNT(*) AS movies,
       MAX(num_ratings) AS most_ratings,
       CAST(MIN(first_rating_at) AS DATE) AS first_day,
       CAST(MAX(last_rating_at) AS DATE) AS last_day,
       SUM(IFF(release_info_available = 'known', num_ratings, 0)) / NULLIF(SUM(num_ratings), 0) AS known_release_share
FROM mart_movie_stats
"""

MONTHLY = "SELECT rating_month, num_ratings, num_users, avg_rating FROM mart_ratings_monthly ORDER BY rating_month"

DISTRIBUTION = "SELECT rating, num_ratings FROM mart_rating_distribution ORDER BY rating"

GENRES = "SELECT genre, num_movies, num_ratings, avg_rating FROM mart_genre_stats ORDER BY num_ratings DESC, genre"

TAGS = f"SELECT tag, num_uses, num_movies FROM mart_tag_stats ORDER BY num_uses DESC, tag LIMIT {TOP_N}"


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def top_rated(min_ratings: int = ANALYSIS_MIN_RATINGS, genre: str | None = None) -> str:
    """The analysis' ranking (average, then count, then id) among movies with at least `min_ratings`."""
    where = f"num_ratings >= {int(min_ratings)}"
    if genre:  # whole genres only: '|Drama|' is inside '|Comedy|Drama|', never inside '|Dramatic|'
        where += f" AND '|' || genres || '|' LIKE {_literal('%|' + genre + '|%')}"
    return (
        "SELECT movie_id, movie_title, genres, release_year, avg_rating, num_ratings FROM mart_movie_stats "
        f"WHERE {where} ORDER BY avg_rating DESC, num_ratings DESC, movie_id LIMIT {TOP_N}"
    )


def chart_queries() -> dict[str, str]:
    """Every query a first render sends, by chart (the benchmark times each)."""
    return {
        "headline": HEADLINE,
        "ratings_per_month": MONTHLY,
        "rating_distribution": DISTRIBUTION,
        "genres": GENRES,
        "top_rated": top_rated(),
        "top_tags": TAGS,
    }
