"""`netflix-elt warm`: commands run in a fork of a warm process, as they run cold.

Each test has its own socket folder (NETFLIX_ELT_WARM_DIR), so a developer's own warm process is
never used. What a command prints and its exit code are compared with the same command run cold
(NETFLIX_ELT_WARM=0); that it really ran warm is read from the warm process's request count.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from netflix_elt import warm
from netflix_elt.warm import client
from netflix_elt.warm.server import encode, receive
from tests.conftest import PROJECT_DIR

CLI = [sys.executable, "-m", "netflix_elt.cli"]


def run(args: list[str], env: dict[str, str], cwd: Path = PROJECT_DIR, **kw: object) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120, **kw)


def requests(env: dict[str, str]) -> int:
    """Requests the warm process served before this status call (which is one more)."""
    res = run(["warm", "status"], env)
    assert res.returncode == 0, res.stdout + res.stderr
    return int(res.stdout.split(" requests served")[0].rsplit(" ", 1)[1])


def _started(folder: Path, root: Path) -> dict[str, str]:
    """An environment with its own socket folder and state folders, and a warm process started in it."""
    env = {
        **os.environ,
        warm.ENV_DIR: str(folder),
        "NETFLIX_ELT_HOME": str(root / "home"),
        "NETFLIX_ELT_TARGET_PATH": str(root / "target"),
    }
    env.pop(warm.ENV_OFF, None)
    res = run(["warm", "start", "--idle-minutes", "10"], env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "warm process started" in res.stdout
    return env


def _folder(name: str) -> Path:
    return Path(f"/tmp/nw-{os.getpid()}-{name}")  # short: a socket's path has at most 108 bytes


@pytest.fixture(scope="module")
def shared_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """One warm process for the tests that leave it running (each gives its own state folders)."""
    folder = _folder("shared")
    env = _started(folder, tmp_path_factory.mktemp("warm"))
    yield env
    run(["warm", "stop"], env)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def warm_env(shared_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    home, target = str(tmp_path / "home"), str(tmp_path / "target")
    return {**shared_env, "NETFLIX_ELT_HOME": home, "NETFLIX_ELT_TARGET_PATH": target}


@pytest.fixture
def own_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A warm process of this test's own (the test stops or kills it)."""
    folder = _folder(tmp_path.name[-20:])
    env = _started(folder, tmp_path)
    yield env
    run(["warm", "stop"], env)
    shutil.rmtree(folder, ignore_errors=True)


def cold(env: dict[str, str]) -> dict[str, str]:
    return {**env, warm.ENV_OFF: "0"}


def test_commands_print_and_exit_as_they_do_cold(warm_env: dict[str, str], tmp_path: Path) -> None:
    for args in (["validate", "--help"], ["run", "-s", "dim_movis"], ["no-such-command"]):
        before = requests(warm_env)
        hot = run(args, warm_env)
        assert requests(warm_env) == before + 2, args  # the status call, and the command ran warm
        plain = run(args, cold(warm_env))
        assert (hot.returncode, hot.stdout, hot.stderr) == (plain.returncode, plain.stdout, plain.stderr), args
    bad = run(["run", "-s", "dim_movis"], warm_env)
    assert bad.returncode == 2 and "did you mean 'dim_movies'" in bad.stderr, bad.stderr
    # the caller's folder and environment: `new` scaffolds a relative folder where the caller is
    (tmp_path / "here").mkdir()
    res = run(["new", "proj"], warm_env, cwd=tmp_path / "here")
    assert res.returncode == 0, res.stdout + res.stderr
    assert (tmp_path / "here" / "proj" / "config" / "netflix_elt.toml").is_file()


def test_the_warm_process_and_its_commands_run_without_huge_pages(warm_env: dict[str, str]) -> None:
    res = run(["warm", "status"], warm_env)
    status = Path(f"/proc/{int(res.stdout.split('pid ')[1].split(',')[0])}/status").read_text()
    if "THP_enabled" not in status:
        pytest.skip("needs Linux 5.0+ (THP_enabled in /proc/PID/status)")
    assert "THP_enabled:\t0" in status  # its forks inherit it (huge_pages.py)


def test_warm_off_runs_cold(warm_env: dict[str, str]) -> None:
    before = requests(warm_env)
    assert run(["validate", "--help"], cold(warm_env)).returncode == 0
    assert requests(warm_env) == before + 1  # only the status call itself


def test_a_build_runs_warm_on_the_fixture(warm_env: dict[str, str], fixture_dir: Path) -> None:
    res = run(["build", "--from", str(fixture_dir), "-q"], warm_env)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert "Completed successfully" in res.stdout
    target = Path(warm_env["NETFLIX_ELT_TARGET_PATH"])
    assert (target / "run_results.json").is_file()  # written under the caller's NETFLIX_ELT_TARGET_PATH
    hot = run(["validate", "-s", "dim_movies"], warm_env)
    plain = run(["validate", "-s", "dim_movies"], cold(warm_env))
    assert hot.returncode == plain.returncode == 0
    assert "PASS=5" in hot.stdout and "PASS=5" in plain.stdout


def _serving(env: dict[str, str], target: Path) -> tuple[subprocess.Popen, int]:
    """`docs serve --port 0` through the warm process: the caller and the port it serves on."""
    (target / "docs").mkdir(parents=True)
    (target / "docs" / "index.html").write_text("<html></html>")
    proc = subprocess.Popen([*CLI, "docs", "serve", "--port", "0"], env=env, cwd=PROJECT_DIR,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert "Serving docs at http://127.0.0.1:" in line, line + proc.stderr.read() if proc.stderr else line
    return proc, int(line.split("127.0.0.1:")[1].split("/")[0])


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _until(check: object, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def test_ctrl_c_reaches_the_command(warm_env: dict[str, str]) -> None:
    proc, port = _serving(warm_env, Path(warm_env["NETFLIX_ELT_TARGET_PATH"]))
    assert _listening(port)
    proc.send_signal(signal.SIGINT)
    code = proc.wait(timeout=30)
    assert code == 130, (code, proc.stderr.read() if proc.stderr else "")
    assert not _listening(port)


def test_termination_ends_both_as_it_ends_a_cold_command(warm_env: dict[str, str]) -> None:
    target = Path(warm_env["NETFLIX_ELT_TARGET_PATH"])
    codes = []
    for env in (cold(warm_env), warm_env):
        shutil.rmtree(target, ignore_errors=True)
        proc, port = _serving(env, target)
        proc.send_signal(signal.SIGTERM)
        codes.append(proc.wait(timeout=30))
        assert _until(lambda port=port: not _listening(port))
    assert codes == [-signal.SIGTERM, -signal.SIGTERM]  # killed by the signal, not an exit code


def test_a_caller_gone_before_the_command_started_ends_it(warm_env: dict[str, str]) -> None:
    target = Path(warm_env["NETFLIX_ELT_TARGET_PATH"])
    (target / "docs").mkdir(parents=True)
    (target / "docs" / "index.html").write_text("<html></html>")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = ["netflix-elt", "docs", "serve", "--port", str(port)]
    request = {
        "kind": "command",
        "argv": argv,
        "cwd": str(PROJECT_DIR),
        "env": warm_env,
        "fingerprint": warm.fingerprint(),
    }
    with socket.socket(socket.AF_UNIX) as s, open(os.devnull, "r+b") as null:
        s.connect(str(_socket(warm_env)))
        socket.send_fds(s, [encode(request)], [null.fileno()] * 3)
    time.sleep(8)  # a command left running would serve by now (~2 s)
    assert not _listening(port)


def test_colours_on_a_terminal_are_the_callers(warm_env: dict[str, str]) -> None:
    import pty

    out = []
    for env in (cold(warm_env), warm_env):
        main_fd, sub_fd = pty.openpty()
        proc = subprocess.Popen([*CLI, "run", "-s", "dim_movis"], env={**env, "TERM": "xterm-256color"},
                                cwd=PROJECT_DIR, stdin=subprocess.DEVNULL, stdout=sub_fd, stderr=sub_fd)  # fmt: skip
        os.close(sub_fd)
        assert proc.wait(timeout=60) == 2
        chunks = []
        with contextlib.suppress(OSError):
            while data := os.read(main_fd, 65536):
                chunks.append(data)
        os.close(main_fd)
        out.append(b"".join(chunks))
    assert b"\x1b[" in out[0] and out[1] == out[0]


def test_the_callers_temp_folder_is_used(warm_env: dict[str, str], tmp_path: Path) -> None:
    mine = tmp_path / "tmp-of-the-caller"
    mine.mkdir()
    res = run(["ls"], {**warm_env, "TMPDIR": str(mine)})
    assert res.returncode == 0, res.stderr
    assert (mine / f"netflix-elt-{os.getuid()}").is_dir()


def test_a_killed_caller_ends_its_command(warm_env: dict[str, str]) -> None:
    proc, port = _serving(warm_env, Path(warm_env["NETFLIX_ELT_TARGET_PATH"]))
    proc.kill()
    proc.wait(timeout=10)
    assert _until(lambda: not _listening(port)), "the command kept serving after its caller was killed"


def test_a_stale_warm_process_stops_and_the_command_runs_cold(own_env: dict[str, str]) -> None:
    warm_env = own_env
    path = _socket(warm_env)
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(path))
        request = {"kind": "command", "argv": ["netflix-elt", "--help"], "cwd": "/", "env": {}, "fingerprint": "x"}
        socket.send_fds(s, [encode(request)], [0, 1, 2])
        answer = receive(s)
    assert answer is not None and "installation changed" in answer["stale"]
    assert _until(lambda: not path.exists())
    res = run(["validate", "--help"], warm_env)
    assert res.returncode == 0 and "Usage:" in res.stdout
    assert run(["warm", "status"], warm_env).returncode == 1


_HOOKED_LISTENER = """
import os, sys, time
from pathlib import Path
from netflix_elt.warm import server

def _hook():  # the listener's side of each fork: say so, then be slow enough for a SIGTERM to land here
    Path(sys.argv[2]).touch()
    time.sleep(3)

os.register_at_fork(after_in_parent=_hook)
server.serve(Path(sys.argv[1]), 1)
"""


def test_a_sigterm_swallowed_by_a_fork_hook_still_stops_the_listener(tmp_path: Path) -> None:
    """Python prints (and drops) an exception raised in a fork hook: the handler's exit is lost there.

    This pins the race CI met once: `stop` or a stale caller's SIGTERM arriving while the listener was
    still inside os.fork() after forking the keeper left it serving forever."""
    folder = _folder(tmp_path.name[-20:])
    folder.mkdir(mode=0o700)
    path, forked = folder / "w.sock", tmp_path / "forked"
    listener = subprocess.Popen([sys.executable, "-c", _HOOKED_LISTENER, str(path), str(forked)],
                                stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert _until(path.exists, 60), "the listener never bound its socket"
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(path))
            socket.send_fds(s, [encode({"kind": "status"})], [])
            assert _until(forked.exists), "the listener never forked a keeper"
            listener.send_signal(signal.SIGTERM)  # lands inside the fork hook's sleep
            assert receive(s) is not None  # the keeper answers regardless
        listener.wait(timeout=15)
        assert listener.stderr is not None
        assert "Exception ignored" in listener.stderr.read()  # the handler's SystemExit was swallowed
        assert not path.exists()  # and yet the listener exited through its atexit clean-up
    finally:
        listener.kill()
        listener.wait()
        shutil.rmtree(folder, ignore_errors=True)


def test_a_killed_warm_process_leaves_commands_cold(own_env: dict[str, str]) -> None:
    warm_env = own_env
    path = _socket(warm_env)
    pid = int(run(["warm", "status"], warm_env).stdout.split("pid ")[1].split(",")[0])
    os.kill(pid, signal.SIGKILL)
    assert _until(lambda: not _alive(pid))
    assert path.exists()  # nobody removed it
    res = run(["validate", "--help"], warm_env)
    assert res.returncode == 0 and "Usage:" in res.stdout
    assert not path.exists()  # the first caller to find it dead removes it


def test_an_unsafe_socket_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "open"
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)  # others may write it: a socket there could be anybody's
    env = {**os.environ, warm.ENV_DIR: str(folder), "NETFLIX_ELT_HOME": str(tmp_path / "home")}
    env.pop(warm.ENV_OFF, None)
    res = run(["validate", "--help"], env)
    assert res.returncode == 0 and "Usage:" in res.stdout
    assert "not using a warm process" in res.stderr and "is not a private folder" in res.stderr
    res = run(["warm", "start"], env)
    assert res.returncode == 1 and "is not a private folder" in res.stderr and not res.stdout
    assert not list(folder.iterdir())


def test_stop_ends_it(own_env: dict[str, str]) -> None:
    warm_env = own_env
    path = _socket(warm_env)
    res = run(["warm", "stop"], warm_env)
    assert res.returncode == 0 and "stopped the warm process" in res.stdout
    assert not path.exists()
    res = run(["warm", "status"], warm_env)
    assert res.returncode == 1 and "no warm process runs" in res.stdout
    assert "no warm process runs" in run(["warm", "stop"], warm_env).stdout


def test_the_fingerprint_follows_the_package_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    monkeypatch.setattr(warm, "_package_dir", lambda: tmp_path)
    first = warm.fingerprint()
    assert warm.fingerprint() == first
    (tmp_path / "a.py").write_text("x = 22\n")
    assert warm.fingerprint() != first
    second = warm.fingerprint()
    (tmp_path / "b.py").write_text("")
    assert warm.fingerprint() != second


def test_no_warm_process_is_no_delegation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(warm.ENV_DIR, str(tmp_path))
    monkeypatch.delenv(warm.ENV_OFF, raising=False)
    assert client.delegate(["netflix-elt", "--help"]) is None
    assert client.status() is None and client.stop() is None


def _socket(env: dict[str, str]) -> Path:
    folder = Path(env[warm.ENV_DIR])
    (path,) = folder.glob("warm-*.sock")
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
