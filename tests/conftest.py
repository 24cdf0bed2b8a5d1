"""Shared fixtures: databases (SQLite and PostgreSQL), the ASGI app over HTTP, helpers.

PostgreSQL and Redis are real servers. Under CI (CI=true) a missing server fails the run;
elsewhere the tests that need it are skipped with the reason.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import sqlalchemy
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.asgi import create_app
from config.settings import Settings
from db.migrate import stamp_head
from db.models import Base
from db.session import make_engine, make_sessionmaker
from tests.processes import children  # noqa: F401 - the fixture, for every test

IN_CI = os.environ.get("CI") == "true"
PG_ADMIN_URL = os.environ.get(
    "PARTNERGRAPH_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("PARTNERGRAPH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TEST_SECRET = "test-secret-key-0123456789"

#: Small pools for the app and workers the suite runs (and their child processes): with
#: the suite's own engines it stays near 20 PostgreSQL connections (tests/pg_watch.py).
os.environ.setdefault("PARTNERGRAPH_DATABASE_POOL_SIZE", "2")


def _cheap_password_hashing() -> None:
    """argon2id with its cheapest parameters in this process: the recommended ones cost
    about 0.5 s a hash here, and the suite hashes and checks passwords hundreds of times.
    The code path is the same; only the cost parameters (stored in each hash) differ."""
    import argon2

    from resolvers import auth

    auth._hasher = argon2.PasswordHasher.from_parameters(argon2.profiles.CHEAPEST)
    auth._dummy_hash.cache_clear()


_cheap_password_hashing()
#: Every Redis key and PostgreSQL database a run makes carries this, so two runs (or a
#: developer's server) sharing the servers never touch each other's data. Made by the
#: first process that imports this module and inherited by pytest-xdist's workers, so
#: one run has one id (tests/pg_watch.py counts the whole run's connections by it).
RUN_ID = os.environ.setdefault("PARTNERGRAPH_TEST_RUN_ID", uuid.uuid4().hex[:10])
#: This process's part of the run: "gw0", "gw1"... under pytest-xdist, "main" alone.
WORKER_ID = os.environ.get("PYTEST_XDIST_WORKER", "main")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def need_service(name: str, host: str, port: int) -> None:
    if _reachable(host, port):
        return
    message = f"{name} is not reachable at {host}:{port}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: services must run, tests never skip)")
    pytest.skip(f"{message}; start it to run this test")


@pytest.fixture
def require_postgres() -> None:
    need_service("PostgreSQL", "127.0.0.1", 5432)


@pytest.fixture
def require_redis() -> None:
    need_service("Redis", "127.0.0.1", 6379)


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def create_pg_database() -> str:
    name = f"pgtest_{RUN_ID}_{WORKER_ID}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    # A throw-away database: a commit need not wait for its WAL to reach the disk. Every
    # connection to it (child processes too) takes this; the server's own is untouched.
    asyncio.run(_admin(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def create_tables(url: str) -> None:
    async def run() -> None:
        engine = make_engine(url)
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
            await conn.run_sync(stamp_head)  # what `partnergraph migrate` leaves, at once
        await engine.dispose()

    asyncio.run(run())


_sqlite_template: Path | None = None


def sqlite_database(path: Path) -> str:
    """A SQLite file with the tables at ``path``: a copy of a file made once per process
    (making the tables costs about 0.2 s; copying the file, 1 ms)."""
    global _sqlite_template
    if _sqlite_template is None:
        import tempfile

        template = Path(tempfile.mkdtemp(prefix="pgtest-sqlite-")) / "template.db"
        # A synchronous engine: this may be called inside a running event loop.
        engine = sqlalchemy.create_engine(f"sqlite:///{template}")
        with engine.begin() as conn:
            Base.metadata.create_all(conn)
            stamp_head(conn)  # what `partnergraph migrate` leaves, at once
        engine.dispose()
        _sqlite_template = template
    shutil.copyfile(_sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


def _empty_statement() -> str:
    """Empties every table and restarts every sequence: DELETE on the few rows a test
    writes costs a third of TRUNCATE, which makes each table anew. Foreign keys are not
    checked meanwhile (the replica role skips their triggers): some form cycles
    (bids and offers), and every table ends empty anyway."""
    deletes = [f'DELETE FROM "{t.name}";' for t in Base.metadata.sorted_tables]  # noqa: S608 - our tables' names
    return "\n".join(
        [
            "SET LOCAL session_replication_role = replica;",
            *deletes,
            "SELECT setval(c.oid, 1, false) FROM pg_class c WHERE c.relkind = 'S';",
        ]
    )


def empty_pg_database(url: str) -> None:
    """Every table of the database at ``url`` emptied, in one round trip."""
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:
            async with conn.transaction():
                await conn.execute(_empty_statement())  # several statements: simple protocol
        finally:
            await conn.close()

    asyncio.run(run())


def fresh_pg_database() -> Iterator[str]:
    """A new PostgreSQL database with the tables, dropped afterwards (fixture body)."""
    need_service("PostgreSQL", "127.0.0.1", 5432)
    url = create_pg_database()
    try:
        create_tables(url)
        yield url
    finally:
        drop_pg_database(url)


@dataclass(frozen=True)
class RedisSpace:
    """A Redis server and a key namespace of this test's own (``settings.redis_namespace``)."""

    url: str
    namespace: str

    def env(self) -> dict[str, str]:
        """The environment that points a child process (a worker) at this space."""
        return {"PARTNERGRAPH_REDIS_URL": self.url, "PARTNERGRAPH_REDIS_NAMESPACE": self.namespace}

    def keys(self) -> list[bytes]:
        client = redis.Redis.from_url(self.url)
        try:
            return list(client.scan_iter(match=f"{self.namespace}*", count=1000))
        finally:
            client.close()

    def clear(self) -> None:
        """Delete this namespace's keys, and only those."""
        client = redis.Redis.from_url(self.url)
        try:
            for key in client.scan_iter(match=f"{self.namespace}*", count=1000):
                client.delete(key)
        finally:
            client.close()


@pytest.fixture
def redis_space(require_redis: None) -> Iterator[RedisSpace]:
    """A fresh Redis namespace on the shared server; its keys are deleted afterwards."""
    space = RedisSpace(REDIS_URL, f"pgtest-{RUN_ID}-{uuid.uuid4().hex[:8]}")
    yield space
    space.clear()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """One PostgreSQL database for the session; tables made once, emptied per test."""
    yield from fresh_pg_database()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_database(tmp_path / "test.db")
        return
    url = request.getfixturevalue("postgres_url")
    empty_pg_database(url)
    yield url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=None,
        secret_key=TEST_SECRET,
        email_backend="file",
        email_file_dir=tmp_path / "mail",
        graphiql=False,
    )


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(settings.database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


@dataclass
class GraphQLResult:
    data: Any
    errors: list[dict[str, Any]]

    def error_codes(self) -> list[str | None]:
        return [e.get("extensions", {}).get("code") for e in self.errors]


class Api:
    """Talks to the app over HTTP, as a front end would."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def gql(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> GraphQLResult:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        body = response.json()
        return GraphQLResult(data=body.get("data"), errors=body.get("errors") or [])

    async def ok(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> Any:
        result = await self.gql(query, variables, token)
        assert not result.errors, result.errors
        return result.data


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[Api]:
    app = create_app(settings, start_workers=False)
    runtime = app.state.runtime
    await runtime.start()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield Api(client)
    await runtime.stop()


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> Any:
    from tests.demo_world import demo_world

    return await demo_world(sessionmaker)


async def login(api: Api, email: str, password: str = "partnergraph-demo") -> str:
    data = await api.ok(
        "mutation($i: LoginInput!) { login(input: $i) { token userErrors { code } } }",
        {"i": {"email": email, "password": password}},
    )
    token = data["login"]["token"]
    assert token, data
    return str(token)


def gid(type_name: str, pk: int) -> str:
    from schema.ids import encode_id

    return encode_id(type_name, pk)


#: The files that took 8 s or more in a measured run (`--durations=0`), slowest first.
#: They run first, so that pytest-xdist's workers (each file on one, `--dist loadfile`)
#: end together instead of one running a long file alone at the end. Order only.
SLOW_FIRST = (
    "edge/test_fuzzing.py",
    "browser/test_reseller_flows.py",
    "browser/test_emailed_links.py",
    "browser/test_pages.py",
    "ops/test_jobs.py",
    "api/test_commerce.py",
    "ops/test_startup.py",
    "api/test_visibility_table.py",
    "api/test_bad_input.py",
    "integration/test_cashback_worker_kill.py",
    "integration/test_subscriptions.py",
    "api/test_program.py",
    "api/test_bids.py",
    "api/test_webhooks.py",
    "browser/test_graphiql.py",
    "api/test_baskets.py",
    "api/test_audit_trail.py",
    "unit/test_scheduler.py",
    "api/test_grant_lifecycle.py",
    "ops/test_metrics.py",
    "api/test_members.py",
    "integration/test_bid_fanout.py",
    "conventions/test_connections.py",
    "edge/test_existence.py",
    "workers/test_worker_process.py",
    "unit/test_outage_log.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: index for index, name in enumerate(SLOW_FIRST)}
    tests = Path(__file__).parent

    def slowness(item: pytest.Item) -> int:
        return rank.get(item.path.relative_to(tests).as_posix(), len(rank))

    items.sort(key=slowness)  # stable: each file's tests keep their order


_watch: Any = None


def pytest_configure(config: pytest.Config) -> None:
    """The run's PostgreSQL connections counted by one watcher: in the process that runs
    the tests, or under pytest-xdist in the controller (its workers inherit RUN_ID)."""
    global _watch
    if hasattr(config, "workerinput") or not _reachable("127.0.0.1", 5432):
        return
    from tests.pg_watch import ConnectionWatch

    _watch = ConnectionWatch(PG_ADMIN_URL, RUN_ID)
    _watch.start()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _watch is not None:
        _watch.stop()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _watch is not None:
        terminalreporter.write_line(
            f"PostgreSQL connections held by this run at most: {_watch.peak}"
        )


@pytest.fixture(scope="session", autouse=True)
def _end_children_at_exit() -> Iterator[None]:
    """No child process outlives the run, whatever happened to the test that started it."""
    from tests.processes import end_all

    yield
    end_all()
