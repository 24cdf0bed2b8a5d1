"""Webhook deliveries: per second to a local receiver with 2 Dramatiq worker processes, and
the time from the change's commit to the delivery, beside the receiver's own ceiling.

    .venv/bin/python bench/webhook_delivery.py [--events 1000] [--threads 8]

Needs PostgreSQL (``PARTNERGRAPH_TEST_POSTGRES_URL``, default the local ``test`` database
as admin) and Redis (``--redis-url``; the bench's keys live under a namespace of its own,
deleted at the end). It creates a throw-away database (``create_all``), one organization
with a webhook endpoint pointing at a receiver in this process (``bench/_receiver.py``),
then:

1. ``throughput``: commits ``--events`` integration events (distinct objects, so the
   order per object never waits) with their deliveries and outbox rows, exactly as a use
   case does (``record_event``); starts ``dramatiq workers.actors`` with 2 processes x
   ``--threads``; relays the outbox (as the API's sweeper does) and times until the
   receiver has every delivery: deliveries per second.
2. ``latency``: with the workers idle, commits one event at a time (``--latency-events``,
   10 per second), relays at once (the API's after-commit kick) and records
   commit -> arrival at the receiver: p50 and p95.
3. ``floor``: the same signed bodies POSTed straight to the receiver from this process
   (httpx, keep-alive, 16 at a time): what the receiver and loopback take at most.

Worker start-up is not timed. The database and the Redis keys are removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _receiver import Receiver  # noqa: E402
from cashback_throughput import ADMIN_URL, Workers, admin  # noqa: E402

from config.settings import Settings  # noqa: E402
from db.models import Base, Organization, WebhookEndpoint  # noqa: E402
from db.session import make_engine, make_sessionmaker, transaction  # noqa: E402
from domain.integration_events import EventFacts, EventKind  # noqa: E402
from domain.money import Currency  # noqa: E402
from resolvers.integration_events import record_event  # noqa: E402
from resolvers.webhooks.delivery import Attempt, body_of, signed_headers  # noqa: E402
from resolvers.webhooks.endpoints import new_signing_secret  # noqa: E402
from tests.conftest import RedisSpace  # noqa: E402
from workers.broker import build_broker, install_broker, reset_broker  # noqa: E402
from workers.relay import relay_pending  # noqa: E402


async def setup(sm: object, url: str) -> int:
    async with transaction(sm) as session:  # type: ignore[arg-type]
        org = Organization(name="Bench Org", currency=Currency.CHF, support_code="BENCHWH")
        session.add(org)
        await session.flush()
        session.add(
            WebhookEndpoint(
                organization_id=org.id,
                url=url,
                description="bench",
                event_kinds=[EventKind.ORDER_PLACED.value],
                secret=new_signing_secret(),
            )
        )
        return int(org.id)


async def commit_event(sm: object, org_id: int, subject_id: int) -> tuple[str, float]:
    """One committed event (and its delivery): its id and the commit time."""
    async with transaction(sm) as session:  # type: ignore[arg-type]
        [event] = await record_event(
            session,
            EventKind.ORDER_PLACED,
            subject_type="Order",
            subject_id=subject_id,
            facts=EventFacts(client_organization_id=org_id, payer_organization_id=org_id),
            view=lambda _org: {"id": f"order-{subject_id}", "quantity": 1},
            now=datetime.now(UTC),
        )
        key = event.event_key
    return key, time.time()


async def relay_all(sm: object) -> int:
    total = 0
    while True:
        sent = await relay_pending(sm, stale_after_seconds=3600, limit=1000)  # type: ignore[arg-type]
        total += sent
        if sent < 1000:
            return total


async def wait_for(receiver: Receiver, keys: list[str], within: float) -> float:
    deadline = time.monotonic() + within
    while not all(k in receiver.arrivals for k in keys):
        if time.monotonic() > deadline:
            missing = sum(1 for k in keys if k not in receiver.arrivals)
            raise RuntimeError(f"{missing} deliveries missing after {within}s")
        await asyncio.sleep(0.005)
    return max(receiver.arrivals[k] for k in keys)


async def floor(receiver: Receiver, count: int) -> float:
    attempt = Attempt(
        0, 0, receiver.url, "msg_floor", body_of({"id": "x", "data": {}}), [new_signing_secret()]
    )
    limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(count):
            queue.put_nowait(i)

        async def post() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                a = Attempt(0, 0, attempt.url, f"floor-{i}", attempt.body, attempt.secrets)
                await client.post(
                    a.url, content=a.body.encode(), headers=signed_headers(a, datetime.now(UTC))
                )

        started = time.perf_counter()
        await asyncio.gather(*(post() for _ in range(16)))
        return time.perf_counter() - started


async def main(args: argparse.Namespace) -> None:
    name = f"bench_webhooks_{uuid.uuid4().hex[:8]}"
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    space = RedisSpace(args.redis_url, f"bench-webhooks-{uuid.uuid4().hex[:8]}")
    await admin(f'CREATE DATABASE "{name}"')
    engine = make_engine(url)
    receiver = Receiver()
    await receiver.start()
    try:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        sm = make_sessionmaker(engine)
        org_id = await setup(sm, receiver.url)
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=url,
            redis_url=space.url,
            redis_namespace=space.namespace,
        )
        install_broker(build_broker(settings), settings)

        keys = [(await commit_event(sm, org_id, i))[0] for i in range(args.events)]
        with tempfile.TemporaryDirectory(prefix="bench-webhooks-") as tmp:
            log = Path(os.environ.get("BENCH_WORKER_LOG", Path(tmp) / "workers.log"))
            workers = Workers(url, space, 2, args.threads, log)
            try:
                await workers.ready(args.timeout)
                started = time.time()
                await relay_all(sm)
                last = await wait_for(receiver, keys, args.timeout)
                seconds = last - started
                rate = args.events / seconds

                latencies = []
                for i in range(args.latency_events):
                    key, committed = await commit_event(sm, org_id, 1_000_000 + i)
                    await relay_all(sm)
                    arrived = await wait_for(receiver, [key], args.timeout)
                    latencies.append(arrived - committed)
                    await asyncio.sleep(0.1)
            finally:
                workers.stop()
        floor_seconds = await floor(receiver, args.events)
    finally:
        reset_broker()
        await receiver.stop()
        await engine.dispose()
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        space.clear()

    p50 = statistics.median(latencies) * 1000
    p95 = statistics.quantiles(latencies, n=20)[-1] * 1000
    floor_rate = args.events / floor_seconds
    print(
        f"throughput: {args.events} deliveries in {seconds:.2f} s = {rate:.0f}/s "
        f"(2 worker processes x {args.threads} threads)"
    )
    print(
        f"latency commit -> delivery over {len(latencies)} events: "
        f"p50 {p50:.0f} ms, p95 {p95:.0f} ms"
    )
    print(
        f"floor: the receiver takes {floor_rate:.0f} POSTs/s from one httpx client (16 at a time)"
    )
    print(f"deliveries at {rate / floor_rate:.2f}x the receiver's ceiling")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPUs, load average {load}; PostgreSQL, Redis local")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--latency-events", type=int, default=40)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--timeout", type=float, default=180.0)
    asyncio.run(main(parser.parse_args()))
