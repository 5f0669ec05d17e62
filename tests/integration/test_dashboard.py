"""The BI marts and the Streamlit dashboard on the real ml-latest-small fixture, against plain DuckDB over the CSVs.

The app runs headless under Streamlit's AppTest in this process (its session is closed when the module
ends, so the browser test's server can open the warehouse); the CLI's refusals run as subprocesses.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from tests.conftest import FIXTURE_DIR, PROJECT_DIR

APP = PROJECT_DIR / "dashboards" / "movielens.py"
pytestmark = pytest.mark.timeout(300)


def csv(name: str) -> str:
    return f"read_csv('{FIXTURE_DIR / name}', header=true, quote='\"', escape='\"')"


@pytest.fixture(scope="module")
def ref() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name in ("ratings", "tags", "movies"):
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM {csv(name + '.csv')}")
    seed = PROJECT_DIR / "seeds" / "seed_movie_release_dates.csv"
    con.execute(f"CREATE TABLE seed AS SELECT * FROM read_csv('{seed}', header=true)")
    return con


def mart(ws, sql: str) -> list[tuple]:
    return sorted(tuple(r) for r in ws.session.sql(sql).collect())


# the marts ---------------------------------------------------------------------------------------
def test_mart_movie_stats_matches_duckdb(fixture_workspace, ref) -> None:
    got = mart(
        fixture_workspace,
        "SELECT movie_id, release_year, num_ratings, ROUND(avg_rating, 9), DATE_PART(EPOCH_SECOND, first_rating_at),"
        " DATE_PART(EPOCH_SECOND, last_rating_at), CAST(release_date AS VARCHAR), release_info_available"
        " FROM MOVIELENS.DEV.MART_MOVIE_STATS",
    )
    want = sorted(
        ref.execute(
            r"""
            SELECT m.movieId, TRY_CAST(NULLIF(regexp_extract(trim(m.title), '\((\d{4})\)\s*$', 1), '') AS INTEGER),
                   COUNT(r.rating), ROUND(AVG(r.rating), 9), MIN(r.timestamp), MAX(r.timestamp),
                   CAST(s.release_date AS VARCHAR), IF(s.release_date IS NULL, 'unknown', 'known')
            FROM movies m LEFT JOIN ratings r ON r.movieId = m.movieId LEFT JOIN seed s ON s.movie_id = m.movieId
            GROUP BY m.movieId, m.title, s.release_date
            """
        ).fetchall()
    )
    assert len(got) == len(want) == 9742
    assert got == want
    assert sum(r[2] for r in got) == 100_836


def test_mart_genre_stats_matches_duckdb(fixture_workspace, ref) -> None:
    got = mart(
        fixture_workspace,
        "SELECT genre, num_movies, num_ratings, ROUND(avg_rating, 9) FROM MOVIELENS.DEV.MART_GENRE_STATS",
    )
    want = sorted(
        ref.execute(
            """
            WITH g AS (SELECT movieId, unnest(string_split(genres, '|')) AS genre FROM movies)
            SELECT g.genre, COUNT(DISTINCT g.movieId), COUNT(r.rating), ROUND(AVG(r.rating), 9)
            FROM g LEFT JOIN ratings r ON r.movieId = g.movieId GROUP BY g.genre
            """
        ).fetchall()
    )
    assert len(got) == 20 and "(no genres listed)" in {r[0] for r in got}
    assert got == want


def test_mart_ratings_monthly_and_distribution_match_duckdb(fixture_workspace, ref) -> None:
    got = mart(
        fixture_workspace,
        "SELECT CAST(rating_month AS VARCHAR), num_ratings, num_users, ROUND(avg_rating, 9)"
        " FROM MOVIELENS.DEV.MART_RATINGS_MONTHLY",
    )
    want = sorted(
        ref.execute(
            """
            SELECT CAST(CAST(date_trunc('month', to_timestamp(timestamp)) AS DATE) AS VARCHAR),
                   COUNT(*), COUNT(DISTINCT userId), ROUND(AVG(rating), 9)
            FROM ratings GROUP BY 1
            """
        ).fetchall()
    )
    assert got == want and len(got) > 200
    dist = mart(fixture_workspace, "SELECT rating, num_ratings FROM MOVIELENS.DEV.MART_RATING_DISTRIBUTION")
    assert dist == sorted(ref.execute("SELECT rating, COUNT(*) FROM ratings GROUP BY rating").fetchall())
    assert [r[0] for r in dist] == [x / 2 for x in range(1, 11)]


def test_mart_tag_stats_matches_duckdb(fixture_workspace, ref) -> None:
    got = mart(fixture_workspace, "SELECT tag, num_uses, num_movies, num_users FROM MOVIELENS.DEV.MART_TAG_STATS")
    want = sorted(
        ref.execute(
            "SELECT tag, COUNT(*), COUNT(DISTINCT movieId), COUNT(DISTINCT userId) FROM tags GROUP BY tag"
        ).fetchall()
    )
    assert got == want and len(got) == 1589


# the app under AppTest ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def app_env(built_fixture_warehouse: Path) -> Iterator[None]:
    """The app's environment: the fixture warehouse; its session closed and caches cleared afterwards."""
    import streamlit as st

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NETFLIX_ELT_HOME", str(built_fixture_warehouse / "home"))
        mp.setenv("NETFLIX_ELT_TARGET_PATH", str(built_fixture_warehouse / "target"))
        mp.setenv("NETFLIX_ELT_PROJECT_DIR", str(PROJECT_DIR))
        st.cache_resource.clear()
        st.cache_data.clear()
        try:
            yield
        finally:
            import netflix_elt

            netflix_elt.close_session(netflix_elt.connect())  # the app's session (same target and folder)
            st.cache_resource.clear()
            st.cache_data.clear()


def run_app(**_: object):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=120).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def top_rated_ref(ref, min_ratings: int, genre: str | None = None) -> list[tuple]:
    where = f"list_contains(string_split(m.genres, '|'), '{genre}')" if genre else "TRUE"
    return ref.execute(
        f"""
        SELECT r.movieId, lower(trim(m.title)), COUNT(*) AS n, AVG(r.rating) AS a
        FROM ratings r JOIN movies m ON m.movieId = r.movieId WHERE {where}
        GROUP BY r.movieId, m.title HAVING COUNT(*) >= {min_ratings}
        ORDER BY a DESC, n DESC, r.movieId LIMIT 20
        """
    ).fetchall()


def table_rows(at) -> list[tuple]:
    df = at.dataframe[0].value
    return [(int(r.movie_id), r.movie_title.lower(), int(r.num_ratings), float(r.avg_rating)) for r in df.itertuples()]


def same(rows: list[tuple], expected: list[tuple]) -> bool:
    return len(rows) == len(expected) and all(
        a[:3] == b[:3] and abs(a[3] - b[3]) < 1e-9 for a, b in zip(rows, expected, strict=True)
    )


def test_headline_numbers_equal_duckdb(app_env, ref) -> None:
    at = run_app()
    metrics = {m.label: m.value for m in at.metric}
    ratings, first, last = ref.execute(
        "SELECT COUNT(*), CAST(to_timestamp(MIN(timestamp)) AS DATE), CAST(to_timestamp(MAX(timestamp)) AS DATE)"
        " FROM ratings"
    ).fetchone()
    users = ref.execute("SELECT COUNT(*) FROM (SELECT userId FROM ratings UNION SELECT userId FROM tags)").fetchone()[0]
    movies = ref.execute("SELECT COUNT(DISTINCT movieId) FROM movies").fetchone()[0]
    known = ref.execute("SELECT COUNT(*) FROM ratings WHERE movieId IN (SELECT movie_id FROM seed)").fetchone()[0]
    assert metrics == {
        "Ratings": f"{ratings:,}",
        "Users": f"{users:,}",
        "Movies": f"{movies:,}",
        "First rating": str(first),
        "Last rating": str(last),
        "Ratings with a known release date": f"{known / ratings:.1%}",
    }
    assert metrics["Ratings"] == "100,836" and metrics["Users"] == "610" and known > 0
    # five charts (Streamlit's own, Vega-Lite), no error box
    assert len([e for e in at.main if type(e).__name__ == "UnknownElement"]) == 5
    assert not at.error


def test_top_rated_table_slider_and_genre_filter(app_env, ref) -> None:
    at = run_app()
    assert at.slider[0].value == 101  # the analysis' "more than 100 ratings"
    default = table_rows(at)
    assert same(default, top_rated_ref(ref, 101)) and len(default) == 20
    assert default[0][:2] == (318, "shawshank redemption, the (1994)")

    at.slider[0].set_value(200).run()
    stricter = table_rows(at)
    assert same(stricter, top_rated_ref(ref, 200))
    assert all(r[2] >= 200 for r in stricter) and stricter != default
    assert {r[0] for r in default} - {r[0] for r in stricter}  # movies with 101..199 ratings left the table

    assert "Drama" in at.selectbox[0].options and at.selectbox[0].value == "All genres"
    at.selectbox[0].select("Drama").run()
    drama = table_rows(at)
    assert same(drama, top_rated_ref(ref, 200, "Drama")) and drama != stricter
    assert all("Drama" in g.split("|") for g in at.dataframe[0].value["genres"])

    at.selectbox[0].select("Film-Noir").run()  # a small genre: fewer than 20 movies with 200 ratings
    assert same(table_rows(at), top_rated_ref(ref, 200, "Film-Noir"))
    at.slider[0].set_value(int(at.slider[0].max)).run()  # the most-rated movie's count: one movie at most
    assert len(table_rows(at)) <= 1


def test_server_warm_up_serves_the_first_page_without_a_query(app_env, ref, monkeypatch) -> None:
    """`netflix-elt dashboard` runs warm_app before it answers: the first page then sends no SQL, and
    still shows the numbers DuckDB computes; a widget change queries (the counter does count)."""
    import streamlit as st

    from netflix_elt.dashboard import warm_app

    st.cache_data.clear()
    warm_app(APP.parent)
    import movielens_data

    session = movielens_data.session()
    sent: list[str] = []
    real_sql = session.sql
    monkeypatch.setattr(session, "sql", lambda sql, *a, **k: sent.append(sql) or real_sql(sql, *a, **k))
    at = run_app()
    assert sent == []
    assert {m.label: m.value for m in at.metric}[
        "Ratings"
    ] == f"{ref.execute('SELECT COUNT(*) FROM ratings').fetchone()[0]:,}"
    assert same(table_rows(at), top_rated_ref(ref, 101))
    at.slider[0].set_value(150).run()
    assert len(sent) == 1 and "num_ratings >= 150" in sent[0]
    assert same(table_rows(at), top_rated_ref(ref, 150))


def test_app_on_a_warehouse_without_marts_shows_one_clear_error(tmp_path: Path, monkeypatch) -> None:
    """Bad input: an empty state folder. The app explains instead of raising (no traceback on the page)."""
    script = (
        "import sys\nfrom pathlib import Path\nfrom streamlit.testing.v1 import AppTest\n"
        "from netflix_elt.dashboard import warm_app\n"
        f"warm_app(Path({str(APP.parent)!r}))\n"  # the server's warm-up: one line in its log, no raise
        f"at = AppTest.from_file({str(APP)!r}, default_timeout=120).run()\n"
        "print(repr([e.value for e in at.error]), len(at.exception), len(at.metric))\n"
    )
    env = {**os.environ, "NETFLIX_ELT_HOME": str(tmp_path / "home"), "NETFLIX_ELT_PROJECT_DIR": str(PROJECT_DIR)}
    env["NETFLIX_ELT_TARGET_PATH"] = str(tmp_path / "target")
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    last = done.stdout.strip().splitlines()[-1]
    assert last.endswith(" 0 0"), last
    assert "The warehouse cannot be read" in last and "HTTP 500" not in last
    assert "dashboard: first page not cached (" in done.stderr and "Traceback" not in done.stderr


# the CLI's refusals ------------------------------------------------------------------------------
def cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NETFLIX_ELT_HOME": str(home), "NETFLIX_ELT_TARGET_PATH": str(home / "target")}
    return subprocess.run(
        [sys.executable, "-m", "netflix_elt.cli", "dashboard", *args, "--project-dir", str(PROJECT_DIR)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_dashboard_refuses_unknown_target_busy_port_and_deploy_on_the_embedded_engine(tmp_path: Path) -> None:
    done = cli("--target", "nope", "--port", "0", home=tmp_path)
    assert done.returncode == 2 and "nope" in done.stderr + done.stdout and "Traceback" not in done.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = cli("--port", str(port), home=tmp_path)
    out = done.stdout + done.stderr
    assert done.returncode == 2, out
    assert f"port {port} on 127.0.0.1 is in use" in out and "--port 0" in out and "Traceback" not in out
    done = cli("--port", "70000", home=tmp_path)
    assert done.returncode == 2 and "70000" in done.stdout + done.stderr
    done = cli("--print-sql", home=tmp_path)
    assert done.returncode == 2 and "--profile snowflake" in (done.stdout + done.stderr).replace("\n", " ")


HOLDER = """
import sys
from pathlib import Path
from netflix_elt.lock import warehouse_lock
with warehouse_lock(Path(sys.argv[1]), "netflix-elt build", 0):
    print("held", flush=True)
    sys.stdin.readline()
"""


def test_dashboard_beside_a_writer_exits_3_naming_it(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        done = cli("--port", "0", home=tmp_path)
        out = done.stdout + done.stderr
        assert done.returncode == 3, out
        assert f"locked by pid {holder.pid}" in out and "netflix-elt build" in out, out
        assert "HTTP 500" not in out and "Traceback" not in out
    finally:
        holder.kill()
        holder.wait()


def test_chart_queries_each_read_one_mart() -> None:
    sys.path.insert(0, str(APP.parent))
    try:
        import movielens_queries as q
    finally:
        sys.path.remove(str(APP.parent))
    import sqlglot
    from sqlglot import exp

    tables = {
        name: sorted({t.name.lower() for t in sqlglot.parse_one(sql, read="snowflake").find_all(exp.Table)})
        for name, sql in q.chart_queries().items()
    }
    assert tables == {
        "headline": ["dim_users", "mart_movie_stats"],  # the users tile counts dim_users' rows
        "ratings_per_month": ["mart_ratings_monthly"],
        "rating_distribution": ["mart_rating_distribution"],
        "genres": ["mart_genre_stats"],
        "top_rated": ["mart_movie_stats"],
        "top_tags": ["mart_tag_stats"],
    }
    tricky = q.top_rated(5, "Children's 'x'")
    assert sqlglot.parse_one(tricky, read="snowflake").find(exp.Like).expression.name == "%|Children's 'x'|%"
    assert json.dumps(q.chart_queries())  # plain strings: the benchmark prints them
