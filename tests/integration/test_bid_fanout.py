"""A bid matching 3,000 partners (three chunks), delivered by a real worker process that is
SIGKILLed in the middle of a chunk and restarted: each partner receives it exactly once,
with exactly one email queued (PostgreSQL in a fresh database + a Redis namespace of its
own). Scale is the bench's (bench/bid_fanout.py: 10,000 and 100,000 partners).

The partners match by their directory listings, unpublished (``bid_support.seed_partners``:
listing ids run opposite to partner ids, so a chunk mixing them up misses partners)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config.settings import Settings
from db.models import BidDelivery, OutboxMessage, utcnow
from domain.money import Currency
from resolvers import bids as use_cases
from resolvers.bids import DELIVER_BID_CHUNK, FAN_OUT_BID
from resolvers.context import RequestContext, Services
from tests.conftest import RedisSpace
from tests.integration.bid_support import (
    WorkerProcess,
    delivered,
    make_author,
    seed_partners,
    unprocessed,
)
from workers.broker import build_broker, install_broker, reset_broker
from workers.relay import relay_pending

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

PARTNERS = 3_000
CHUNK = 1000  # workers.bids.CHUNK_SIZE: the worker process uses the default
SM = async_sessionmaker[AsyncSession]


@pytest.fixture
def settings(pg_url: str, redis_space: RedisSpace, tmp_path: Path) -> Iterator[Settings]:
    """This process plays the API: it posts the bid and relays the outbox to Redis."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=pg_url,
        redis_url=redis_space.url,
        redis_namespace=redis_space.namespace,
        email_backend="file",
        email_file_dir=tmp_path / "mail",
    )
    install_broker(build_broker(settings), settings)
    yield settings
    reset_broker()


async def _chunk_in_flight(sm: SM) -> bool:
    """A worker connection is inside a chunk's transaction right now."""
    async with sm() as session:
        found = await session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL "
                "AND query ILIKE '%bid_deliveries%'"
            )
        )
    return bool(found)


async def _relay_until(sm: SM, done: object, *, within: float, stale: float) -> None:
    """Play the API's sweeper (relay every 0.3 s, re-send stale rows) until ``done()``."""
    deadline = time.monotonic() + within
    while True:
        await relay_pending(sm, stale_after_seconds=stale, limit=2000)
        if await done():  # type: ignore[operator]
            return
        if time.monotonic() > deadline:
            pytest.fail(f"not done within {within}s")
        await asyncio.sleep(0.3)


async def test_bid_reaches_every_partner_once_despite_a_killed_worker(
    settings: Settings,
    pg_url: str,
    redis_space: RedisSpace,
    tmp_path: Path,
    require_postgres: None,
) -> None:
    from db.session import make_engine, make_sessionmaker

    engine = make_engine(pg_url, pool_size=4)
    sm = make_sessionmaker(engine)
    worker = WorkerProcess(
        database_url=pg_url,
        redis=redis_space,
        log_path=tmp_path / "worker.log",
        mail_dir=tmp_path / "mail",
        threads=4,
    )
    try:
        partners = await seed_partners(sm, PARTNERS)
        author = await make_author(sm)
        ctx = RequestContext(services=Services(settings=settings, sessionmaker=sm), viewer=author)
        posted = await use_cases.post_bid(
            ctx,
            description="Hosting for 40 shops of a retail chain, in French.",
            product_families=["WEB_HOSTING"],
            budget_amount="90000.00",
            currency=Currency.CHF,
            language="fr",
            region="CH-GE",
            deadline=utcnow() + timedelta(days=10),
        )
        assert posted.matching_partners == PARTNERS
        bid_id = posted.bid.id

        # Hold one partner of a middle chunk: that chunk's insert waits on the partner's
        # foreign key inside its open transaction, so the kill below always lands mid-chunk
        # (without it a fast machine can finish every chunk between two polls).
        held = partners[PARTNERS // 2 + 17]
        holder = await engine.connect()
        await holder.begin()
        await holder.execute(
            text("SELECT id FROM partners WHERE id = :id FOR UPDATE"), {"id": held}
        )

        worker.start()
        assert await relay_pending(sm, stale_after_seconds=60) == 1  # the one fan-out row

        # Kill the worker (the whole process group) while a chunk's transaction is open,
        # after at least one chunk committed.
        deadline = time.monotonic() + 60
        while not (await delivered(sm, bid_id) >= CHUNK and await _chunk_in_flight(sm)):
            assert time.monotonic() < deadline, worker.log()
            await relay_pending(sm, stale_after_seconds=60, limit=2000)
            await asyncio.sleep(0.02)
        worker.kill()
        await holder.rollback()
        await holder.close()
        at_kill = await delivered(sm, bid_id)
        assert CHUNK <= at_kill < PARTNERS, "killed too late to prove anything"
        assert at_kill % CHUNK == 0  # all of a chunk or nothing
        print(f"worker killed with {at_kill} of {PARTNERS} delivered, a chunk in flight")
        assert await unprocessed(sm, DELIVER_BID_CHUNK) > 0

        # Restart; the sweeper re-sends what the dead worker held (stale after 2 s).
        worker.start()

        async def all_delivered() -> bool:
            return await unprocessed(sm, DELIVER_BID_CHUNK) == 0 and (
                await delivered(sm, bid_id) == PARTNERS
            )

        await _relay_until(sm, all_delivered, within=90, stale=2.0)
    finally:
        worker.kill()

    try:
        async with sm() as session:
            rows = (
                await session.execute(
                    select(BidDelivery.partner_id, func.count())
                    .where(BidDelivery.bid_id == bid_id)
                    .group_by(BidDelivery.partner_id)
                )
            ).all()
            assert sorted(r[0] for r in rows) == partners  # everyone ...
            assert {r[1] for r in rows} == {1}  # ... once
            chunk_rows = list(
                await session.scalars(
                    select(OutboxMessage).where(OutboxMessage.actor_name == DELIVER_BID_CHUNK)
                )
            )
            assert len(chunk_rows) == PARTNERS // CHUNK
            # Each chunk committed once: the killed run left no trace but its re-send.
            assert {(r.attempts, r.last_error) for r in chunk_rows} == {(1, None)}
            [plan] = list(
                await session.scalars(
                    select(OutboxMessage).where(OutboxMessage.actor_name == FAN_OUT_BID)
                )
            )
            assert plan.attempts == 1
            keys = list(
                await session.scalars(
                    select(OutboxMessage.dedupe_key).where(
                        OutboxMessage.dedupe_key.like(f"bid:{bid_id}:partner:%")
                    )
                )
            )
        assert sorted(keys) == sorted(f"bid:{bid_id}:partner:{p}" for p in partners)
    finally:
        await engine.dispose()
