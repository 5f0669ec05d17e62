"""`netflix-elt dashboard`: the Streamlit app in `dashboards/`, run on 127.0.0.1 or deployed to Snowflake.

Locally the app runs in a server process of its own (Streamlit's server, headless, on 127.0.0.1),
which opens the warehouse with `netflix_elt.connect()` and caches the first page's queries before it
answers (the first render then runs no SQL). On the
embedded engine that session holds the warehouse lock like a notebook's (command `netflix-elt
dashboard`) until the server stops: a CLI command started meanwhile exits 3 naming the dashboard's
pid, never an HTTP 500, and `dashboard` itself refuses at once (exit 3) while a command writes.

`--deploy` (or `--print-sql`) with the snowflake profile uploads the app's files to an internal
stage and creates the Streamlit object from them on Streamlit in Snowflake's container runtime, which
installs `requirements.txt` (the local lock's Streamlit, 1.52.2) from PyPI; its warehouse runtime
offers Streamlit up to 1.51.0 only, which cannot install beside the lock (README, Dashboard).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

from netflix_elt.config import Settings
from netflix_elt.errors import ConfigError, LockError, NetflixEltError
from netflix_elt.sql import string

COMMAND = "netflix-elt dashboard"
APP_FOLDER = "dashboards"
MAIN_FILE = "movielens.py"
APP_FILES = (MAIN_FILE, "movielens_data.py", "movielens_queries.py", "requirements.txt")
STAGE = "NETFLIX_ELT_DASHBOARDS"
RUNTIME = "SYSTEM$ST_CONTAINER_RUNTIME_PY3_11"  # Streamlit from PyPI (1.50 on); Python 3.11 like the lock
APP_NAME = "MOVIELENS_DASHBOARD"
HOST = "127.0.0.1"


def app_files(settings: Settings) -> list[Path]:
    """The app's files in the project, every one checked to exist."""
    folder = settings.project_dir / APP_FOLDER
    files = [folder / name for name in APP_FILES]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise ConfigError(f"the dashboard's files are missing: {', '.join(missing)}")
    return files


def claim_port(port: int) -> int:
    """`port` if it is free on 127.0.0.1 (0: a free one), else a ConfigError saying how to pick another."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((HOST, port))
        except OSError as e:
            raise ConfigError(
                f"port {port} on {HOST} is in use ({e.strerror}): "
                "pick another with --port N, or --port 0 for a free one"
            ) from None
        return int(s.getsockname()[1])


def check_warehouse(settings: Settings) -> None:
    """On an engine that one process opens at a time, fail now (LockError, exit 3) while a command writes."""
    from netflix_elt.adapters import adapter_class
    from netflix_elt.lock import warehouse_lock

    if adapter_class(settings).exclusive_warehouse:
        with warehouse_lock(settings.state_dir, COMMAND, 0):
            pass


def server_args(app: Path, port: int) -> list[str]:
    """This module as the server process: it opens the warehouse, then runs Streamlit in the same process."""
    return [sys.executable, "-m", "netflix_elt.dashboard", str(app), str(port)]


STREAMLIT_FLAGS = {  # `streamlit run` on loopback, headless, without telemetry or a file watcher
    "server.address": HOST,
    "server.headless": True,
    "browser.gatherUsageStats": False,
    "server.fileWatcherType": "none",
    "global.developmentMode": False,
}


def start(settings: Settings, port: int, *, timeout: float = 60.0) -> tuple[subprocess.Popen[bytes], str]:
    """Start the app's server and wait until it answers its health check; (process, URL)."""
    app = app_files(settings)[0]
    check_warehouse(settings)
    port = claim_port(port)
    env = {
        **os.environ,
        "NETFLIX_ELT_PROJECT_DIR": str(settings.project_dir),
        "NETFLIX_ELT_TARGET": settings.target,
        "NETFLIX_ELT_PROFILE": settings.profile,
    }
    log_path = settings.target_dir / "dashboard.log"  # the server's own output, never a pipe nobody reads
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            server_args(app, port), cwd=settings.project_dir, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://{HOST}:{port}/"
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            lines = log_path.read_text(errors="replace").strip().splitlines()
            last = lines[-1] if lines else "no output"
            if proc.returncode == LockError.exit_code:  # a writer took the warehouse meanwhile
                raise LockError(last)
            raise NetflixEltError(f"the dashboard exited with code {proc.returncode}: {last} (all of it: {log_path})")
        with contextlib.suppress(OSError), urllib.request.urlopen(url + "_stcore/health", timeout=2) as r:
            if r.status == 200:
                return proc, url
        if time.monotonic() > deadline:
            stop(proc)
            raise NetflixEltError(f"streamlit did not answer on {url} within {timeout:.0f}s")
        time.sleep(0.2)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server (SIGTERM, then SIGKILL after 10 s); its session and the warehouse lock go with it."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def serve(settings: Settings, port: int, echo: Callable[[str], None]) -> int:
    """Run the app until Ctrl-C or until it exits; its exit code."""
    proc, url = start(settings, port)
    echo(f"Dashboard at {url} (target {settings.target}, profile {settings.profile}; Ctrl-C to stop)")
    try:
        return proc.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        stop(proc)


# Streamlit in Snowflake ---------------------------------------------------------------------------
def deploy_statements(settings: Settings) -> list[str]:
    """Stage the app's files and create the Streamlit object in the target schema, from that stage.

    The app's session there has the app's schema current, where the marts are (the same target).
    """
    from netflix_elt.scripts import check_profile

    check_profile(settings)
    profile = settings.profile_config
    needs = {
        "warehouse": "a query warehouse",
        "compute_pool": "a compute pool for the container runtime",
        "pypi_access_integration": "an external access integration to PyPI, for requirements.txt",
    }
    for key, what in needs.items():
        if not getattr(profile, key):
            raise ConfigError(f"--deploy needs {what}: set {key} in [profiles.{settings.profile}]")
    stage = settings.fqn(settings.target_schema, STAGE)
    folder = f"@{stage}/{APP_NAME.lower()}"
    puts = [
        f"PUT {string('file://' + str(f.resolve()))} {folder} AUTO_COMPRESS = FALSE OVERWRITE = TRUE"
        for f in app_files(settings)
    ]
    return [
        f"CREATE STAGE IF NOT EXISTS {stage}",
        *puts,
        f"CREATE OR REPLACE STREAMLIT {settings.fqn(settings.target_schema, APP_NAME)}\n"
        f"  FROM {string(folder)}\n"
        f"  MAIN_FILE = {string(MAIN_FILE)}\n"
        f"  QUERY_WAREHOUSE = {profile.warehouse}\n"
        f"  RUNTIME_NAME = {string(RUNTIME)}\n"
        f"  COMPUTE_POOL = {profile.compute_pool}\n"
        f"  COMMENT = 'netflix-elt dashboard over the {settings.target_schema} marts'\n"
        f"  TITLE = 'MovieLens'\n"
        f"  EXTERNAL_ACCESS_INTEGRATIONS = ({profile.pypi_access_integration})",
    ]


def deploy_script(settings: Settings) -> str:
    from netflix_elt.scripts import render

    return render([("deploy the dashboard (netflix-elt dashboard --deploy)", deploy_statements(settings))])


def deploy(settings: Settings, echo: Callable[[str], None]) -> Sequence[str]:
    """Run the deploy statements on the account, echoing each; the statements run."""
    from netflix_elt.adapters import adapter_for

    statements = deploy_statements(settings)
    adapter = adapter_for(settings, command=f"{COMMAND} --deploy")
    try:
        for stmt in statements:
            adapter.session.sql(stmt).collect()
            echo(stmt.splitlines()[0])
    finally:
        adapter.close()
    return statements


def _run_server(app: str, port: int) -> None:
    """The server process: open the warehouse and fill the app's caches before Streamlit answers (so
    the first page runs no query, and a CLI command meanwhile gets the lock's message), then serve."""
    import netflix_elt

    try:
        netflix_elt.connect(command=COMMAND)
    except NetflixEltError as e:
        print(str(e), file=sys.stderr, flush=True)
        sys.exit(e.exit_code)
    warm_app(Path(app).parent)
    from streamlit.web import bootstrap

    flags = {**STREAMLIT_FLAGS, "server.port": port}
    bootstrap.load_config_options(flag_options=flags)
    bootstrap.run(app, False, [], flags)


def warm_app(folder: Path) -> None:
    """Run the first page's queries through the app's own cached functions (movielens_data.warm), in
    this process, where Streamlit keeps its caches. A warehouse without marts is left to the page to
    explain; this only says so in the server's log."""
    import logging

    sys.path.insert(0, str(folder))  # as `streamlit run` does: the app imports its modules by name
    quiet = [logging.getLogger(n) for n in ("streamlit.runtime.caching", "streamlit.runtime.scriptrunner_utils")]
    levels = [logger.level for logger in quiet]
    for logger in quiet:  # "no runtime / no ScriptRunContext" warnings: expected before the server runs
        logger.setLevel(logging.ERROR)
    try:
        import movielens_data

        movielens_data.warm()
    except Exception as e:  # the page shows the same error, as one line
        print(f"dashboard: first page not cached ({str(e).strip().splitlines()[0]})", file=sys.stderr, flush=True)
    finally:
        for logger, level in zip(quiet, levels, strict=True):
            logger.setLevel(level)


if __name__ == "__main__":
    _run_server(sys.argv[1], int(sys.argv[2]))
