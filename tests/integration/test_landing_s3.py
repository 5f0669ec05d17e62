"""Landing on S3 (moto server on 127.0.0.1) and on a local folder: batches, manifests, fetch, errors."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from netflix_elt.errors import IngestError
from netflix_elt.ingest.extract import extract
from netflix_elt.ingest.landing import Landing
from netflix_elt.ingest.landing.local import LocalLanding
from netflix_elt.ingest.landing.s3 import S3Landing
from tests.conftest import use_moto

BUCKET = "landing-bucket"


@pytest.fixture
def s3(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    use_moto(monkeypatch, moto_endpoint)
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    yield client
    objects = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    if objects:
        client.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": o["Key"]} for o in objects]})
    client.delete_bucket(Bucket=BUCKET)


def _rows(path: Path) -> int:
    with open(path, encoding="utf-8", newline="") as fh:
        return sum(1 for _ in csv.reader(fh)) - 1


def test_extract_synthetic_to_s3_then_fetch(s3: object, tmp_path: Path) -> None:
    url = f"s3://{BUCKET}/landing"
    m1 = extract("synthetic", url, scale="small", seed=7)
    m2 = extract("synthetic", url, scale="small", seed=7)
    assert (m1.batch, m2.batch) == (1, 2)
    assert m1.url == f"{url}/batch=0001"
    assert {f.name for f in m1.files} == {
        "ratings.csv",
        "tags.csv",
        "movies.csv",
        "links.csv",
        "genome-scores.csv",
        "genome-tags.csv",
    }
    assert "genome-scores.csv" not in {f.name for f in m2.files}
    assert m1.file("ratings.csv").rows == 100_836  # type: ignore[union-attr]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="landing/")["Contents"]]  # type: ignore[attr-defined]
    assert "landing/batch=0001/manifest.json" in keys and "landing/batch=0002/manifest.json" in keys

    landing = Landing.from_url(url)
    assert isinstance(landing, S3Landing) and BUCKET in landing.describe()
    listed = landing.list_batches()
    assert [b.batch for b in listed] == [1, 2]
    assert listed[0] == m1
    folder = landing.fetch(listed[0], tmp_path / "fetched")
    for entry in listed[0].files:
        data = (folder / entry.name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry.sha256
        assert len(data) == entry.bytes
        assert _rows(folder / entry.name) == entry.rows


def test_half_written_batch_is_invisible_and_replaced(s3: object, tmp_path: Path) -> None:
    url = f"s3://{BUCKET}/lz"
    extract("synthetic", url, scale=1_000)
    s3.put_object(Bucket=BUCKET, Key="lz/batch=0002/ratings.csv", Body=b"partial")  # type: ignore[attr-defined]
    landing = Landing.from_url(url)
    assert [b.batch for b in landing.list_batches()] == [1]
    assert landing.next_batch() == 2
    m2 = extract("synthetic", url, scale=1_000)
    assert m2.batch == 2
    folder = landing.fetch(m2, tmp_path / "b2")
    assert _rows(folder / "ratings.csv") == m2.file("ratings.csv").rows  # type: ignore[union-attr]


def test_zero_byte_objects_are_rejected(s3: object, tmp_path: Path) -> None:
    url = f"s3://{BUCKET}/zero"
    m = extract("synthetic", url, scale=1_000)
    s3.put_object(Bucket=BUCKET, Key="zero/batch=0001/movies.csv", Body=b"")  # type: ignore[attr-defined]
    with pytest.raises(IngestError, match=rf"s3://{BUCKET}/zero/batch=0001/movies\.csv"):
        Landing.from_url(url).fetch(m, tmp_path / "x")
    s3.put_object(Bucket=BUCKET, Key="zero/batch=0002/manifest.json", Body=b"")  # type: ignore[attr-defined]
    with pytest.raises(IngestError, match=rf"s3://{BUCKET}/zero/batch=0002/manifest\.json"):
        Landing.from_url(url).list_batches()


def test_missing_bucket_and_empty_landing(s3: object, tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=r"s3://no-such-bucket/x"):
        Landing.from_url("s3://no-such-bucket/x").list_batches()
    with pytest.raises(IngestError, match=r"s3://no-such-bucket/x"):
        extract("synthetic", "s3://no-such-bucket/x", scale=1_000)
    with pytest.raises(IngestError, match=rf"s3://{BUCKET}/empty"):
        Landing.from_url(f"s3://{BUCKET}/empty").list_batches()


def test_local_landing_round_trip_and_errors(tmp_path: Path) -> None:
    root = tmp_path / "landing"
    with pytest.raises(IngestError, match="does not exist"):
        Landing.from_url(str(root)).list_batches()
    m1 = extract("synthetic", root.as_uri(), scale=1_000)
    landing = Landing.from_url(str(root))
    assert isinstance(landing, LocalLanding)
    assert landing.fetch(m1, verify=True) == root / "batch=0001"  # checked in place
    copy = landing.fetch(m1, tmp_path / "copy")  # a verified private copy
    assert copy == tmp_path / "copy" and sorted(p.name for p in copy.iterdir()) == sorted(f.name for f in m1.files)
    manifest = json.loads((root / "batch=0001" / "manifest.json").read_text())
    assert manifest["batch"] == 1 and manifest["url"] == f"{root.as_uri()}/batch=0001"
    with pytest.raises(IngestError, match="next batch is 2"):
        extract("synthetic", str(root), scale=1_000, batch=5)
    m2 = extract("synthetic", str(root), scale=1_000, batch=2)
    assert m2.batch == 2 and "batch=2" in m2.source
    (root / "batch=0001" / "tags.csv").write_bytes(b"userId,movieId,tag,timestamp\r\n")
    with pytest.raises(IngestError, match=r"batch=0001/tags\.csv"):
        landing.fetch(m1, tmp_path / "unused")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(IngestError, match=str(empty)):
        Landing.from_url(str(empty)).list_batches()


def test_extract_from_a_folder(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    with pytest.raises(IngestError, match=str(src)):
        extract(str(src), str(tmp_path / "lz"))
    (src / "ratings.csv").write_bytes(b"userId,movieId,rating,timestamp\r\n1,1,4.0,964982703\r\n")
    (src / "movies.csv").write_bytes(b"movieId,title,genres\r\n1,Toy Story (1995),Comedy\r\n")
    (src / "notes.txt").write_text("ignored")
    m = extract(str(src), str(tmp_path / "lz"))
    assert [(f.name, f.rows) for f in m.files] == [("ratings.csv", 1), ("movies.csv", 1)]
    assert str(src) in m.source
