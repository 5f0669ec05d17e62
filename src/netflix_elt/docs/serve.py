"""`netflix-elt docs serve`: the generated site over HTTP on 127.0.0.1, read-only.

It only serves files, so it needs no warehouse and no session; binding to the loopback address
keeps the docs (which include SQL and source code) off the network.
"""

from __future__ import annotations

import functools
import os
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from netflix_elt.errors import ConfigError

DEFAULT_PORT = 8080


class _Handler(SimpleHTTPRequestHandler):
    """Static files only; one short log line per request instead of the default's timestamps."""

    def list_directory(self, path: str | os.PathLike[str]) -> None:
        """No directory listings: a folder without index.html is 404, not a list of its files."""
        self.send_error(HTTPStatus.NOT_FOUND, "File not found")
        return None

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
        pass


def make_server(site_dir: Path, port: int = DEFAULT_PORT, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """A server for `site_dir` (not started); port 0 picks a free port, see `server.server_port`."""
    if not (site_dir / "index.html").is_file():
        raise ConfigError(f"{site_dir / 'index.html'} does not exist; run `netflix-elt docs generate` first")
    handler = functools.partial(_Handler, directory=str(site_dir))
    try:
        return ThreadingHTTPServer((host, port), handler)
    except OSError as e:
        raise ConfigError(f"cannot serve on {host}:{port} ({e.strerror}); pass another --port, or 0") from None


def url_of(server: ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}/"
