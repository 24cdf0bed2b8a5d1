"""Automatic persisted queries (Apollo's protocol) over HTTP: register, hit, miss; and the
allowlist mode in which only registered operations run."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.asgi import create_app
from config.settings import Settings

QUERY = "query Me { viewer { user { email } } }"
OTHER = "query Both { __typename }"


def _hash(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def _persisted(query: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": _hash(query)}}


async def _client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, start_workers=False)
    await app.state.runtime.start()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client
    await app.state.runtime.stop()


@pytest.fixture
async def http(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(settings):
        yield client


@pytest.fixture
def registered(tmp_path: Path) -> Path:
    directory = tmp_path / "operations"
    directory.mkdir()
    (directory / "me.graphql").write_text(QUERY)
    return directory


@pytest.fixture
async def allowlisted(settings: Settings, registered: Path) -> AsyncIterator[httpx.AsyncClient]:
    only = settings.model_copy(
        update={"persisted_queries_dir": str(registered), "persisted_queries_only": True}
    )
    async for client in _client(only):
        yield client


def _codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or []]


async def test_miss_then_register_then_hit(http: httpx.AsyncClient) -> None:
    miss = await http.post("/graphql", json={"extensions": _persisted(OTHER)})
    assert miss.status_code == 200  # Apollo clients read the error, then send the query
    assert _codes(miss.json()) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert miss.json()["errors"][0]["message"] == "PersistedQueryNotFound"
    register = await http.post("/graphql", json={"query": OTHER, "extensions": _persisted(OTHER)})
    # Every answer also carries extensions.cost (the public edge); the data is what counts.
    assert register.json()["data"] == {"__typename": "Query"}
    assert "errors" not in register.json()
    hit = await http.post("/graphql", json={"extensions": _persisted(OTHER)})
    assert hit.json()["data"] == {"__typename": "Query"}
    assert "errors" not in hit.json()


async def test_a_hash_that_is_not_the_query_is_refused(http: httpx.AsyncClient) -> None:
    wrong = await http.post("/graphql", json={"query": OTHER, "extensions": _persisted(QUERY)})
    assert wrong.status_code == 400
    assert _codes(wrong.json()) == ["BAD_REQUEST"]
    # Nothing was registered under the wrong hash.
    again = await http.post("/graphql", json={"extensions": _persisted(QUERY)})
    assert _codes(again.json()) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_allowlist_runs_registered_operations_only(
    allowlisted: httpx.AsyncClient,
) -> None:
    by_hash = await allowlisted.post("/graphql", json={"extensions": _persisted(QUERY)})
    assert by_hash.status_code == 200
    assert _codes(by_hash.json()) == ["UNAUTHENTICATED"]  # it ran: the viewer needs a login
    as_text = await allowlisted.post("/graphql", json={"query": QUERY})
    assert _codes(as_text.json()) == ["UNAUTHENTICATED"]
    for refused in (
        {"query": OTHER},
        {"extensions": _persisted(OTHER)},
        {"query": OTHER, "extensions": _persisted(OTHER)},  # no registering at run time
    ):
        response = await allowlisted.post("/graphql", json=refused)
        assert response.status_code == 400, refused
        assert _codes(response.json()) == ["PERSISTED_QUERY_NOT_ALLOWED"], refused
