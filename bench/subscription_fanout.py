"""Fan one integration event out to 1,000 live subscribers: two API processes, Redis
pub/sub, graphql-transport-ws clients; beside Redis pub/sub's own fan-out to as many
plain subscribers, in the same run.

    .venv/bin/python bench/subscription_fanout.py [--subscribers 1000] [--rounds 5]

Needs PostgreSQL (``PARTNERGRAPH_TEST_POSTGRES_URL``) and Redis (``--redis-url``; a
namespace of its own, deleted at the end). It creates a throw-away database with one
organization and ``--subscribers`` administrators, each with a session; starts two API
processes (uvicorn) and opens one websocket per administrator, half on each process,
subscribed to ``events(kinds: [ORDER_PLACED])``. Each round commits one event here (as a
use case does: ``record_event``, published after commit) and times from the commit until
every subscriber has it (each subscriber's credentials and visibility are checked when
it is sent). The floor: as many ``redis.asyncio`` pub/sub subscribers in this process,
one PUBLISH, until all have it. The database and Redis keys are removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
import websockets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from cashback_throughput import ADMIN_URL, admin  # noqa: E402

from db.models import AuthSession, Base, Membership, Organization, User  # noqa: E402
from db.session import make_engine, make_sessionmaker, transaction  # noqa: E402
from domain.enums import Role  # noqa: E402
from domain.integration_events import EventFacts, EventKind  # noqa: E402
from domain.money import Currency  # noqa: E402
from resolvers.integration_events import record_event  # noqa: E402
from resolvers.subscriptions.bus import RedisBus, install_bus  # noqa: E402
from resolvers.tokens import digest, new_secret  # noqa: E402
from tests.conftest import TEST_SECRET, RedisSpace  # noqa: E402
from tests.integration.api_servers import api_processes  # noqa: E402

QUERY = "subscription { events(kinds: [ORDER_PLACED]) { id } }"


async def seed(sm: Any, count: int) -> tuple[int, list[str]]:
    tokens = [new_secret("pgs") for _ in range(count)]
    async with transaction(sm) as session:
        org = Organization(name="Fan-out Org", currency=Currency.CHF, support_code="FANOUT")
        session.add(org)
        await session.flush()
        users = [
            User(
                email=f"admin{i}@fanout.example",
                full_name=f"Admin {i}",
                password_hash="x",
                email_verified_at=datetime.now(UTC),
            )
            for i in range(count)
        ]
        session.add_all(users)
        await session.flush()
        session.add_all(
            Membership(user_id=u.id, organization_id=org.id, role=Role.ADMINISTRATOR) for u in users
        )
        session.add_all(
            AuthSession(
                user_id=u.id,
                token_hash=digest(TEST_SECRET, t),
                expires_at=datetime.now(UTC) + timedelta(hours=2),
                last_used_at=datetime.now(UTC),
            )
            for u, t in zip(users, tokens, strict=True)
        )
        return int(org.id), tokens


async def subscribe(base: str, token: str) -> Any:
    ws = await websockets.connect(
        base.replace("http", "ws") + "/graphql", subprotocols=["graphql-transport-ws"], max_queue=64
    )
    await ws.send(
        json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    )
    ack = json.loads(await ws.recv())
    assert ack["type"] == "connection_ack", ack
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": QUERY}}))
    return ws


async def receive_next(ws: Any, within: float) -> float:
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), within))
        if message["type"] == "next":
            return time.perf_counter()
        if message["type"] != "ping":
            raise RuntimeError(f"unexpected message {message}")


async def commit_event(sm: Any, org_id: int, n: int) -> None:
    async with transaction(sm) as session:
        await record_event(
            session,
            EventKind.ORDER_PLACED,
            subject_type="Order",
            subject_id=n,
            facts=EventFacts(client_organization_id=org_id, payer_organization_id=org_id),
            view=lambda _org: {"id": f"order-{n}"},
            now=datetime.now(UTC),
        )


async def redis_floor(url: str, channel: str, count: int) -> float:
    clients = [aioredis.Redis.from_url(url) for _ in range(count)]
    pubsubs = [c.pubsub() for c in clients]
    try:
        for p in pubsubs:
            await p.subscribe(channel)
            await p.get_message(timeout=1)  # the subscribe confirmation

        async def one(p: Any) -> float:
            while True:
                message = await p.get_message(timeout=10)
                if message and message["type"] == "message":
                    return time.perf_counter()

        waiting = [asyncio.create_task(one(p)) for p in pubsubs]
        await asyncio.sleep(0.2)
        publisher = aioredis.Redis.from_url(url)
        started = time.perf_counter()
        await publisher.publish(channel, "x")
        await publisher.aclose()
        return max(await asyncio.gather(*waiting)) - started
    finally:
        for p in pubsubs:
            await p.aclose()
        for c in clients:
            await c.aclose()


async def main(args: argparse.Namespace) -> None:
    name = f"bench_fanout_{uuid.uuid4().hex[:8]}"
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    space = RedisSpace(args.redis_url, f"bench-fanout-{uuid.uuid4().hex[:8]}")
    await admin(f'CREATE DATABASE "{name}"')
    engine = make_engine(url)
    rounds: list[float] = []
    try:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        sm = make_sessionmaker(engine)
        org_id, tokens = await seed(sm, args.subscribers)
        bus = RedisBus(space.url, space.namespace, listen=False)
        install_bus(bus)
        with api_processes(2, url, space) as servers:
            sockets = []
            for i, token in enumerate(tokens):
                sockets.append(await subscribe(servers[i % 2], token))
            await asyncio.sleep(2)  # every subscription registered on its process's bus
            for n in range(args.rounds):
                waiting = [asyncio.create_task(receive_next(ws, args.timeout)) for ws in sockets]
                started = time.perf_counter()
                await commit_event(sm, org_id, n)
                arrivals = await asyncio.gather(*waiting)
                rounds.append(max(arrivals) - started)
                print(
                    f"round {n + 1}: all {len(sockets)} subscribers in {rounds[-1] * 1000:.0f} ms "
                    f"(first {(min(arrivals) - started) * 1000:.0f} ms)"
                )
                await asyncio.sleep(0.5)
            for ws in sockets:
                await ws.close()
        install_bus(None)
        await bus.stop()
        floor = await redis_floor(space.url, f"{space.namespace}:floor", args.subscribers)
    finally:
        await engine.dispose()
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        space.clear()
    median = statistics.median(rounds)
    print(
        f"fan-out of one event to {args.subscribers} subscribers (2 API processes): "
        f"median {median * 1000:.0f} ms over {len(rounds)} rounds"
    )
    print(
        f"floor: Redis pub/sub to {args.subscribers} plain subscribers in {floor * 1000:.0f} ms "
        f"({median / floor:.1f}x)"
    )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPUs, load average {load}; PostgreSQL, Redis local")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--timeout", type=float, default=120.0)
    asyncio.run(main(parser.parse_args()))
