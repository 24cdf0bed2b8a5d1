"""Production mode turns the development conveniences off (GraphiQL and its files among
them) and refuses the dev secret."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from app.asgi import create_app
from config.settings import Settings

QUERY = "{ viewr { user { email } } }"  # a typo of `viewer`


def _settings(tmp_path: Path, *, production: bool) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'p.db'}",
        secret_key="a-real-secret-for-production-0123456789",
        production=production,
        graphiql=True,  # asked for, yet production wins
    )


async def _client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, start_workers=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        yield client
    await app.state.runtime.stop()


@pytest.fixture
async def production(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(_settings(tmp_path, production=True)):
        yield client


@pytest.fixture
async def development(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(_settings(tmp_path, production=False)):
        yield client


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(_env_file=None, production=True)  # type: ignore[call-arg]


async def test_development_serves_graphiql_get_and_suggestions(
    development: httpx.AsyncClient,
) -> None:
    page = await development.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    by_get = await development.get("/graphql", params={"query": "{ __typename }"})
    assert by_get.json() == {"data": {"__typename": "Query"}}
    typo = await development.post("/graphql", json={"query": QUERY})
    assert "Did you mean" in typo.json()["errors"][0]["message"]


async def test_production_turns_them_off(production: httpx.AsyncClient) -> None:
    page = await production.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 404
    assert "graphiql" not in page.text.lower()
    by_get = await production.get("/graphql", params={"query": "{ __typename }"})
    assert by_get.status_code == 400
    assert "__typename" not in by_get.text
    typo = await production.post("/graphql", json={"query": QUERY})
    message = typo.json()["errors"][0]["message"]
    assert "viewr" in message
    assert "Did you mean" not in message


async def test_graphiql_page_and_files_are_the_package_s_own(
    development: httpx.AsyncClient, production: httpx.AsyncClient
) -> None:
    """GraphiQL's page and files come from app/console_dist, under a CSP that allows only
    the server itself, and only in development."""
    assert (await production.get("/graphiql/assets/index.js")).status_code == 404
    client = development
    page = await client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert csp == Settings().content_security_policy_html
    assert "default-src 'self'" in csp
    for loophole in ("'unsafe-inline'", "'unsafe-eval'", "data:", "http", "*"):
        assert loophole not in csp
    referenced = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert referenced
    assert all(url.startswith("/graphiql/assets/") for url in referenced)
    for url in referenced:
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert "immutable" in asset.headers["cache-control"]
        # No stylesheet smuggles a font or image in as a data: URI (the CSP refuses them).
        if url.endswith(".css"):
            assert "data:" not in asset.text, url
    missing = await client.get("/graphiql/assets/nothing-here.js")
    assert missing.status_code == 404


async def test_the_console_answers_its_pages_in_both_modes(
    development: httpx.AsyncClient, production: httpx.AsyncClient
) -> None:
    """The web console is no development convenience: `/`, and every page an email links
    to, answer its page (the router shows the page); a missing file is a 404, not HTML."""
    for client in (development, production):
        await _answers_console_pages(client)


async def _answers_console_pages(client: httpx.AsyncClient) -> None:
    for path in ("/", "/invitations/accept?token=pgi_x", "/clients/Q2xpZW50OjE%3D", "/login"):
        page = await client.get(path)
        assert page.status_code == 200, path
        assert page.headers["content-type"].startswith("text/html")
        assert page.headers["content-security-policy"] == Settings().content_security_policy_html
        assert '<div id="root">' in page.text
        script = re.search(r'src="(/assets/[^"]+\.js)"', page.text)
        assert script is not None
    asset = await client.get(script.group(1))
    assert asset.status_code == 200
    assert asset.headers["content-type"].startswith("text/javascript")
    missing = await client.get("/assets/nothing-here.js")
    assert missing.status_code == 404
    assert not missing.headers["content-type"].startswith("text/html")
