"""Real API processes for integration tests: uvicorn children on free loopback ports,
pointed at the test's PostgreSQL database and Redis namespace, ended at teardown."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import TEST_SECRET, RedisSpace

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def api_processes(
    count: int, database_url: str, redis: RedisSpace, **extra_env: str
) -> Iterator[list[str]]:
    """``count`` API processes; yields their base URLs once each answers /healthz."""
    env = {
        **os.environ,
        **redis.env(),
        "PARTNERGRAPH_DATABASE_URL": database_url,
        "PARTNERGRAPH_SECRET_KEY": TEST_SECRET,
        "PARTNERGRAPH_EMAIL_BACKEND": "console",
        **extra_env,
    }
    ports = [free_port() for _ in range(count)]
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.asgi:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
        )
        for port in ports
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        deadline = time.monotonic() + 120  # a loaded CI machine starts slowly
        for url, child in zip(urls, children, strict=True):
            while True:
                assert child.poll() is None, f"API process {url} exited"
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, f"API process {url} did not start"
                time.sleep(0.1)
        yield urls
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(timeout=5)
