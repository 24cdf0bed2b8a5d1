"""Automatic persisted queries (Apollo's protocol) over HTTP: register, hit, miss; shared by
every API process through Redis; Redis out of reach is a miss, never an error; and the
allowlist mode in which only registered operations run (the web console's are in
tests/conventions/test_console_operations.py)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import redis.asyncio

from app.apq_store import REDIS_RETRY_SECONDS, RedisStore
from app.asgi import create_app
from app.persisted_queries import (
    CONSOLE_MANIFEST,
    RegisteredOperationsError,
    registered_operations,
)
from config.settings import Settings
from tests.conftest import RedisSpace

QUERY = "query Me { viewer { user { email } } }"
OTHER = "query Both { __typename }"
DAY = 86_400
#: The Redis tests are about Redis: one database is enough.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _hash(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def _by_hash(digest: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


def _persisted(query: str) -> dict[str, Any]:
    return _by_hash(_hash(query))


@contextlib.asynccontextmanager
async def _serving(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """One API process: its HTTP client and its app."""
    app = create_app(settings, start_workers=False)
    await app.state.runtime.start()
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client, app
    finally:
        await app.state.runtime.stop()


@pytest.fixture
async def http(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with _serving(settings) as (client, _):
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
    async with _serving(only) as (client, _):
        yield client


def _codes(body: dict[str, Any]) -> list[str | None]:
    return [(e.get("extensions") or {}).get("code") for e in body.get("errors") or []]


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


async def test_a_query_over_the_length_limit_is_not_registered(
    settings: Settings,
) -> None:
    short = settings.model_copy(update={"max_query_length": 100})
    long = "query Long { " + " ".join(["__typename"] * 20) + " }"
    async with _serving(short) as (http, _):
        refused = await http.post("/graphql", json={"query": long, "extensions": _persisted(long)})
        assert refused.status_code == 413
        again = await http.post("/graphql", json={"extensions": _persisted(long)})
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


# --- Operations a mobile app registers at build time: Apollo's manifest --------------------


def _manifest(*operations: dict[str, str]) -> str:
    return json.dumps(
        {"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations}
    )


@SQLITE_ONLY
async def test_a_mobile_app_s_manifest_registers_its_operations(
    settings: Settings, tmp_path: Path
) -> None:
    # What Apollo Kotlin (persistedQueryManifest) and Apollo iOS (persistedQueries) write.
    (tmp_path / "android.json").write_text(
        _manifest({"id": _hash(QUERY), "name": "Me", "type": "query", "body": QUERY})
    )
    only = settings.model_copy(
        update={"persisted_queries_dir": str(tmp_path), "persisted_queries_only": True}
    )
    async with _serving(only) as (http, _):
        by_hash = await http.post("/graphql", json={"extensions": _persisted(QUERY)})
        assert _codes(by_hash.json()) == ["UNAUTHENTICATED"]  # it ran
        other = await http.post("/graphql", json={"extensions": _persisted(OTHER)})
        assert _codes(other.json()) == ["PERSISTED_QUERY_NOT_ALLOWED"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (_manifest({"id": _hash(OTHER), "name": "Me", "body": QUERY}), "is not the SHA-256"),
        (_manifest({"id": _hash(QUERY), "name": "Me"}), "without a body"),
        ('{"operations": []}', "not an apollo-persisted-query-manifest"),
        ("{not json", "android.json"),
    ],
)
def test_a_manifest_that_does_not_hold_is_refused_at_start(
    tmp_path: Path, content: str, problem: str
) -> None:
    (tmp_path / "android.json").write_text(content)
    with pytest.raises(RegisteredOperationsError, match=problem):
        registered_operations(str(tmp_path))


def test_a_missing_directory_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(RegisteredOperationsError, match="is not a directory"):
        registered_operations(str(tmp_path / "nowhere"))


# --- Shared by every API process through Redis ----------------------------------------------


def _shared(settings: Settings, space: RedisSpace) -> Settings:
    return settings.model_copy(update={"redis_url": space.url, "redis_namespace": space.namespace})


@SQLITE_ONLY
async def test_a_registration_through_one_process_is_a_hit_on_another(
    settings: Settings, redis_space: RedisSpace
) -> None:
    shared = _shared(settings, redis_space)
    key = f"{redis_space.namespace}:apq:{_hash(OTHER)}"
    server = redis.Redis.from_url(redis_space.url)
    try:
        async with _serving(shared) as (first, _), _serving(shared) as (second, _):
            miss = await second.post("/graphql", json={"extensions": _persisted(OTHER)})
            assert _codes(miss.json()) == ["PERSISTED_QUERY_NOT_FOUND"]
            register = await first.post(
                "/graphql", json={"query": OTHER, "extensions": _persisted(OTHER)}
            )
            assert register.json()["data"] == {"__typename": "Query"}
            hit = await second.post("/graphql", json={"extensions": _persisted(OTHER)})
            assert hit.json()["data"] == {"__typename": "Query"}
            assert "errors" not in hit.json()
            # Bounded: 30 days after the last use, renewed by each hit.
            assert server.get(key) == OTHER.encode()
            assert 29 * DAY < server.ttl(key) <= 30 * DAY
            server.expire(key, 60)
            await first.post("/graphql", json={"extensions": _persisted(OTHER)})
            assert server.ttl(key) > 29 * DAY
    finally:
        server.close()


@SQLITE_ONLY
async def test_an_entry_that_is_not_its_hash_s_text_never_runs(
    settings: Settings, redis_space: RedisSpace
) -> None:
    server = redis.Redis.from_url(redis_space.url)
    try:
        # Written by something else than the server (which checks the hash first).
        server.set(f"{redis_space.namespace}:apq:{_hash(OTHER)}", QUERY)
        async with _serving(_shared(settings, redis_space)) as (http, _):
            answer = await http.post("/graphql", json={"extensions": _persisted(OTHER)})
            assert _codes(answer.json()) == ["PERSISTED_QUERY_NOT_FOUND"]
            # The client's re-send registers the true text over it.
            await http.post("/graphql", json={"query": OTHER, "extensions": _persisted(OTHER)})
        assert server.get(f"{redis_space.namespace}:apq:{_hash(OTHER)}") == OTHER.encode()
    finally:
        server.close()


@SQLITE_ONLY
async def test_only_a_hash_the_server_does_not_know_reaches_redis(
    settings: Settings, redis_space: RedisSpace, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[tuple[Any, ...]] = []
    execute = redis.asyncio.Redis.execute_command

    async def watched(self: Any, *args: Any, **options: Any) -> Any:
        if any(":apq:" in str(arg) for arg in args):
            sent.append(args)
        return await execute(self, *args, **options)

    monkeypatch.setattr(redis.asyncio.Redis, "execute_command", watched)
    console = json.loads(CONSOLE_MANIFEST.read_text())["operations"][0]["id"]
    async with _serving(_shared(settings, redis_space)) as (http, _):
        await http.post("/graphql", json={"query": OTHER})  # no persistedQuery extension
        hit = await http.post("/graphql", json={"extensions": _by_hash(console)})
        assert "PERSISTED_QUERY_NOT_FOUND" not in _codes(hit.json())  # registered at start
        assert sent == []
        await http.post("/graphql", json={"extensions": _persisted(OTHER)})
        assert [args[0] for args in sent] == ["GETEX"]


@SQLITE_ONLY
@pytest.mark.parametrize("outage", ["refused", "frozen"])
async def test_redis_out_of_reach_is_a_miss_never_an_error(
    settings: Settings, outage: str, caplog: pytest.LogCaptureFixture
) -> None:
    connections = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        await reader.read()  # a frozen Redis: accepts, never answers

    frozen = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = frozen.sockets[0].getsockname()[1] if outage == "frozen" else 1
    down = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{port}/0"})
    caplog.set_level(logging.INFO)
    try:
        # Only the persisted queries' Redis is down here: the rest of the app (the cost
        # bucket, which answers 503 without Redis) is another test's subject.
        async with _serving(settings) as (http, app):
            persisted = app.state.runtime.persisted_queries
            await persisted.close()
            persisted.store = RedisStore.from_settings(down)
            for _ in range(2):
                miss = await http.post("/graphql", json={"extensions": _persisted(OTHER)})
                assert miss.status_code == 200
                assert _codes(miss.json()) == ["PERSISTED_QUERY_NOT_FOUND"]
                # The client sends the query with its hash: it runs, unregistered.
                resent = await http.post(
                    "/graphql", json={"query": OTHER, "extensions": _persisted(OTHER)}
                )
                assert resent.json()["data"] == {"__typename": "Query"}
                assert "errors" not in resent.json()
    finally:
        frozen.close()
        await frozen.wait_closed()
    assert [r for r in caplog.records if r.exc_info] == []
    warned = [r for r in caplog.records if r.name == "app.apq_store"]
    assert [r.levelname for r in warned] == ["WARNING"]  # once per outage, not per request
    # One timeout, then misses without asking Redis (not one wait per request).
    assert len(connections) == (1 if outage == "frozen" else 0)


async def test_after_an_outage_redis_is_asked_again(
    redis_space: RedisSpace, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    store = RedisStore.from_settings(
        Settings(redis_url=redis_space.url, redis_namespace=redis_space.namespace)
    )
    caplog.set_level(logging.INFO, logger="app.apq_store")
    try:
        await store.put(_hash(OTHER), OTHER)
        store._out_of_reach(ConnectionError("Connection refused"))
        assert await store.get(_hash(OTHER)) is None  # resting: Redis is not asked
        now = time.monotonic()
        monkeypatch.setattr(time, "monotonic", lambda: now + REDIS_RETRY_SECONDS + 1)
        assert await store.get(_hash(OTHER)) == OTHER
    finally:
        await store.close()
    assert [r.getMessage() for r in caplog.records][-1] == "persisted queries: Redis is back"
