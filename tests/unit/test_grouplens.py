"""GroupLens downloads against a local HTTP server: checksum, resume, truncation, corruption."""

from __future__ import annotations

import hashlib
import re
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from netflix_elt.errors import IngestError
from netflix_elt.movielens.grouplens import DATASETS, download

NAME = "ml-latest-small"


@dataclass
class Served:
    """What the fake files.grouplens.org serves, and what it was asked."""

    body: bytes = b""
    md5: str = ""
    truncate_to: int | None = None  # send only this many bytes of each response body
    corrupt: bool = False
    ranges: list[str | None] = field(default_factory=list)


def _handler(served: Served) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server API
            if self.path.endswith(f"/{NAME}.zip.md5"):
                payload = f"MD5 ({NAME}.zip) = {served.md5}\n".encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
            if not self.path.endswith(f"/{NAME}.zip"):
                self.send_error(404)
                return
            body = served.body
            if served.corrupt:
                body = body[:100] + bytes([body[100] ^ 0xFF]) + body[101:]
            rng = self.headers.get("Range")
            served.ranges.append(rng)
            start = 0
            if rng:
                start = int(re.fullmatch(r"bytes=(\d+)-", rng).group(1))  # type: ignore[union-attr]
                if start >= len(body):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(body)}")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            chunk = body[start:]
            self.send_header("Content-Length", str(len(chunk)))
            self.end_headers()
            if served.truncate_to is not None:
                chunk = chunk[: served.truncate_to]
            self.wfile.write(chunk)
            self.wfile.flush()
            self.close_connection = True

    return Handler


@pytest.fixture
def server(fixture_dir: Path, tmp_path: Path) -> Iterator[tuple[str, Served]]:
    archive = tmp_path / "served.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(fixture_dir.iterdir()):
            zf.write(p, f"{NAME}/{p.name}")
    body = archive.read_bytes()
    served = Served(body=body, md5=hashlib.md5(body).hexdigest())
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(served))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/datasets/movielens/", served
    finally:
        httpd.shutdown()
        httpd.server_close()


def _check_folder(folder: Path, fixture_dir: Path) -> None:
    for name in ("ratings.csv", "movies.csv", "tags.csv", "links.csv", "README.txt"):
        assert (folder / name).read_bytes() == (fixture_dir / name).read_bytes()


def test_good_download_is_verified_cached_and_unzipped(
    server: tuple[str, Served], fixture_dir: Path, tmp_path: Path
) -> None:
    base, served = server
    cache = tmp_path / "cache"
    folder = download(NAME, cache, base_url=base, progress=False)
    assert folder == cache / NAME
    _check_folder(folder, fixture_dir)
    assert (cache / f"{NAME}.zip").read_bytes() == served.body
    assert not (cache / f"{NAME}.zip.part").exists()
    # a second call uses the cache: no new request for the zip
    asked = len(served.ranges)
    assert download(NAME, cache, base_url=base, progress=False) == folder
    assert len(served.ranges) == asked


def test_resume_after_truncated_part(server: tuple[str, Served], fixture_dir: Path, tmp_path: Path) -> None:
    base, served = server
    cache = tmp_path / "cache"
    cache.mkdir()
    half = len(served.body) // 2
    (cache / f"{NAME}.zip.part").write_bytes(served.body[:half])
    folder = download(NAME, cache, base_url=base, progress=False)
    assert served.ranges == [f"bytes={half}-"]
    _check_folder(folder, fixture_dir)


def test_server_that_truncates_the_body(server: tuple[str, Served], fixture_dir: Path, tmp_path: Path) -> None:
    base, served = server
    served.truncate_to = 50_000
    cache = tmp_path / "cache"
    with pytest.raises(IngestError, match=rf"{re.escape(base)}{NAME}\.zip.*truncated"):
        download(NAME, cache, base_url=base, progress=False)
    part = cache / f"{NAME}.zip.part"
    assert not (cache / f"{NAME}.zip").exists()
    assert part.stat().st_size == 3 * 50_000  # three attempts, each resumed where the last stopped
    assert served.ranges == [None, "bytes=50000-", "bytes=100000-"]
    served.truncate_to = None  # the next run resumes and completes
    _check_folder(download(NAME, cache, base_url=base, progress=False), fixture_dir)
    assert served.ranges[-1] == "bytes=150000-"


def test_corrupted_download_is_deleted(server: tuple[str, Served], tmp_path: Path) -> None:
    base, served = server
    served.corrupt = True
    cache = tmp_path / "cache"
    with pytest.raises(IngestError) as err:
        download(NAME, cache, base_url=base, progress=False)
    message = str(err.value)
    assert f"{base}{NAME}.zip" in message and served.md5 in message
    assert re.search(r"got [0-9a-f]{32}", message)
    assert not (cache / f"{NAME}.zip").exists() and not (cache / f"{NAME}.zip.part").exists()


def test_corrupt_cached_zip_is_replaced(server: tuple[str, Served], fixture_dir: Path, tmp_path: Path) -> None:
    base, served = server
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / f"{NAME}.zip").write_bytes(b"not a zip")
    _check_folder(download(NAME, cache, base_url=base, progress=False), fixture_dir)
    assert (cache / f"{NAME}.zip").read_bytes() == served.body


def test_unknown_dataset_lists_the_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="ml-99m") as err:
        download("ml-99m", tmp_path, base_url="http://127.0.0.1:9/", progress=False)
    assert all(name in str(err.value) for name in DATASETS)
