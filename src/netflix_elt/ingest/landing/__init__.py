"""The landing zone: immutable, numbered batches of source files, on a local folder or S3.

Layout (same on both backends)::

    <landing>/batch=0001/ratings.csv ... manifest.json
    <landing>/batch=0002/...

A batch is complete only once its ``manifest.json`` exists, and the manifest is written LAST
(atomically for local folders), so a reader never sees a half-written batch. A new batch takes
the number after the highest complete one; leftovers of an interrupted write under that number
are removed first. S3 goes through boto3 with the standard credential chain; boto3 itself honours
``AWS_ENDPOINT_URL``/``AWS_ENDPOINT_URL_S3`` (MinIO, moto), so no endpoint or secret is passed here.

The landing zone is written by other people and systems, so nothing in it is trusted: manifest
entries must be plain file names from the declared set (checked when the manifest is parsed,
before any byte is written), S3 objects are downloaded into the caller's private folder and
verified there (size and sha256) before use, a local batch's files are read once each through a
descriptor that refuses links and checked against the manifest as they are read (the parsed bytes
are the checked ones, with no private copy), and symlinks or other non-regular files are refused.
A new batch number is allocated atomically: under a file lock on a local folder, and with
conditional writes (``If-None-Match: *``) on S3, so two concurrent extracts never share a number.

Modules: ``manifest`` (the manifest models, entry-name checks, file digests), ``files`` (regular
files only: opening and verified copying), ``base`` (the ``Landing`` interface and URL checks),
``local`` (a folder on this machine) and ``s3`` (a bucket and prefix).
"""

from __future__ import annotations

from netflix_elt.ingest.landing.base import Landing
from netflix_elt.ingest.landing.manifest import BatchManifest

__all__ = ["BatchManifest", "Landing"]
