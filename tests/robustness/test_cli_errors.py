"""Bad input across the CLI: one line naming the problem, a distinct exit code, no traceback.

Exit codes (docs/exit_codes.md): 2 usage or configuration, 4 input data (LoadError/IngestError).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner, Result

from netflix_elt.cli import main
from tests.conftest import PROJECT_DIR, moto_server, use_moto

GOOD = {
    "ratings.csv": "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n",
    "tags.csv": "userId,movieId,tag,timestamp\n1,1,funny,1445714994\n",
    "movies.csv": 'movieId,title,genres\n1,"Toy Story (1995)",Adventure|Animation\n',
    "links.csv": "movieId,imdbId,tmdbId\n1,0114709,862\n",
}


def cli(*args: str, project: Path = PROJECT_DIR) -> Result:
    return CliRunner().invoke(main, [*args, "--project-dir", str(project)])


def one_line(res: Result) -> str:
    """The error: exactly one line, the last one (progress lines may come before it)."""
    lines = [ln for ln in res.output.strip().splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("Error:")]
    assert errors == lines[-1:] and "Traceback" not in res.output, res.output
    return errors[0]


def landing(tmp_path: Path, **broken: bytes) -> Path:
    folder = tmp_path / "landed"
    folder.mkdir()
    for name, text in GOOD.items():
        (folder / name).write_bytes(broken.get(name.replace(".csv", ""), text.encode()))
    return folder


def test_unknown_flag_is_a_usage_error(isolated_home: Path) -> None:
    res = cli("run", "--bogus")
    assert res.exit_code == 2 and "No such option '--bogus'" in one_line(res)


def test_bad_profile_is_a_config_error(isolated_home: Path) -> None:
    res = cli("run", "--profile", "cloud")
    assert res.exit_code == 2 and "unknown profile 'cloud'" in one_line(res)


def test_sql_in_an_identifier_is_refused_before_any_sql(isolated_home: Path, tmp_path: Path) -> None:
    project = tmp_path / "p"
    (project / "config").mkdir(parents=True)
    (project / "config" / "netflix_elt.toml").write_text('[warehouse]\ndatabase = "x; drop table y"\n')
    for command in (("init",), ("build",), ("load",)):
        res = cli(*command, project=project)
        line = one_line(res)
        assert res.exit_code == 2 and "warehouse.database" in line and "not a valid identifier" in line, line
    assert not (isolated_home / "home").exists()  # no lock, no engine, no warehouse: nothing ran


def test_missing_landing_folder(isolated_home: Path, tmp_path: Path) -> None:
    res = cli("load", "--from", str(tmp_path / "nowhere"))
    assert res.exit_code == 4 and "nowhere does not exist" in one_line(res)


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ({"movies": b""}, "movies.csv: file is empty (0 bytes)"),
        ({"ratings": b"userId,movieId,rating,timestamp\n"}, "ratings.csv: has no data rows, only a header"),
        ({"tags": "userId,movieId,tag,timestamp\n1,1,caf\xe9,1\n".encode("latin-1")}, "tags.csv: line 2 is not UTF-8"),
    ],
    ids=["empty", "header-only", "not-utf8"],
)
def test_bad_landed_file_is_named(isolated_home: Path, tmp_path: Path, broken: dict[str, bytes], message: str) -> None:
    res = cli("load", "--from", str(landing(tmp_path, **broken)))
    assert res.exit_code == 4 and message in one_line(res)


def test_header_only_file_after_a_first_load_is_fine(isolated_home: Path, tmp_path: Path) -> None:
    """A delta with no new ratings is normal: only the first load of a source must bring rows."""
    assert cli("load", "--from", str(landing(tmp_path))).exit_code == 0
    later = tmp_path / "later"
    later.mkdir()
    for name, text in {**GOOD, "ratings.csv": "userId,movieId,rating,timestamp\n"}.items():
        (later / name).write_text(text.replace("funny", "sad"))
    res = cli("load", "--from", str(later))
    assert res.exit_code == 0, res.output


@pytest.fixture
def s3(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    with moto_server() as endpoint:
        use_moto(monkeypatch, endpoint, secret="testing-secret")
        client = boto3.client("s3")
        client.create_bucket(Bucket="landing")
        yield client


def test_zero_byte_s3_object(s3, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = "s3://landing/ml"
    assert cli("extract", "--source", "synthetic", "--to", url).exit_code == 0
    s3.put_object(Bucket="landing", Key="ml/batch=0001/links.csv", Body=b"")  # type: ignore[attr-defined]
    res = cli("load", "--from", url)
    assert res.exit_code == 4 and "links.csv" in one_line(res) and "0 bytes" in res.output
