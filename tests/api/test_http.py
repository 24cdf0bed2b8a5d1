"""The HTTP surface beside GraphQL: health probes and CORS for configured SPA origins."""

from __future__ import annotations

from pathlib import Path

import httpx

from app.asgi import create_app
from config.settings import Settings
from tests.conftest import sqlite_database


async def test_probes_and_cors(tmp_path: Path) -> None:
    url = sqlite_database(tmp_path / "h.db")  # ready: the schema at the migrations' head
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=url,
        cors_origins=["https://app.example"],
    )
    app = create_app(settings, start_workers=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["database"] == "ok"

        def preflight(origin: str) -> dict[str, str]:
            return {
                "origin": origin,
                "access-control-request-method": "POST",
                "access-control-request-headers": "authorization, content-type",
            }

        allowed = await client.options("/graphql", headers=preflight("https://app.example"))
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        refused = await client.options("/graphql", headers=preflight("https://evil.example"))
        assert "access-control-allow-origin" not in refused.headers
    await app.state.runtime.stop()


async def test_readyz_reports_an_unreachable_database(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none",
    )
    app = create_app(settings, start_workers=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["database"].startswith("error")
    await app.state.runtime.stop()
