"""Hostile input: whoever can write the landing zone or the config can do no more than land data.

One group of tests per point of issue 12 (docs/robustness.md, "Hostile input").
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner, Result

from netflix_elt.cli import main
from netflix_elt.errors import IngestError, LockError
from netflix_elt.ingest.extract import extract
from netflix_elt.ingest.landing import Landing
from tests.conftest import PROJECT_DIR, use_moto, write_tiny_project

BUCKET = "hostile-landing"
SECRET = "pw-Hs41-never-print-me"


def cli(*args: str, project: Path = PROJECT_DIR) -> Result:
    return CliRunner().invoke(main, [*args, "--project-dir", str(project)])


@pytest.fixture
def s3(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    use_moto(monkeypatch, moto_endpoint)
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    yield client
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        objs = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if objs:
            client.delete_objects(Bucket=BUCKET, Delete={"Objects": objs})
    client.delete_bucket(Bucket=BUCKET)


def _keys(client: object, prefix: str = "") -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)  # type: ignore[attr-defined]
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def _manifest(n: int, url: str, entries: list[tuple[str, bytes]]) -> bytes:
    files = [
        {"name": name, "rows": 1, "bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()}
        for name, body in entries
    ]
    return json.dumps(
        {
            "batch": n,
            "created_at": datetime.now(UTC).isoformat(),
            "source": "hostile",
            "files": files,
            "url": f"{url}/batch={n:04d}",
        }
    ).encode()


# 1. manifest entries -----------------------------------------------------------------------------
def test_s3_manifest_traversal_is_refused_before_any_byte_is_written(
    s3: object, isolated_home: Path, tmp_path: Path
) -> None:
    """An entry `../../../<tmp>/pwned.txt` with the right size and sha256 writes nothing outside."""
    url = f"s3://{BUCKET}/lz"
    payload = b"import os  # would run at the next `netflix-elt ls`\n"
    victim = tmp_path / "victim.py"
    victim.write_bytes(b"precious\n")
    outside = tmp_path / "pwned.txt"
    for target, body in ((outside, payload), (victim, payload)):
        name = "../" * 12 + str(target).lstrip("/")
        s3.put_object(Bucket=BUCKET, Key=f"lz/batch=0001/{name}", Body=body)  # type: ignore[attr-defined]
        s3.put_object(Bucket=BUCKET, Key="lz/batch=0001/manifest.json", Body=_manifest(1, url, [(name, body)]))  # type: ignore[attr-defined]
        res = cli("load", "--from", url)
        assert not outside.exists() and victim.read_bytes() == b"precious\n", res.output
        assert res.exit_code == 4, res.output
        assert "is not a plain file name" in res.output and "batch is refused" in res.output
        assert "../../" in res.output  # the entry is named
    assert not outside.exists()
    assert victim.read_bytes() == b"precious\n"  # neither overwritten nor deleted
    # a wrong sha256 for a declared name: refused, and only the private folder was touched
    s3.put_object(Bucket=BUCKET, Key="lz/batch=0001/ratings.csv", Body=b"userId\n1\n")  # type: ignore[attr-defined]
    bad = json.loads(_manifest(1, url, [("ratings.csv", b"userId\n1\n")]))
    bad["files"][0]["sha256"] = "0" * 64
    s3.put_object(Bucket=BUCKET, Key="lz/batch=0001/manifest.json", Body=json.dumps(bad).encode())  # type: ignore[attr-defined]
    with pytest.raises(IngestError, match="does not match its manifest"):
        Landing.from_url(url).fetch(Landing.from_url(url).list_batches()[0], tmp_path / "private")
    assert list((tmp_path / "private").iterdir()) == []  # no partial download left


def test_s3_manifest_with_an_undeclared_name_is_refused(s3: object, tmp_path: Path) -> None:
    url = f"s3://{BUCKET}/undeclared"
    s3.put_object(Bucket=BUCKET, Key="undeclared/batch=0001/manifest.json", Body=_manifest(1, url, [("evil.py", b"x")]))  # type: ignore[attr-defined]
    with pytest.raises(IngestError, match=r"entry 'evil\.py' is not a file this project lands"):
        Landing.from_url(url).list_batches()


def test_local_manifest_traversal_reveals_nothing(isolated_home: Path, tmp_path: Path) -> None:
    """`../../victim` used to answer "<path> has 651 bytes, the manifest says 1"."""
    root = tmp_path / "lz"
    (root / "batch=0001").mkdir(parents=True)
    victim = tmp_path / "shadow"
    victim.write_bytes(b"s" * 651)
    name = "../../shadow"
    (root / "batch=0001" / "manifest.json").write_bytes(_manifest(1, root.as_uri(), [(name, b"x")]))
    res = cli("load", "--from", str(root))
    assert res.exit_code == 4, res.output
    assert "'../../shadow' is not a plain file name" in res.output
    assert "651" not in res.output and "bytes" not in res.output
    # a declared name that is a symlink to a file outside: refused without stat'ing the target
    (root / "batch=0001" / "ratings.csv").symlink_to(victim)
    (root / "batch=0001" / "manifest.json").write_bytes(_manifest(1, root.as_uri(), [("ratings.csv", b"x")]))
    res = cli("load", "--from", root.as_uri())
    assert res.exit_code == 4, res.output
    assert "ratings.csv is a symlink" in res.output and "651" not in res.output


# 2. extract from a folder ------------------------------------------------------------------------
def _source(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    (src / "ratings.csv").write_bytes(b"userId,movieId,rating,timestamp\r\n1,1,4.0,964982703\r\n")
    (src / "movies.csv").write_bytes(b"movieId,title,genres\r\n1,Toy Story (1995),Comedy\r\n")
    return src


def test_extract_refuses_symlinks_devices_and_directories(isolated_home: Path, tmp_path: Path) -> None:
    src = _source(tmp_path)
    conn = tmp_path / "connections.toml"
    conn.write_text(f'[default]\npassword = "{SECRET}"\n')
    (src / "README.txt").symlink_to(conn)
    lz = tmp_path / "lz"
    res = cli("extract", "--source", str(src), "--to", str(lz))
    assert res.exit_code == 4, res.output
    assert "README.txt is a symlink" in res.output and SECRET not in res.output
    assert not (lz / "batch=0001").exists()
    (src / "README.txt").unlink()
    (src / "ratings.csv").unlink()
    passwd = tmp_path / "passwd"
    passwd.write_text("root:x:0:0:root:/root:/bin/bash\n")
    (src / "ratings.csv").symlink_to(passwd)
    res = cli("extract", "--source", str(src), "--to", str(lz))
    assert res.exit_code == 4 and "ratings.csv is a symlink" in res.output and "root:x" not in res.output
    (src / "ratings.csv").unlink()
    (src / "ratings.csv").mkdir()
    res = cli("extract", "--source", str(src), "--to", str(lz))
    assert res.exit_code == 4 and "ratings.csv is a directory" in res.output, res.output
    (src / "ratings.csv").rmdir()
    os.mkfifo(src / "ratings.csv")  # would block a plain open()
    res = cli("extract", "--source", str(src), "--to", str(lz))
    assert res.exit_code == 4 and "ratings.csv is a FIFO" in res.output, res.output
    assert not (lz / "batch=0001").exists()


def test_extract_follows_symlinks_only_when_asked(isolated_home: Path, tmp_path: Path) -> None:
    src = _source(tmp_path)
    real = tmp_path / "real_movies.csv"
    (src / "movies.csv").rename(real)
    (src / "movies.csv").symlink_to(real)
    lz = tmp_path / "lz"
    assert cli("extract", "--source", str(src), "--to", str(lz)).exit_code == 4
    res = cli("extract", "--source", str(src), "--to", str(lz), "--follow-symlinks")
    assert res.exit_code == 0, res.output
    landed = lz / "batch=0001" / "movies.csv"
    assert not landed.is_symlink() and landed.read_bytes() == real.read_bytes()


# 3. config names ---------------------------------------------------------------------------------
MINIMAL = """
[warehouse]
database = "HOSTILE"

[sources.raw_items]
table = "RAW_ITEMS"
file = "items.csv"
columns = {{ id = "INTEGER", price = "FLOAT" }}
{extra}
"""

TINY = """
[project]
transforms = "{package}"

[warehouse]
database = "HOSTILE"

[sources.raw_items]
table = "RAW_ITEMS"
file = "items.csv"
columns = {{ id = "INTEGER", name = "VARCHAR" }}
"""


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (
            '[seeds."x (id int); DROP SCHEMA RAW CASCADE; CREATE TABLE PWNED"]\nfile = "x.csv"\n'
            'columns = { id = "INTEGER" }',
            'seeds."x (id int); DROP SCHEMA RAW CASCADE; CREATE TABLE PWNED": the name is not a valid identifier',
        ),
        (
            '[sources."../../../../tmp/pwn/evil"]\ntable = "EVIL"\nfile = "evil.csv"\ncolumns = { id = "INTEGER" }',
            'sources."../../../../tmp/pwn/evil": the name is not a valid identifier',
        ),
        (
            '[sources.raw_other]\ntable = "RAW_OTHER"\nfile = "../other.csv"\ncolumns = { id = "INTEGER" }',
            "sources.raw_other.file = '../other.csv' is not a plain file name",
        ),
        (
            '[sources.raw_r]\ntable = "RAW_R"\nfile = "r.csv"\ncolumns = { rating = "FLOAT" }\n'
            "ranges = { rating = [nan, inf] }",
            "sources.raw_r.ranges.rating = [nan, inf]: bounds must be finite numbers",
        ),
        (
            '[sources.raw_r]\ntable = "RAW_R"\nfile = "r.csv"\ncolumns = { rating = "FLOAT" }\n'
            "ranges = { rating = [5, 1] }",
            "sources.raw_r.ranges.rating = [5.0, 1.0]: the lower bound is above the upper",
        ),
        (
            '[sources.raw_r]\ntable = "RAW_R"\nfile = "r.csv"\ncolumns = { rating = "FLOAT" }\n'
            'ranges = { "rating) OR (1=1" = [0, 1] }',
            'sources.raw_r.ranges."rating) OR (1=1": not one of the declared columns',
        ),
        (
            '[profiles.snowflake]\nengine = "snowflake"\nrole = "SYSADMIN; DROP DATABASE X"',
            "profiles.snowflake.role = 'SYSADMIN; DROP DATABASE X' is not a valid identifier",
        ),
        (
            '[project]\nseeds = "../../elsewhere"',
            "project.seeds = '../../elsewhere' must be a relative folder inside the project",
        ),
        (
            '[seeds.s]\nfile = "../../../etc/passwd"\ncolumns = { id = "INTEGER" }',
            "seeds.s.file = '../../../etc/passwd' must be a relative path inside the seeds folder",
        ),
    ],
)
def test_config_names_are_identifiers(isolated_home: Path, tmp_path: Path, extra: str, named: str) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "netflix_elt.toml").write_text(MINIMAL.format(extra=extra))
    res = cli("ls", project=tmp_path)
    assert res.exit_code == 2, res.output
    assert named in res.output.replace("\n", "")
    assert not (tmp_path / "home").exists()  # refused before the lock, engine or any file


def test_transform_names_are_identifiers(isolated_home: Path, tmp_path: Path) -> None:
    transforms = """
from netflix_elt import transform


@transform(name="x; DROP SCHEMA RAW CASCADE", layer="staging", materialized="view")
def stg(raw_items):
    return raw_items
"""
    write_tiny_project(tmp_path, "hostile", TINY, transforms, "id,name\n1,a\n")
    res = cli("ls", project=tmp_path)
    assert res.exit_code == 2, res.output
    assert "name 'x; drop schema raw cascade' is not a valid identifier" in res.output.replace("\n", "")


# 4. landing URLs ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"s3://{BUCKET}/ml#prod", "has a fragment"),
        (f"s3://{BUCKET}/ml?env=dev", "has a query string"),
        (f"s3://{BUCKET}/ml prod", "prefix segment 'ml prod'"),
        (f"s3://{BUCKET}/a/../b", "prefix segment '..'"),
        (f"s3://{BUCKET}/a//b", "prefix segment ''"),
        ("s3://Bad_Bucket/x", "is not a valid S3 bucket name"),
    ],
)
def test_odd_s3_urls_are_refused(s3: object, isolated_home: Path, url: str, message: str) -> None:
    res = cli("extract", "--scale", "1000", "--to", url)
    assert res.exit_code == 4, res.output
    assert message in res.output.replace("\n", "")
    assert _keys(s3) == []  # nothing landed anywhere


def test_file_urls_with_fragment_are_refused_and_paths_are_printed_as_used(isolated_home: Path, tmp_path: Path) -> None:
    res = cli("extract", "--scale", "1000", "--to", f"{tmp_path.as_uri()}/lz#prod")
    assert res.exit_code == 4 and "has a fragment" in res.output, res.output
    assert not (tmp_path / "lz").exists()
    odd = tmp_path / "a#b"
    res = cli("extract", "--scale", "1000", "--to", str(odd))
    assert res.exit_code == 0, res.output
    assert (odd / "batch=0001" / "manifest.json").is_file()
    flat = "".join(res.output.split())  # the table title wraps
    assert f"extractedbatch1to{odd.as_uri()}" in flat and "a%23b" in flat  # what is printed is what is used


# 5. concurrent extracts, killed commands ----------------------------------------------------------
def _race(url: str, delay: float = 0.0) -> list[object]:
    """Two extracts at once (the second ``delay`` seconds later); the batch number or the error."""
    barrier = threading.Barrier(2)
    outcomes: list[object] = [None, None]

    def one(i: int) -> None:
        barrier.wait()
        time.sleep(delay * i)
        try:
            outcomes[i] = extract("synthetic", url, scale=1_000, seed=i).batch
        except (LockError, IngestError) as e:
            outcomes[i] = e

    threads = [threading.Thread(target=one, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def _check_race(url: str, outcomes: list[object], tmp_path: Path) -> str:
    landing = Landing.from_url(url)
    batches = landing.list_batches() if any(isinstance(o, int) for o in outcomes) else []
    numbers = sorted(o for o in outcomes if isinstance(o, int))
    refused = [o for o in outcomes if not isinstance(o, int)]
    assert [b.batch for b in batches] == numbers  # every "extracted batch N" is there, none lost
    assert numbers in ([1, 2], [1]), outcomes
    if refused:
        assert len(refused) == 1 and isinstance(refused[0], LockError), refused
        assert "is being written by another extract" in str(refused[0])
    for b in batches:  # each batch is whole: every file matches its manifest
        landing.fetch(b, tmp_path / f"check-{b.batch}")
    return "two batches" if len(numbers) == 2 else "one refusal"


def test_concurrent_local_extracts_never_lose_a_batch(tmp_path: Path) -> None:
    seen = set()
    for trial in range(20):
        url = str(tmp_path / f"lz{trial}")
        seen.add(_check_race(url, _race(url), tmp_path / f"t{trial}"))
    assert seen == {"two batches"}  # the second waits for the lock, then takes the next number


def test_concurrent_s3_extracts_give_two_batches_or_one_refusal(s3: object, tmp_path: Path) -> None:
    seen = set()
    for trial in range(20):
        url = f"s3://{BUCKET}/race{trial}"  # the second starts 0, 0.5, 1 or 1.5 s after the first
        seen.add(_check_race(url, _race(url, delay=(trial % 4) * 0.5), tmp_path / f"t{trial}"))
        assert not [k for k in _keys(s3, f"race{trial}/") if k.endswith("_claim.json")]  # claims released
    assert seen == {"two batches", "one refusal"}  # both outcomes happened, and each was checked


def test_s3_claims_of_live_writers_refuse_and_of_dead_ones_are_taken_over(s3: object) -> None:
    url = f"s3://{BUCKET}/claims"
    claim = {"token": "t", "pid": 1, "host": os.uname().nodename, "started_at": datetime.now(UTC).isoformat()}
    s3.put_object(Bucket=BUCKET, Key="claims/batch=0001/_claim.json", Body=json.dumps(claim).encode())  # type: ignore[attr-defined]
    with pytest.raises(
        LockError,
        match=r"batch 1 of landing s3://hostile-landing/claims is being written by another extract \(pid 1 on ",
    ):
        extract("synthetic", url, scale=1_000)
    assert _keys(s3, "claims/") == ["claims/batch=0001/_claim.json"]
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    claim["pid"] = int(dead.stdout)  # a pid that has exited: its extract was killed
    s3.put_object(Bucket=BUCKET, Key="claims/batch=0001/_claim.json", Body=json.dumps(claim).encode())  # type: ignore[attr-defined]
    s3.put_object(Bucket=BUCKET, Key="claims/batch=0001/ratings.csv", Body=b"half")  # type: ignore[attr-defined]
    assert extract("synthetic", url, scale=1_000).batch == 1
    keys = _keys(s3, "claims/")
    assert "claims/batch=0001/_claim.json" not in keys and "claims/batch=0001/manifest.json" in keys


def test_a_completed_s3_manifest_is_never_replaced(s3: object) -> None:
    url = f"s3://{BUCKET}/done"
    first = extract("synthetic", url, scale=1_000)
    landing = Landing.from_url(url)
    with pytest.raises(LockError, match="was completed by another extract"):
        landing._write_manifest(first.model_copy(update={"source": "an impostor"}))
    assert landing.list_batches()[0].source == first.source


def _env(tmp: Path, home: Path) -> dict[str, str]:
    env = {**os.environ, "TMPDIR": str(tmp), "NETFLIX_ELT_HOME": str(home), "NETFLIX_ELT_TARGET_PATH": str(home / "t")}
    env.pop("NETFLIX_ELT_FAULT", None)
    return env


def _leftovers(tmp: Path) -> list[str]:
    return sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*"))


def test_commands_and_killed_loads_leave_no_temp_files(tmp_path: Path) -> None:
    """A command leaves nothing in the temp folder; a SIGKILLed load's files go at the next start."""
    tmp, home = tmp_path / "tmp", tmp_path / "home"
    tmp.mkdir()
    env = _env(tmp, home)
    cmd = [sys.executable, "-m", "netflix_elt.cli"]
    lz = tmp_path / "lz"
    subprocess.run([*cmd, "extract", "--scale", "1000", "--to", str(lz)], env=env, check=True, capture_output=True)
    root = f"netflix-elt-{os.getuid()}"
    assert _leftovers(tmp) == [root]
    subprocess.run([*cmd, "tables", "--project-dir", str(PROJECT_DIR)], env=env, check=True, capture_output=True)
    assert _leftovers(tmp) == [root], _leftovers(tmp)  # no empty fakesnow_bucket_* left behind
    killed = subprocess.run(
        [*cmd, "load", "--from", str(lz), "--project-dir", str(PROJECT_DIR)],
        env={**env, "NETFLIX_ELT_FAULT": "load.copy:1"},
        capture_output=True,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    left = _leftovers(tmp)
    assert any("netflix-elt-load-" in p for p in left) and any("fakesnow_bucket_" in p for p in left), left
    subprocess.run([*cmd, "ls", "--project-dir", str(PROJECT_DIR)], env=env, check=True, capture_output=True)
    assert _leftovers(tmp) == [root], _leftovers(tmp)


# 6. rich markup ----------------------------------------------------------------------------------
def test_markup_and_emoji_in_user_text_are_printed_as_text(isolated_home: Path, tmp_path: Path) -> None:
    res = cli("show", "a:x:b:smile:")
    assert res.exit_code == 2
    assert "a:x:b:smile:" in res.output and "\N{SMILING FACE WITH OPEN MOUTH AND SMILING EYES}" not in res.output
    transforms = """
from netflix_elt import transform


@transform(layer="staging", materialized="table")
def stg_items(raw_items):
    return raw_items.select("id", "name")
"""
    write_tiny_project(tmp_path, "markup", TINY, transforms, "id,name\n1,[red]styled[/red] :smile:\n2,[bold]\n")
    built = cli("build", "--from", str(tmp_path / "landing"), project=tmp_path)
    assert built.exit_code == 0, built.output
    res = cli("show", "stg_items", project=tmp_path)
    assert res.exit_code == 0, res.output
    assert "[red]styled[/red] :smile:" in res.output and "[bold]" in res.output


# 7. --debug tracebacks ---------------------------------------------------------------------------
def test_debug_tracebacks_are_scrubbed(tmp_path: Path) -> None:
    """A connector error echoing the connections.toml password, shown with --debug."""
    home = tmp_path / "sfhome"
    home.mkdir()
    (home / "connections.toml").write_text(
        f'[default]\naccount = "acme-test"\nuser = "ROBOT"\npassword = "{SECRET}"\n'
        'private_key_file_pwd = "keypass-Hs42-never-print-me"\n'
    )
    script = (
        "import netflix_elt.adapters.snowflake as e, netflix_elt.connections as c\n"
        "real = c.snowflake_connection_params\n"
        "def leaky(*a, **k):\n"
        "    p = real(*a, **k)\n"
        "    raise RuntimeError(f'250001: could not connect with {p}')\n"
        "e.snowflake_connection_params = leaky\n"
        "from netflix_elt.cli import main\n"
        "main()\n"
    )
    env = {**_env(tmp_path, tmp_path / "home"), "SNOWFLAKE_HOME": str(home), "AWS_SECRET_ACCESS_KEY": "aws-Hs43-secret"}
    args = ["tables", "--profile", "snowflake", "--project-dir", str(PROJECT_DIR)]
    for extra in ([], ["--debug"]):
        proc = subprocess.run([sys.executable, "-c", script, *args, *extra], env=env, capture_output=True, text=True)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 2, out
        for secret in (SECRET, "keypass-Hs42-never-print-me"):
            assert secret not in out, out
        if extra:
            assert "Traceback (most recent call last)" in out and "RuntimeError: 250001" in out and "***" in out


# 8. docs serve -----------------------------------------------------------------------------------
def test_docs_serve_has_no_directory_listings(tmp_path: Path) -> None:
    from netflix_elt.docs.serve import make_server, url_of

    site = tmp_path / "docs"
    (site / "nodes").mkdir(parents=True)
    (site / "index.html").write_text("<h1>docs</h1>")
    (site / "nodes" / "secret_model.html").write_text("x")
    server = make_server(site, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = url_of(server)
        assert urllib.request.urlopen(base, timeout=5).read() == b"<h1>docs</h1>"
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(base + "nodes/", timeout=5)
        assert e.value.code == 404 and b"secret_model" not in e.value.read()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
