"""A real ``partnergraph worker`` process on Redis and PostgreSQL, killed mid-work.

The test process plays the API: it writes outbox rows and relays them to Redis; the
worker subprocess sends the emails (file backend, one ``.eml`` per outbox id).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import IO

import dramatiq
import pytest
import redis
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config.settings import EmailBackend, Settings
from db.models import OutboxMessage, utcnow
from db.session import make_engine, make_sessionmaker, transaction
from resolvers.events import emit_email
from tests.conftest import RedisSpace, fresh_pg_database
from workers.broker import build_broker, install_broker, reset_broker
from workers.relay import relay_pending

from .conftest import wait_until

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PARTNERGRAPH = Path(sys.executable).with_name("partnergraph")
SM = async_sessionmaker[AsyncSession]


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database with the tables, dropped afterwards."""
    yield from fresh_pg_database()


@pytest.fixture
def api_settings(pg_url: str, redis_space: RedisSpace, mail_dir: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=pg_url,
        redis_url=redis_space.url,
        redis_namespace=redis_space.namespace,
        email_backend=EmailBackend.FILE,
        email_file_dir=mail_dir,
        email_from="partnergraph <no-reply@partners.example>",
    )


@pytest.fixture
def redis_broker(api_settings: Settings) -> Iterator[dramatiq.Broker]:
    broker = install_broker(build_broker(api_settings), api_settings)
    yield broker
    reset_broker()


@pytest.fixture
async def api_sessionmaker(api_settings: Settings) -> AsyncIterator[SM]:
    engine = make_engine(api_settings.database_url, pool_size=3)
    yield make_sessionmaker(engine)
    await engine.dispose()


class WorkerProcess:
    """``partnergraph worker`` (Dramatiq on ``workers.actors``) in its own process group."""

    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.env = {
            **os.environ,
            "PARTNERGRAPH_DATABASE_URL": settings.database_url,
            "PARTNERGRAPH_REDIS_URL": settings.redis_url or "",
            "PARTNERGRAPH_REDIS_NAMESPACE": settings.redis_namespace,
            # This test plays the API's relay and counts what it sends: no worker sweeper.
            "PARTNERGRAPH_OUTBOX_SWEEP_IN_WORKERS": "false",
            "PARTNERGRAPH_EMAIL_BACKEND": "file",
            "PARTNERGRAPH_EMAIL_FILE_DIR": str(settings.email_file_dir),
            "PARTNERGRAPH_EMAIL_FROM": settings.email_from,
        }
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> None:
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            # The installed `partnergraph worker` command (it execs Dramatiq's CLI).
            [str(PARTNERGRAPH), "worker", "--processes", "1", "--threads", "2"],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: the kill reaches the forked worker too
        )

    def kill(self) -> None:
        """SIGKILL the whole group: no graceful shutdown, no requeue, no ack."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        self._signal(signal.SIGTERM)

    def _signal(self, sig: signal.Signals) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        try:
            os.killpg(process.pid, sig)
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        except ProcessLookupError:
            pass
        if self._log is not None:
            self._log.close()
            self._log = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


@pytest.fixture
def worker_process(api_settings: Settings, tmp_path: Path) -> Iterator[WorkerProcess]:
    worker = WorkerProcess(api_settings, tmp_path / "worker.log")
    yield worker
    worker.kill()


async def emit_batch(sessionmaker: SM, count: int, tag: str) -> list[int]:
    async with transaction(sessionmaker) as session:
        messages = [
            emit_email(
                session,
                to=f"{tag}{i}@example.com",
                template="welcome",
                context={"full_name": f"User {tag}{i}", "organization_name": "Org"},
            )
            for i in range(count)
        ]
        await session.flush()
        return [m.id for m in messages]


async def processed_ids(sessionmaker: SM) -> set[int]:
    async with sessionmaker() as session:
        result = await session.scalars(
            select(OutboxMessage.id).where(OutboxMessage.processed_at.is_not(None))
        )
        return set(result)


def eml_ids(mail_dir: Path) -> list[int]:
    if not mail_dir.exists():
        return []
    return sorted(int(p.stem.removeprefix("outbox-")) for p in mail_dir.glob("outbox-*.eml"))


async def test_real_worker_sends_each_email_once_even_when_killed(
    api_settings: Settings,
    api_sessionmaker: SM,
    redis_broker: dramatiq.Broker,
    worker_process: WorkerProcess,
    mail_dir: Path,
) -> None:
    sm = api_sessionmaker
    worker_process.start()

    # 1. Normal operation: every committed email arrives once.
    first = await emit_batch(sm, 8, "a")
    assert await relay_pending(sm, stale_after_seconds=30) == 8
    await wait_until(lambda: eml_ids(mail_dir) == first, within=30)
    await wait_until(lambda: _processed(sm, first), within=10)

    # 2. The worker dies (SIGKILL) while it holds a message. This test relays one row by
    #    hand and keeps that row locked, as a relay does until it commits: the worker's
    #    process_once waits on its SELECT ... FOR UPDATE.
    second = await emit_batch(sm, 5, "b")
    blocked, free = second[0], second[1:]
    async with sm() as locker, locker.begin():
        await locker.execute(
            select(OutboxMessage).where(OutboxMessage.id == blocked).with_for_update()
        )
        await locker.execute(
            update(OutboxMessage).where(OutboxMessage.id == blocked).values(dispatched_at=utcnow())
        )
        redis_broker.get_actor("send_email").send(blocked)
        # A concurrent relay skips the locked row (SKIP LOCKED) and sends the others.
        assert await relay_pending(sm, stale_after_seconds=0) == 4
        await wait_until(lambda: eml_ids(mail_dir) == sorted(first + free), within=30)
        await wait_until(lambda: _worker_waits_on_a_lock(sm), within=10)
        worker_process.kill()
        # The lock is released here; the dead worker committed nothing for `blocked`.
    assert blocked not in await processed_ids(sm)

    # 3. More work is queued while no worker runs.
    third = await emit_batch(sm, 4, "c")
    assert await relay_pending(sm, stale_after_seconds=30) == 4

    # 4. A new worker starts; the sweeper re-sends what was dispatched and never processed
    #    (the killed worker's message is lost with it; the `third` ones get a duplicate).
    worker_process.start()
    assert await relay_pending(sm, stale_after_seconds=0) >= 1
    everything = sorted(first + second + third)
    await wait_until(lambda: _processed(sm, everything), within=30)
    await wait_until(lambda: _redis_queue_empty(redis_broker), within=30)

    assert eml_ids(mail_dir) == everything, worker_process.log()
    async with sm() as session:
        all_rows = list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    assert [r.id for r in all_rows] == everything
    for r in all_rows:
        assert r.processed_at is not None
        assert r.attempts == 1, (r.id, r.attempts, r.last_error)  # one committed run each
        assert r.last_error is None
    assert await relay_pending(sm, stale_after_seconds=0) == 0


async def _processed(sessionmaker: SM, ids: list[int]) -> bool:
    return set(ids) <= await processed_ids(sessionmaker)


async def _worker_waits_on_a_lock(sessionmaker: SM) -> bool:
    async with sessionmaker() as session:
        waiting = await session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return bool(waiting)


def _redis_queue_empty(broker: dramatiq.Broker) -> bool:
    client: redis.Redis = broker.client  # type: ignore[attr-defined]
    return (
        int(client.llen(f"{broker.namespace}:default")) == 0
        and int(client.zcard(f"{broker.namespace}:default.DQ")) == 0
    )
