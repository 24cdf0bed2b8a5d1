"""A separate OS process that delivers the same cashback events as its siblings, at once.

``python -m tests.integration.cashback_crediter URL --mode ledger|outbox|batch --ids 1,2,3
--partner 7 --minor 1234 --tasks 4 --barrier DIR``

Each of ``--tasks`` asyncio tasks has its own engine. All connect first; then the process
writes ``DIR/ready-<pid>`` and waits for ``DIR/go`` (written by the test once every
process, thread and task is connected), so that the deliveries collide. ``ledger`` mode
calls ``resolvers.ledger.credit_cashback`` for order ``id`` in a transaction of its own;
``outbox`` mode runs ``process_once(id, credit_cashback_handler)`` for outbox row ``id``;
``batch`` mode runs ``process_batch`` (the actor's way: the row and up to
``BATCH_LIMIT - 1`` other pending rows in one transaction), in a random order of the ids.
Prints one JSON object: id -> how many of this process's deliveries wrote a credit (in
``batch`` mode: processed the row, alone or with others).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.session import make_engine, make_sessionmaker, transaction
from resolvers import ledger
from workers.cashback import credit_cashback_batch, credit_cashback_handler
from workers.outbox import process_once
from workers.outbox_batch import process_batch

BATCH_LIMIT = 7


async def deliver(
    engine: AsyncEngine, mode: str, ids: list[int], partner: int, minor: int
) -> Counter[int]:
    """Deliver every id once, in order, with this engine; count the credits written."""
    sm = make_sessionmaker(engine)
    wrote: Counter[int] = Counter({item: 0 for item in ids})
    if mode == "batch":
        shuffled = random.sample(ids, len(ids))
        for item in shuffled:
            done = await process_batch(
                item,
                credit_cashback_batch,
                limit=BATCH_LIMIT,
                actor_name=ledger.CREDIT_CASHBACK,
                sessionmaker=sm,
            )
            wrote[item] += int(done)
        return wrote
    for item in ids:
        if mode == "outbox":
            wrote[item] += int(await process_once(item, credit_cashback_handler, sessionmaker=sm))
        else:
            async with transaction(sm) as session:
                result = await ledger.credit_cashback(session, item, partner, minor, "CHF")
            wrote[item] += int(result.created)
    return wrote


async def connect(engines: list[AsyncEngine]) -> None:
    for engine in engines:  # connected before the start line, not after
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))


async def deliver_all(
    engines: list[AsyncEngine],
    mode: str,
    ids: list[int],
    partner: int,
    minor: int,
    ready: Callable[[], None],
    go: Callable[[], Awaitable[None]],
) -> dict[int, int]:
    """Connect every engine, say ready, wait for go, deliver from all engines at once."""
    try:
        await connect(engines)
        ready()
        await go()
        results = await asyncio.gather(*(deliver(e, mode, ids, partner, minor) for e in engines))
    finally:
        for engine in engines:
            await engine.dispose()
    total: dict[int, int] = {item: 0 for item in ids}
    for result in results:
        for item, count in result.items():
            total[item] += count
    return total


async def main(args: argparse.Namespace) -> dict[int, int]:
    barrier = Path(args.barrier)

    def ready() -> None:
        (barrier / f"ready-{os.getpid()}").touch()

    async def go() -> None:
        while not (barrier / "go").exists():  # noqa: ASYNC110 - a file set by another process
            await asyncio.sleep(0.002)

    engines = [make_engine(args.url, pool_size=1) for _ in range(args.tasks)]
    ids = [int(i) for i in args.ids.split(",")]
    return await deliver_all(engines, args.mode, ids, args.partner, args.minor, ready, go)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--mode", choices=["ledger", "outbox", "batch"], required=True)
    parser.add_argument("--ids", required=True)
    parser.add_argument("--partner", type=int, default=0)
    parser.add_argument("--minor", type=int, default=0)
    parser.add_argument("--tasks", type=int, default=4)
    parser.add_argument("--barrier", required=True)
    total = asyncio.run(main(parser.parse_args()))
    print(json.dumps({str(k): v for k, v in total.items()}))
