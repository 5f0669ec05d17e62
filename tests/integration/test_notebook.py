"""Transforms import in a fresh interpreter and run on a session from `netflix_elt.connect()`."""

import json
import os
import subprocess
import sys

from tests.conftest import PROJECT_DIR, require_fixture

SCRIPT = """
import json
import netflix_elt
from transforms.core.dim_movies import dim_movies
from transforms.core.dim_users import dim_users

session = netflix_elt.connect()
movies = dim_movies(session.table("MOVIELENS.DEV.SRC_MOVIES"))
users = dim_users(session.table("MOVIELENS.DEV.SRC_RATINGS"), session.table("MOVIELENS.DEV.SRC_TAGS"))
row = movies.filter(movies["movie_id"] == 11).collect()[0]
print(json.dumps({"movies": movies.count(), "users": users.select("user_id").distinct().count(),
                  "title": row["MOVIE_TITLE"], "schema": session.get_current_schema()}))
"""


def test_import_transform_in_a_fresh_interpreter(tmp_path):
    # a warehouse of its own: a DuckDB file is opened by one process at a time
    fixture = require_fixture()
    env = {
        **os.environ,
        "NETFLIX_ELT_HOME": str(tmp_path / "home"),
        "NETFLIX_ELT_TARGET_PATH": str(tmp_path / "t"),
        "NETFLIX_ELT_PROJECT_DIR": str(PROJECT_DIR),
    }
    cli = [sys.executable, "-m", "netflix_elt.cli"]
    for args in (["load", "--from", str(fixture)], ["run", "-s", "+dim_movies +dim_users"]):
        done = subprocess.run([*cli, *args], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
    res = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out == {"movies": 9742, "users": 610, "title": "American President, The (1995)", "schema": '"DEV"'}
