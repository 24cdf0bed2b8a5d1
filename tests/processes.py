"""Child processes of the suite: each in its own process group, each ended at teardown.

Every :class:`Child` is tracked from ``start()`` until it has been ended; the ``children``
fixture ends a test's children when the test ends (passed, failed or timed out), and the
session fixture in ``tests/conftest.py`` ends any left over before the run exits. Ending
a child sends SIGTERM to it alone (Dramatiq's and uvicorn's main processes pass it on to
their forks), then SIGKILL to its whole group after the grace period, forks included.
SIGTERM is not sent to the group: a Dramatiq worker process that hears it twice (from the
group signal and again from its main process) takes the second as "kill" and exits its
main thread only, leaving its worker threads running, so it never ended before the
SIGKILL (1 stop in 5 here, a 10 s teardown).
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
PARTNERGRAPH = Path(sys.executable).with_name("partnergraph")

_live: set[Child] = set()
_lock = threading.Lock()


class Child:
    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        log_path: Path,
        cwd: Path = ROOT,
    ) -> None:
        self.argv = list(argv)
        self.env = {**os.environ, **(env or {})}
        self.log_path = log_path
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> Child:
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: ending it reaches its forks too
        )
        with _lock:
            _live.add(self)
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def signal(self, sig: signal.Signals) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)

    def end(self, grace_seconds: float = 10.0) -> None:
        """SIGTERM the child, SIGKILL its group if still there after the grace period."""
        process = self.process
        if process is not None:
            process.send_signal(signal.SIGTERM)  # nothing if it has been reaped already
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=grace_seconds)
            self.kill()
        self._forget()

    def kill(self) -> None:
        """SIGKILL the whole group (no graceful shutdown)."""
        process = self.process
        if process is not None:
            self.signal(signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
        self._forget()

    def _forget(self) -> None:
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None
        with _lock:
            _live.discard(self)

    def log(self, tail: int = 6000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except FileNotFoundError:
            return ""


def end_all() -> None:
    with _lock:
        left = list(_live)
    for child in left:
        child.kill()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(
    predicate: Callable[[], bool], *, timeout: float, what: str, child: Child | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if child is not None and not child.alive():
            raise AssertionError(f"{what}: the process ended\n{child.log()}")
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout}s\n{child.log() if child else ''}")


def http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


class Children:
    """A test's children: ``spawn`` starts one; all are ended when the test ends."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.started: list[Child] = []

    def spawn(
        self, argv: Sequence[str], *, env: Mapping[str, str] | None = None, name: str = "child"
    ) -> Child:
        child = Child(argv, env=env, log_path=self.tmp_path / f"{name}-{len(self.started)}.log")
        self.started.append(child)
        return child.start()

    def serve(
        self, env: Mapping[str, str], *args: str, name: str = "api", timeout: float = 60
    ) -> tuple[Child, str]:
        """``partnergraph serve`` on a free port; returns it once /healthz answers."""
        port = free_port()
        child = self.spawn(
            [str(PARTNERGRAPH), "serve", "--port", str(port), *args], env=env, name=name
        )
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: http_ok(base + "/healthz"), timeout=timeout, what=name, child=child)
        return child, base

    def end_all(self) -> None:
        for child in reversed(self.started):
            child.end()


@pytest.fixture
def children(tmp_path: Path) -> Iterator[Children]:
    made = Children(tmp_path)
    try:
        yield made
    finally:
        made.end_all()


def cli_in_process(
    monkeypatch: pytest.MonkeyPatch, *args: str, env: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    """`partnergraph ARGS` through its entry point (``app.cli.main``) in this process, with
    ``env`` as its only PARTNERGRAPH_* variables and the repository as its folder: the exit
    code, stdout and stderr, as ``subprocess.run`` gives them (no interpreter to start)."""
    from app import cli
    from config.logs import reset_logging
    from config.settings import get_settings

    out, err = io.StringIO(), io.StringIO()
    with monkeypatch.context() as patch:
        for name in [name for name in os.environ if name.startswith("PARTNERGRAPH_")]:
            patch.delenv(name)
        for name, value in env.items():
            patch.setenv(name, value)
        patch.chdir(ROOT)
        get_settings.cache_clear()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code: int | str | None = cli.main(list(args))
        except SystemExit as exit_:
            code = exit_.code
        finally:
            get_settings.cache_clear()
            reset_logging()
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())
