"""The S3 path end to end, through the CLI: extract to s3://, load from s3://, counts, a reload, a 0-byte object."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner

from netflix_elt.api import Workspace
from netflix_elt.cli import main
from tests.conftest import PROJECT_DIR, moto_server, use_moto

BUCKET = "movielens-landing"


@pytest.fixture
def s3(isolated_home, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    with moto_server() as endpoint:
        use_moto(monkeypatch, endpoint, secret="testing-secret-value")
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET)
        yield client


def cli(*args: str):
    return CliRunner().invoke(main, [*args, "--project-dir", str(PROJECT_DIR)], catch_exceptions=False)


def rows_in(client, key: str, tmp: Path) -> int:
    path = tmp / key.replace("/", "_")
    client.download_file(BUCKET, key, str(path))
    with path.open(newline="", encoding="utf-8") as f:
        return sum(1 for _ in csv.reader(f)) - 1


def test_extract_to_s3_then_load_from_s3(s3, tmp_path):
    url = f"s3://{BUCKET}/movielens"
    res = cli("extract", "--source", "synthetic", "--scale", "small", "--to", url)
    assert res.exit_code == 0, res.output
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert "movielens/batch=0001/manifest.json" in keys and "movielens/batch=0001/ratings.csv" in keys

    res = cli("load", "--from", url)
    assert res.exit_code == 0, res.output
    expected = {
        t: rows_in(s3, f"movielens/batch=0001/{f}", tmp_path)
        for t, f in (
            ("RAW_RATINGS", "ratings.csv"),
            ("RAW_TAGS", "tags.csv"),
            ("RAW_MOVIES", "movies.csv"),
            ("RAW_LINKS", "links.csv"),
            ("RAW_GENOME_SCORES", "genome-scores.csv"),
            ("RAW_GENOME_TAGS", "genome-tags.csv"),
        )
    }
    with Workspace.from_options(PROJECT_DIR) as ws:
        got = {t: ws.session.sql(f"SELECT COUNT(*) FROM MOVIELENS.RAW.{t}").collect()[0][0] for t in expected}
        files = {r[0] for r in ws.session.sql("SELECT DISTINCT _SOURCE_FILE FROM MOVIELENS.RAW.RAW_RATINGS").collect()}
    assert got == expected and expected["RAW_RATINGS"] == 100_836
    assert files == {f"{url}/batch=0001/ratings.csv"}

    # loading again loads nothing new
    again = cli("load", "--from", url)
    assert again.exit_code == 0 and "LOADED" not in again.output
    # the AWS secret never reaches the output
    assert "testing-secret-value" not in res.output + again.output


def test_zero_byte_object_is_named(s3, tmp_path):
    url = f"s3://{BUCKET}/broken"
    assert cli("extract", "--source", "synthetic", "--to", url).exit_code == 0
    s3.put_object(Bucket=BUCKET, Key="broken/batch=0001/movies.csv", Body=b"")
    res = cli("load", "--from", url)
    assert res.exit_code == 4  # bad input data (docs/exit_codes.md)
    assert "movies.csv" in res.output
    assert "Traceback" not in res.output
