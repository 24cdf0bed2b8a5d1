"""The database stopped while requests arrive: every request answers 503 with a
GraphQL-shaped body over a connection that stays open, and the service recovers by itself.

The app runs in a real uvicorn server and talks to a PostgreSQL database of this test's
own through a TCP proxy the test owns; "the database stops" is the proxy closing its port
and cutting every connection (the shared PostgreSQL server is never touched).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import uvicorn

from app.asgi import create_app
from db.session import make_engine, make_sessionmaker
from resolvers.demo import seed_demo
from tests.conftest import TEST_SECRET, fresh_pg_database
from tests.edge.conftest import edge_settings

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(120)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Proxy:
    """127.0.0.1:port -> PostgreSQL; `stop()` refuses and cuts everything, `start()` heals."""

    def __init__(self, upstream_port: int = 5432) -> None:
        self.port = free_port()
        self.upstream_port = upstream_port
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.writers):
            writer.transport.abort()
        self.writers.clear()
        await self.server.wait_closed()
        self.server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.transport.abort()
            return
        self.writers.update({writer, up_writer})

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.writers.difference_update({writer, up_writer})


class KeepAlive:
    """One HTTP/1.1 connection, several requests on it; notices when the server closes it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> KeepAlive:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def post(self, body: dict[str, Any], token: str | None = None) -> tuple[int, Any, str]:
        data = orjson.dumps(body)
        head = [
            "POST /graphql HTTP/1.1",
            "host: test",
            "content-type: application/json",
            f"content-length: {len(data)}",
        ]
        if token:
            head.append(f"authorization: Bearer {token}")
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
        await self.writer.drain()
        raw = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 30)
        lines = raw.decode().split("\r\n")
        status = int(lines[0].split()[1])
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        length = int(headers["content-length"])
        payload = await asyncio.wait_for(self.reader.readexactly(length), 30)
        return status, orjson.loads(payload), headers.get("connection", "")

    def close(self) -> None:
        self.writer.close()


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from fresh_pg_database()


@pytest.fixture
async def served(pg_url: str, tmp_path: Path) -> AsyncIterator[tuple[int, Proxy]]:
    engine = make_engine(pg_url)
    await seed_demo(make_sessionmaker(engine))
    await engine.dispose()
    proxy = Proxy()
    await proxy.start()
    host, name = pg_url.rsplit("/", 1)[0].rsplit(":", 1)[0], pg_url.rsplit("/", 1)[1]
    settings = edge_settings(
        tmp_path, database_url=f"{host}:{proxy.port}/{name}", secret_key=TEST_SECRET
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, start_workers=False),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
        )
    )
    task = asyncio.create_task(server.serve())
    for _ in range(1500):  # uvicorn has no started event; at most 30 s
        if server.started:
            break
        await asyncio.sleep(0.02)
    try:
        yield port, proxy
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)
        if proxy.server is not None:
            await proxy.stop()


LOGIN = {
    "query": "mutation($i: LoginInput!) { login(input: $i) { token } }",
    "variables": {"i": {"email": "rep@partner.example", "password": "partnergraph-demo"}},
}
VIEWER = {"query": "{ viewer { user { email } } }"}


def assert_unavailable(answer: tuple[int, Any, str]) -> None:
    status, body, connection = answer
    assert status == 503, body
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert connection.lower() != "close"


async def test_database_down_answers_503_keeps_the_connection_and_recovers(
    served: tuple[int, Proxy],
) -> None:
    port, proxy = served
    conn = await KeepAlive.open(port)
    try:
        status, body, _ = await conn.post(LOGIN)
        assert status == 200, body
        token = body["data"]["login"]["token"]
        assert (await conn.post(VIEWER, token))[1]["data"] == {
            "viewer": {"user": {"email": "rep@partner.example"}}
        }

        # Requests keep arriving while the database goes away under them.
        others = [await KeepAlive.open(port) for _ in range(8)]
        in_flight = [asyncio.create_task(c.post(VIEWER, token)) for c in others]
        await proxy.stop()
        answers = await asyncio.gather(*in_flight)
        assert {status for status, _, _ in answers} <= {200, 503}
        for answer in answers:
            if answer[0] == 503:
                assert_unavailable(answer)

        # Down: authenticated, anonymous mutation and login all answer 503, on the same
        # keep-alive connection each time.
        assert_unavailable(await conn.post(VIEWER, token))
        assert_unavailable(await conn.post(LOGIN))
        for other in others:
            assert_unavailable(await other.post(VIEWER, token))
            other.close()
        # The health probe still answers; readiness says what is missing.
        status, body, _ = await conn.post({"query": "{ __typename }"})
        assert (status, body["data"]) == (200, {"__typename": "Query"})

        await proxy.start()
        status, body, _ = await conn.post(VIEWER, token)
        assert status == 200, body
        assert body["data"] == {"viewer": {"user": {"email": "rep@partner.example"}}}
    finally:
        conn.close()
