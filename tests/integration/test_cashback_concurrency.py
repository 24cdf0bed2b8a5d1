"""The same order event delivered many times at once credits once (PostgreSQL).

Deliveries come at the same instant from asyncio tasks in this process (each with its own
engine), from OS threads (each with its own event loop and engine) and from separate OS
processes (``cashback_crediter``): 2 x 3 + 2 x 2 + 6 = 16 deliveries of each event, all
released together once every one is connected (``StartLine``); as many connections at
once, within the suite's budget of about 20. A fresh database for this
module (``conftest.pg_url``), tables by ``create_all``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.models import JournalEntry, LedgerAccount, LedgerPosting, OutboxMessage
from db.models.ledger import JournalEntryKind
from db.session import make_engine, transaction
from domain.money import Currency, Money
from resolvers import ledger
from resolvers.events import emit
from tests.integration.cashback_crediter import deliver_all
from tests.integration.conftest import make_partner

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 2
TASKS_PER_PROCESS = 3
THREADS = 2
ENGINES_PER_THREAD = 2
LOCAL_TASKS = 6


class StartLine:
    """Everyone connects, says ready, then all are released at once.

    Processes signal through files (``ready-<pid>``, then ``go``); threads and local tasks
    through counters and an event. No fixed delay: a slow start (a busy machine) waits.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._ready = 0
        self._go = threading.Event()

    def ready(self) -> None:
        with self._lock:
            self._ready += 1

    async def go(self) -> None:
        while not self._go.is_set():  # noqa: ASYNC110 - set by another thread
            await asyncio.sleep(0.002)

    async def release_when_ready(self, in_process: int, processes: int) -> None:
        deadline = time.monotonic() + 90
        while True:
            with self._lock:
                local = self._ready
            remote = len(list(self.directory.glob("ready-*")))
            if local == in_process and remote == processes:
                break
            assert time.monotonic() < deadline, f"not ready: {local} local, {remote} processes"
            await asyncio.sleep(0.01)
        (self.directory / "go").touch()
        self._go.set()


def engines(url: str, count: int) -> list[AsyncEngine]:
    # Made here, in the main thread (imports done once); each is used by one loop only.
    return [make_engine(url, pool_size=1) for _ in range(count)]


async def process_deliveries(
    url: str, mode: str, ids: list[int], partner: int, minor: int, barrier: Path
) -> Counter[int]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.integration.cashback_crediter",
        url,
        f"--mode={mode}",
        f"--ids={','.join(map(str, ids))}",
        f"--partner={partner}",
        f"--minor={minor}",
        f"--tasks={TASKS_PER_PROCESS}",
        f"--barrier={barrier}",
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, err.decode()
    report = json.loads(out.decode().strip().splitlines()[-1])
    return Counter({int(k): v for k, v in report.items()})


async def deliver_everywhere(
    url: str, mode: str, ids: list[int], barrier: Path, partner: int = 0, minor: int = 0
) -> Counter[int]:
    """Every delivery of every id, from processes, threads and tasks released together."""
    line = StartLine(barrier)

    def in_thread(thread_engines: list[AsyncEngine]) -> dict[int, int]:
        # An OS thread with its own event loop, as a worker thread has.
        return asyncio.run(
            deliver_all(thread_engines, mode, ids, partner, minor, line.ready, line.go)
        )

    jobs = [
        *(process_deliveries(url, mode, ids, partner, minor, barrier) for _ in range(PROCESSES)),
        *(asyncio.to_thread(in_thread, engines(url, ENGINES_PER_THREAD)) for _ in range(THREADS)),
        deliver_all(engines(url, LOCAL_TASKS), mode, ids, partner, minor, line.ready, line.go),
    ]
    running = asyncio.gather(*jobs)
    await line.release_when_ready(in_process=THREADS + 1, processes=PROCESSES)
    results = await running
    total: Counter[int] = Counter(dict.fromkeys(ids, 0))
    for result in results:
        total.update(result)
    return total


async def assert_books(
    sm: async_sessionmaker[AsyncSession], org_id: int, orders: list[int], minor: int
) -> None:
    async with sm() as session:
        per_order = dict(
            (
                await session.execute(
                    select(JournalEntry.order_id, func.count())
                    .where(
                        JournalEntry.kind == JournalEntryKind.CASHBACK,
                        JournalEntry.order_id.in_(orders),
                    )
                    .group_by(JournalEntry.order_id)
                )
            ).all()
        )
        assert per_order == dict.fromkeys(orders, 1)
        postings_sum = await session.scalar(
            select(func.sum(LedgerPosting.amount))
            .join(LedgerAccount, LedgerAccount.id == LedgerPosting.account_id)
            .where(LedgerAccount.organization_id == org_id)
        )
        balance = await ledger.prepaid_balance(session, org_id, "CHF")
        unbalanced = await session.scalar(
            select(func.count()).select_from(
                select(LedgerPosting.entry_id)
                .group_by(LedgerPosting.entry_id)
                .having(func.sum(LedgerPosting.amount) != 0)
                .subquery()
            )
        )
    expected = Money.from_minor_units(minor * len(orders), "CHF")
    assert balance == expected
    assert -Decimal(postings_sum) == expected.amount  # the balance is the ledger's sum
    assert unbalanced == 0


async def test_the_same_order_credited_at_once_from_tasks_threads_and_processes(
    sm: async_sessionmaker[AsyncSession], pg_url: str, tmp_path: Path
) -> None:
    partner_id, org_id = await make_partner(sm, "Concurrent")
    orders = list(range(10_000, 10_012))

    wrote = await deliver_everywhere(pg_url, "ledger", orders, tmp_path, partner_id, 1234)

    assert dict(wrote) == dict.fromkeys(orders, 1)  # one credit per order, in total
    await assert_books(sm, org_id, orders, 1234)


async def test_the_same_outbox_event_delivered_at_once_is_processed_once(
    sm: async_sessionmaker[AsyncSession], pg_url: str, tmp_path: Path
) -> None:
    partner_id, org_id = await make_partner(sm, "Outboxed")
    orders = list(range(20_000, 20_008))
    outbox_ids = []
    async with transaction(sm) as session:
        for order_id in orders:
            row = emit(
                session,
                ledger.CREDIT_CASHBACK,
                {
                    "order_id": order_id,
                    "partner_id": partner_id,
                    "amount_minor": 501,
                    "currency": "CHF",
                },
                dedupe_key=ledger.cashback_key(order_id),
            )
            await session.flush()
            outbox_ids.append(row.id)

    processed = await deliver_everywhere(pg_url, "outbox", outbox_ids, tmp_path)

    assert dict(processed) == dict.fromkeys(outbox_ids, 1)
    await assert_books(sm, org_id, orders, 501)


async def test_batches_claimed_at_once_everywhere_credit_each_order_once(
    sm: async_sessionmaker[AsyncSession], pg_url: str, tmp_path: Path
) -> None:
    """Every delivery runs ``process_batch`` (each claims up to 6 more pending rows, FOR
    UPDATE SKIP LOCKED), all 16 deliverers at once, each in its own random order: batches
    overlap and collide, yet each order is credited once and each row processed once."""
    partner_id, org_id = await make_partner(sm, "Batched")
    orders = list(range(50_000, 50_060))
    async with transaction(sm) as session:
        rows = [
            emit(
                session,
                ledger.CREDIT_CASHBACK,
                {"order_id": o, "partner_id": partner_id, "amount_minor": 333, "currency": "CHF"},
                dedupe_key=ledger.cashback_key(o),
            )
            for o in orders
        ]
        await session.flush()
        outbox_ids = [row.id for row in rows]

    processed = await deliver_everywhere(pg_url, "batch", outbox_ids, tmp_path)

    # A row is processed by the delivery that claimed it: its own or another row's.
    assert all(count <= 1 for count in processed.values())
    async with sm() as session:
        state = (
            await session.execute(
                select(OutboxMessage.attempts, OutboxMessage.last_error).where(
                    OutboxMessage.id.in_(outbox_ids), OutboxMessage.processed_at.is_not(None)
                )
            )
        ).all()
    assert sorted(state) == [(1, None)] * len(outbox_ids)  # all processed, each once
    await assert_books(sm, org_id, orders, 333)


async def test_the_unique_key_alone_stops_a_second_credit_racing_the_first(
    sm: async_sessionmaker[AsyncSession],
) -> None:
    """Two raw inserts (different idempotency keys) for one order, at once: one commits."""

    async def insert(key: str, gate: asyncio.Event) -> str:
        try:
            async with transaction(sm) as session:
                session.add(
                    JournalEntry(
                        kind=JournalEntryKind.CASHBACK,
                        currency=Currency.CHF,
                        order_id=30_000,
                        idempotency_key=key,
                    )
                )
                await session.flush()
                await gate.wait()  # both rows written, neither committed
        except IntegrityError:
            return "refused"
        return "committed"

    gate = asyncio.Event()
    first = asyncio.create_task(insert("raw-a", gate))
    second = asyncio.create_task(insert("raw-b", gate))
    await asyncio.sleep(0.5)  # one flush went through, the other waits on the index
    gate.set()
    assert sorted(await asyncio.gather(first, second)) == ["committed", "refused"]
