"""The edge tests' app: SQLite, demo world, a clock the test moves, the ASGI app over HTTP."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.asgi import create_app
from config.settings import Settings
from db.session import make_engine, make_sessionmaker
from resolvers.context import Services
from tests.conftest import TEST_SECRET, sqlite_database


@dataclass
class TestClock:
    now: datetime = field(default_factory=lambda: datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Edge:
    client: httpx.AsyncClient
    services: Services
    clock: TestClock
    world: Any = None  # the demo world (resolvers.demo.DemoWorld) when seeded

    async def login(self, email: str, password: str = "partnergraph-demo") -> str:
        response = await self.gql(
            "mutation($i: LoginInput!) { login(input: $i) { token } }",
            {"i": {"email": email, "password": password}},
        )
        token = response.json()["data"]["login"]["token"]
        assert token, response.text
        return str(token)

    async def post(
        self, body: Any, token: str | None = None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        sent = dict(headers or {})
        if token:
            sent["authorization"] = f"Bearer {token}"
        return await self.client.post("/graphql", json=body, headers=sent)

    async def gql(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> httpx.Response:
        return await self.post({"query": query, "variables": variables or {}}, token)


EdgeFactory = Callable[..., Any]


def edge_settings(tmp_path: Path, **overrides: Any) -> Settings:
    url = f"sqlite+aiosqlite:///{tmp_path / 'edge.db'}"
    values: dict[str, Any] = {
        "database_url": url,
        "redis_url": None,
        "secret_key": TEST_SECRET,
        "email_backend": "file",
        "email_file_dir": tmp_path / "mail",
        "graphiql": False,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
async def edge(tmp_path: Path) -> AsyncIterator[Edge]:
    async with open_edge(edge_settings(tmp_path)) as opened:
        yield opened


def _sqlite_tables(url: str) -> None:
    """The tables in the SQLite file at ``url``; a second app on the same file keeps them."""
    path = Path(url.removeprefix("sqlite+aiosqlite:///"))
    if not path.exists():
        sqlite_database(path)


class open_edge:
    """The app on `settings`, with the demo world loaded and a test clock."""

    def __init__(self, settings: Settings, *, seed: bool = True) -> None:
        self.settings = settings
        self.seed = seed

    async def __aenter__(self) -> Edge:
        from tests.demo_world import demo_world

        if self.settings.is_sqlite:
            await asyncio.to_thread(_sqlite_tables, self.settings.database_url)
        engine = make_engine(self.settings.database_url)
        world = await demo_world(make_sessionmaker(engine)) if self.seed else None
        await engine.dispose()
        self.app = create_app(self.settings, start_workers=False)
        runtime = self.app.state.runtime
        clock = TestClock()
        runtime.services.clock = clock
        await runtime.start()
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app, client=("203.0.113.7", 4711)),
            base_url="http://test",
        )
        return Edge(self.client, runtime.services, clock, world)

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()
        await self.app.state.runtime.stop()


@functools.cache
def _schema() -> Any:
    from schema.root import build_schema

    return build_schema()._schema


def input_operation(name: str, selection: str = "__typename") -> str:
    """A document calling root field `name` with one `$i` input (its type from the schema)."""
    schema = _schema()
    root, kind = (schema.mutation_type, "mutation"), (schema.query_type, "query")
    for fields, keyword in (root, kind):
        assert fields is not None
        if name in fields.fields:
            input_type = fields.fields[name].args["input"].type
            return f"{keyword}($i: {input_type}) {{ {name}(input: $i) {{ {selection} }} }}"
    raise KeyError(name)
