"""Emailed links point where `partnergraph serve` listens unless PUBLIC_URL says otherwise."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app import cli
from config.settings import get_settings, listen_url


@pytest.mark.parametrize(
    ("host", "port", "url"),
    [
        ("127.0.0.1", 8765, "http://127.0.0.1:8765"),
        ("0.0.0.0", 9000, "http://localhost:9000"),  # noqa: S104 - a listen address
        ("::1", 8001, "http://[::1]:8001"),
        ("partners.internal", 80, "http://partners.internal:80"),
    ],
)
def test_listen_url(host: str, port: int, url: str) -> None:
    assert listen_url(host, port) == url


def test_serve_points_emailed_links_where_it_listens(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`partnergraph serve --port 8765` without PUBLIC_URL: links say :8765, not :8000;
    with PUBLIC_URL set, that wins."""
    seen: list[str] = []
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: seen.append(get_settings().public_url))
    # serve writes PARTNERGRAPH_PUBLIC_URL for its workers: into a copy, not this process's.
    environ = {k: v for k, v in os.environ.items() if k != "PARTNERGRAPH_PUBLIC_URL"}
    # serve refuses a database that is not at the migrations' head: a fresh one, migrated.
    environ["PARTNERGRAPH_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}"
    monkeypatch.setattr(os, "environ", environ)
    monkeypatch.chdir(Path(__file__).parent)  # no .env here
    get_settings.cache_clear()
    try:
        assert cli.main(["serve", "--host", "127.0.0.1", "--port", "8765", "--migrate"]) == 0
        environ["PARTNERGRAPH_PUBLIC_URL"] = "https://partners.example"
        get_settings.cache_clear()
        assert cli.main(["serve", "--port", "8765"]) == 0
    finally:
        get_settings.cache_clear()
    assert seen == ["http://127.0.0.1:8765", "https://partners.example"]
