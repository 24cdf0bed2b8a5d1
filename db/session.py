"""Engines and sessions. One AsyncSession per unit of work, never shared by two tasks.

`RequestSession`: one session for all of a request's reads.
Every DataLoader batch of a request runs on the same AsyncSession (one pooled connection,
checked out once, one pre-ping, one BEGIN/ROLLBACK), instead of a session per batch.
Sibling GraphQL fields resolve concurrently and an AsyncSession must never be used by two
tasks at once, so batches take the session in turn behind an `asyncio.Lock`.

Rules for a batch that runs under `RequestSession.use()`:
- it only reads, and it must not await another DataLoader while it holds the session (that
  loader's batch would wait for the lock forever); prime other loaders instead;
- the objects it loads are expunged when it ends (detached, like a closed session's):
  every batch reads fresh rows, as a session per batch did.

Writes never go through it: a use case opens its own transaction (`transaction` below).
On PostgreSQL (READ COMMITTED) each statement sees what was committed before it, so a
mutation's payload, read after the use case committed, sees its writes.

Whoever makes the `RequestContext` closes it (`await ctx.close()`): the ASGI app does so
when the operation has been executed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext import asyncio as sa_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.pool import NullPool


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # With WAL, NORMAL syncs at checkpoints, not at every commit: still consistent after a
    # crash (SQLite's recommended pairing); only a power cut may lose the last commits.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_engine(
    url: str, *, pool_size: int = 10, echo: bool = False, pool_name: str = "api"
) -> AsyncEngine:
    """An engine; ``pool_name`` labels its pool in the metrics (api, worker, scheduler)."""
    if url.startswith("sqlite"):
        # One file, several processes (API, worker): no pooled connections kept open.
        # Through the module: tracing (config.tracing) wraps it to trace every statement.
        engine = sa_asyncio.create_async_engine(url, echo=echo, poolclass=NullPool)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    engine = sa_asyncio.create_async_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )
    _count_pool(engine, pool_name, pool_size * 2)
    return engine


def _count_pool(engine: AsyncEngine, name: str, size: int) -> None:
    from config.metrics import DB_POOL_IN_USE, DB_POOL_SIZE

    in_use, allowed = DB_POOL_IN_USE.labels(name), DB_POOL_SIZE.labels(name)
    allowed.inc(size)
    event.listen(engine.sync_engine, "checkout", lambda *_: in_use.inc())
    event.listen(engine.sync_engine, "checkin", lambda *_: in_use.dec())
    event.listen(engine.sync_engine, "engine_disposed", lambda *_: allowed.dec(size))


def is_sqlite(session: AsyncSession) -> bool:
    """Whether the session talks to SQLite (the embedded default): no row locks there."""
    return session.get_bind().dialect.name == "sqlite"


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def transaction(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session inside one transaction: committed on success, rolled back on any error."""
    async with sessionmaker() as session, session.begin():
        yield session


class RequestSession:
    """A lazily opened AsyncSession that one batch at a time may use."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker
        self._session: AsyncSession | None = None
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def use(self) -> AsyncIterator[AsyncSession]:
        """The session, for this task alone until the block ends."""
        async with self._lock:
            if self._session is None:
                self._session = self.sessionmaker()
            session = self._session
            try:
                yield session
            except BaseException:
                # A failed statement can leave the transaction aborted: the next batch
                # starts on a new session rather than inherit that.
                self._session = None
                await asyncio.shield(session.close())
                raise
            else:
                session.expunge_all()

    async def close(self) -> None:
        """End the read transaction and give the connection back to the pool."""
        async with self._lock:
            if self._session is not None:
                session, self._session = self._session, None
                await session.close()
