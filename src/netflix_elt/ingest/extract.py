"""Extract: put one new batch of MovieLens files into a landing zone, whatever the source.

Sources: ``synthetic`` (the deterministic generator), ``grouplens:<name>`` (a verified GroupLens
download, cached), or a folder of GroupLens-named CSV files. Files are staged in a temporary
folder first and landed with :meth:`Landing.write_batch`, whose manifest is written last. The
batch number is reserved (:meth:`Landing.allocate`) before anything is generated or copied, so two
extracts at once give two batches or one clear refusal.

From a folder only the declared GroupLens files are copied, and only if they are regular files:
a symlink (say README.txt -> ~/.snowflake/connections.toml), device or directory in their place is
refused naming it, unless ``follow_symlinks`` (``--follow-symlinks``) asks for its target.

A CSV file larger than ``split_size`` (``--split-size``, uncompressed bytes) lands as parts of one
batch (``landing/split.py``), which both loaders read as one logical file. The default on an
``s3://`` landing, ``DEFAULT_SPLIT_SIZE`` = 400 MB uncompressed, is about 100 MB compressed, the low
end of Snowflake's advice of 100-250 MB compressed per file, at the roughly 4:1 gzip ratio of these
numeric CSV files (an estimate, not measured per file); a local folder keeps files whole unless a
size is given (the embedded engine's parse gains nothing from parts). 0 never splits.
"""

from __future__ import annotations

import os
from pathlib import Path

from netflix_elt import tempfiles
from netflix_elt.errors import IngestError
from netflix_elt.ingest.landing import BatchManifest, Landing
from netflix_elt.ingest.landing.files import copy_verified, open_regular
from netflix_elt.ingest.landing.split import DEFAULT_SPLIT_SIZE
from netflix_elt.movielens.generator import FILE_HEADERS, generate, parse_scale

_HINT = " (--follow-symlinks copies its target)"

__all__ = ["DEFAULT_CACHE_DIR", "DEFAULT_SPLIT_SIZE", "GROUPLENS_FILES", "extract"]


DEFAULT_CACHE_DIR = Path("~/.cache/netflix-elt/grouplens")
# The GroupLens files we land, in load order; README.txt carries the licence and travels with the data.
GROUPLENS_FILES = (*FILE_HEADERS, "README.txt")


def _present(folder: Path, *, follow_symlinks: bool = False) -> list[str]:
    """The declared files present in ``folder``; anything but a regular file there is refused."""
    names = [n for n in GROUPLENS_FILES if os.path.lexists(folder / n)]
    for n in names:
        os.close(open_regular(folder / n, follow_symlinks=follow_symlinks, hint=_HINT))
    missing = [n for n in ("ratings.csv", "movies.csv") if n not in names]
    if missing:
        raise IngestError(f"source folder {folder} has no {' or '.join(missing)}: not a MovieLens folder")
    return names


def extract(
    source: str,
    to_url: str,
    *,
    scale: str | int = "small",
    seed: int = 42,
    batch: int | None = None,
    cache_dir: Path | None = None,
    follow_symlinks: bool = False,
    split_size: int | None = None,
) -> BatchManifest:
    """Land one batch from ``source`` at ``to_url`` and return its manifest.

    ``batch`` must be the landing's next batch number when given (batches are loaded in order);
    for ``synthetic`` it defaults to that number and selects the generator batch. ``split_size``:
    the most uncompressed bytes of one landed part (0: never split; None: the landing's default,
    ``DEFAULT_SPLIT_SIZE`` on S3 and whole files in a local folder; see the module docstring).
    """
    landing = Landing.from_url(to_url, declared=GROUPLENS_FILES)
    split_size = landing.default_split_size if split_size is None else split_size
    if split_size < 0:
        raise IngestError(f"split size {split_size} is negative: use 0 (never split) or a number of bytes")
    src = source.strip()
    with landing.allocate(batch) as k, tempfiles.work_dir("netflix-elt-extract-") as work:
        if src == "synthetic":
            n = parse_scale(scale)
            counts = generate(work, scale=scale, seed=seed, batch=k)
            files = [name for name in FILE_HEADERS if name in counts]
            description = f"synthetic scale={scale} ({n} ratings) seed={seed} batch={k}"
            folder = work
        elif src.startswith("grouplens:"):
            from netflix_elt.movielens.grouplens import download

            name = src.split(":", 1)[1]
            cache = Path(cache_dir or DEFAULT_CACHE_DIR).expanduser()
            folder = download(name, cache)
            files = _present(folder, follow_symlinks=follow_symlinks)
            description = f"grouplens:{name} ({folder})"
        else:
            folder = Path(src).expanduser()
            if not folder.is_dir():
                raise IngestError(
                    f"source {source!r} is neither 'synthetic', 'grouplens:<name>' nor an existing folder"
                )
            files = _present(folder, follow_symlinks=follow_symlinks)
            staged = work / "files"
            staged.mkdir()
            for name in files:  # a snapshot: the source folder may change while we land it
                copy_verified(folder / name, staged / name, follow_symlinks=follow_symlinks, hint=_HINT)
            description = f"folder {folder.resolve()}"
            folder = staged
        return landing.write_batch(folder, files, source=description, number=k, split_size=split_size)
