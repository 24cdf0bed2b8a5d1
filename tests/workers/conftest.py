"""Fixtures for the background jobs: external services, a SQLite outbox, a StubBroker worker.

External services use ``require_postgres`` / ``require_redis`` from ``tests/conftest.py``
(fail under CI=true, skip elsewhere, with the reason).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import dramatiq
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config.settings import EmailBackend, Settings
from db.session import make_engine, make_sessionmaker
from tests.conftest import sqlite_database
from workers import email as email_module
from workers.broker import build_broker, install_broker, reset_broker
from workers.runtime import start_inprocess_worker, stop_inprocess_worker


@pytest.fixture
def mail_dir(tmp_path: Path) -> Path:
    return tmp_path / "mail"


@pytest.fixture
def settings(tmp_path: Path, mail_dir: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=sqlite_database(tmp_path / "outbox.db"),
        redis_url=None,
        email_backend=EmailBackend.FILE,
        email_file_dir=mail_dir,
        public_url="https://partners.example",
        email_from="partnergraph <no-reply@partners.example>",
    )


@pytest.fixture
async def sessionmaker(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """The test's own engine on its fresh SQLite file (the tables are there)."""
    engine = make_engine(settings.database_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
def stub_broker(settings: Settings) -> Iterator[dramatiq.Broker]:
    """A StubBroker installed for these settings; failed messages are not retried."""
    broker = install_broker(build_broker(settings, stub=True, max_retries=0), settings)
    yield broker
    reset_broker()


@pytest.fixture
def worker(stub_broker: dramatiq.Broker) -> Iterator[dramatiq.Worker]:
    """A real dramatiq.Worker consuming the StubBroker in this process."""
    running = start_inprocess_worker(stub_broker, worker_threads=2, idle_timeout_ms=100)
    yield running
    stop_inprocess_worker(running)


class Deliveries:
    """Records every email handed to a backend (the outbox ids), across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.outbox_ids: list[int] = []

    def add(self, outbox_id: int) -> None:
        with self._lock:
            self.outbox_ids.append(outbox_id)


@pytest.fixture
def deliveries(monkeypatch: pytest.MonkeyPatch) -> Deliveries:
    record = Deliveries()
    original = email_module.deliver

    async def counting_deliver(message: Any, *, outbox_id: int, settings: Settings) -> None:
        record.add(outbox_id)
        await original(message, outbox_id=outbox_id, settings=settings)

    monkeypatch.setattr(email_module, "deliver", counting_deliver)
    return record


async def wait_until(predicate: Any, *, within: float = 10.0, interval: float = 0.05) -> None:
    """Poll ``predicate`` (sync or async) until true; fail after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            pytest.fail(f"condition not met within {within}s: {predicate}")
        await asyncio.sleep(interval)
