"""Bid fan-out: time to deliver one bid to 10,000 and to 100,000 matching partners.

    .venv/bin/python bench/bid_fanout.py [--sizes 10000,100000] [--processes 2] [--threads 4]

Needs PostgreSQL (``PARTNERGRAPH_TEST_POSTGRES_URL``, default the local ``test`` database
as admin) and Redis (``--redis-url``, default ``redis://127.0.0.1:6379/0``; the bench's
keys live under a namespace of its own, ``settings.redis_namespace``, deleted at the end:
nothing else on the server is touched). It creates a throw-away database (tables by
``create_all``) and bulk-loads ``max(sizes)`` active partners (an organization, a legal
representative, and an unpublished directory listing whose languages, regions and
product families are the partner's profile for bids); for each size a bid matches
exactly that many partners. Then ``ANALYZE`` (what autovacuum does shortly after a bulk load).

For each size, this process plays the API: it posts the bid (``resolvers.bids.post_bid``:
the matching count and the ``fan_out_bid`` outbox row) and relays that row to Redis;
``--processes`` x ``--threads`` real ``dramatiq workers.actors`` workers plan the chunks
(1000 partners each), send them and deliver them: each chunk commits its
``bid_deliveries`` and one ``bid_received`` email per partner in the outbox. The clock
runs from the relay until every partner's delivery is committed. The emails are queued
(same transaction as the delivery) but not sent during the run: sending is the outbox's
and the email worker's job (measured by their own bench), and would compete for the two
cores here.

Worker start-up is not timed. At the end it checks that each partner received each bid
once, then stops the workers, drops the database and deletes its Redis keys. Each
size is bounded by ``--timeout`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text  # noqa: E402

from config.settings import Settings  # noqa: E402
from db.models import Base, BidDelivery, OutboxMessage, utcnow  # noqa: E402
from db.session import make_engine, make_sessionmaker  # noqa: E402
from domain.money import Currency  # noqa: E402
from resolvers import bids as use_cases  # noqa: E402
from resolvers.bids import DELIVER_BID_CHUNK, FAN_OUT_BID  # noqa: E402
from resolvers.context import RequestContext, Services  # noqa: E402
from tests.conftest import PG_ADMIN_URL, RedisSpace  # noqa: E402
from tests.integration.bid_support import (  # noqa: E402
    SM,
    WorkerProcess,
    delivered,
    make_author,
    seed_partners,
    unprocessed,
)
from workers.bids import dispatch_now  # noqa: E402
from workers.broker import build_broker, install_broker, reset_broker  # noqa: E402

#: The language of the bid for each size (partners take "fr", the first ones also others).
LANGUAGES = ["it", "de", "en", "es", "nl", "pt"]


async def _admin(sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(PG_ADMIN_URL.replace("postgresql+asyncpg", "postgresql"))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def create_database() -> str:
    name = f"bench_bids_{uuid.uuid4().hex[:10]}"
    await _admin(f'CREATE DATABASE "{name}"')
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


async def drop_database(url: str) -> None:
    await _admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


@dataclass
class Result:
    partners: int
    chunks: int
    post_ms: float
    seconds: float
    emails: int

    @property
    def per_second(self) -> float:
        return self.partners / self.seconds


async def seed(sm: SM, sizes: list[int]) -> None:
    """Partner i takes fr, and the bench language of every size it falls within."""
    largest = sizes[-1]
    started = time.perf_counter()
    await seed_partners(
        sm, largest, also_languages={LANGUAGES[k]: size for k, size in enumerate(sizes[:-1])}
    )
    async with sm() as session:
        await session.execute(text("ANALYZE"))
        await session.commit()
    print(f"seeded {largest:,} partners in {time.perf_counter() - started:.1f} s", flush=True)


def language_for(index: int, sizes: list[int]) -> str:
    return "fr" if index == len(sizes) - 1 else LANGUAGES[index]


async def wait_ready(worker: WorkerProcess, processes: int, within: float) -> None:
    deadline = time.monotonic() + within
    while worker.log(200_000).count("ready for action") < processes:
        if time.monotonic() > deadline:
            raise TimeoutError(f"workers not ready:\n{worker.log()}")
        await asyncio.sleep(0.2)


async def run_size(
    sm: SM, ctx: RequestContext, index: int, sizes: list[int], within: float
) -> Result:
    size = sizes[index]
    started = time.perf_counter()
    posted = await use_cases.post_bid(
        ctx,
        description=f"Bench bid {index}: web hosting for a retail chain.",
        product_families=["WEB_HOSTING"],
        budget_amount="50000.00",
        currency=Currency.CHF,
        language=language_for(index, sizes),
        region="CH-VD",
        deadline=utcnow() + timedelta(days=7),
    )
    post_ms = (time.perf_counter() - started) * 1000
    assert posted.matching_partners == size, (posted.matching_partners, size)
    bid_id = posted.bid.id
    async with sm() as session:
        plan = await session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.dedupe_key == f"bid:{bid_id}:fan_out")
        )
    assert plan is not None
    clock = time.perf_counter()
    # Relay that one row, as the API does after the commit (the earlier bids' emails stay
    # queued: see the module docstring).
    await dispatch_now([plan], FAN_OUT_BID)
    deadline = time.monotonic() + within
    while await delivered(sm, bid_id) < size or await unprocessed(sm, DELIVER_BID_CHUNK):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{size}: {await delivered(sm, bid_id)} delivered in {within} s")
        await asyncio.sleep(0.05)
    seconds = time.perf_counter() - clock
    async with sm() as session:
        chunks = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.dedupe_key.like(f"bid:{bid_id}:chunk:%"))
        )
        emails = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.dedupe_key.like(f"bid:{bid_id}:partner:%"))
        )
        distinct = await session.scalar(
            select(func.count(func.distinct(BidDelivery.partner_id))).where(
                BidDelivery.bid_id == bid_id
            )
        )
    assert distinct == size == emails, (distinct, size, emails)
    return Result(size, int(chunks or 0), post_ms, seconds, int(emails or 0))


async def main(args: argparse.Namespace) -> None:
    sizes = sorted(int(s) for s in args.sizes.split(","))
    if len(sizes) > len(LANGUAGES) + 1:
        raise SystemExit(f"at most {len(LANGUAGES) + 1} sizes")
    space = RedisSpace(args.redis_url, f"bench-bids-{uuid.uuid4().hex[:8]}")
    url = await create_database()
    engine = make_engine(url, pool_size=4)
    workdir = Path(tempfile.mkdtemp(prefix="bid-bench-"))
    worker: WorkerProcess | None = None
    try:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        sm = make_sessionmaker(engine)
        await seed(sm, sizes)
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=url,
            redis_url=space.url,
            redis_namespace=space.namespace,
        )
        install_broker(build_broker(settings), settings)
        ctx = RequestContext(
            services=Services(settings=settings, sessionmaker=sm), viewer=await make_author(sm)
        )
        worker = WorkerProcess(
            database_url=url,
            redis=space,
            log_path=workdir / "worker.log",
            mail_dir=workdir / "mail",
            processes=args.processes,
            threads=args.threads,
        )
        worker.start()
        starting = time.perf_counter()
        await wait_ready(worker, args.processes, 60)
        print(f"workers ready in {time.perf_counter() - starting:.1f} s", flush=True)
        results = [await run_size(sm, ctx, i, sizes, args.timeout) for i in range(len(sizes))]
    finally:
        if worker is not None:
            stopping = time.perf_counter()
            worker.stop(wait=10)
            print(f"workers stopped in {time.perf_counter() - stopping:.1f} s", flush=True)
        reset_broker()
        await engine.dispose()
        await drop_database(url)
        space.clear()

    print()
    print(
        f"one bid, {args.processes} worker processes x {args.threads} threads, "
        f"chunks of {use_cases.DEFAULT_CHUNK_SIZE} (PostgreSQL + Redis, {os.cpu_count()} cores)"
    )
    header = f"{'matching partners':>18} {'chunks':>7} {'post (ms)':>10} {'delivered in (s)':>17}"
    print(header + f" {'deliveries/s':>13} {'emails queued':>14}")
    for r in results:
        print(
            f"{r.partners:>18,} {r.chunks:>7} {r.post_ms:>10.0f} {r.seconds:>17.2f}"
            f" {r.per_second:>13,.0f} {r.emails:>14,}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--timeout", type=float, default=300)
    asyncio.run(main(parser.parse_args()))
