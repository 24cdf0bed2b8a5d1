"""A real Dramatiq worker killed mid-credit (SIGKILL), restarted, every message re-sent:
each order is credited exactly once (PostgreSQL + Redis db 10)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config.settings import Settings
from db.models import JournalEntry, LedgerAccount, LedgerPosting, OutboxMessage
from db.models.ledger import JournalEntryKind
from db.session import transaction
from domain.money import Money
from resolvers import ledger
from resolvers.events import emit
from tests.conftest import RedisSpace
from tests.integration.conftest import make_partner
from workers.broker import build_broker, install_broker, reset_broker
from workers.relay import relay_pending

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

ROOT = Path(__file__).resolve().parents[2]
ORDERS = 150
MINOR = 777
SM = async_sessionmaker[AsyncSession]


@pytest.fixture
def broker(pg_url: str, redis_space: RedisSpace) -> Iterator[object]:
    """This process sends to the test's Redis namespace (the relay, and the re-sends)."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=pg_url,
        redis_url=redis_space.url,
        redis_namespace=redis_space.namespace,
    )
    yield install_broker(build_broker(settings), settings)
    reset_broker()


class Worker:
    """``dramatiq tests.integration.slow_cashback_worker`` in its own process group."""

    def __init__(
        self, pg_url: str, redis: RedisSpace, tmp: Path, name: str, delay_s: float
    ) -> None:
        self.log = tmp / f"{name}.log"
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "PARTNERGRAPH_DATABASE_URL": pg_url,
            **redis.env(),
            "PARTNERGRAPH_EMAIL_BACKEND": "file",
            # This test plays the API's relay and counts what it sends: no worker sweeper.
            "PARTNERGRAPH_OUTBOX_SWEEP_IN_WORKERS": "false",
            "PARTNERGRAPH_EMAIL_FILE_DIR": str(tmp / "mail"),
            "CASHBACK_TEST_DELAY_S": str(delay_s),
            "CASHBACK_TEST_JOURNAL": str(tmp / f"{name}.journal"),
        }
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "dramatiq",
                    "tests.integration.slow_cashback_worker",
                    "--processes=1",
                    "--threads=4",
                    "--worker-shutdown-timeout=5000",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: the kill reaches the forked worker
            )
        self.journal = tmp / f"{name}.journal"

    def journaled(self) -> set[int]:
        """Orders whose credit this worker wrote (committed or not)."""
        if not self.journal.exists():
            return set()
        return {int(line) for line in self.journal.read_text().split()}

    def sigkill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)  # the main process stops its workers
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


async def committed_orders(sm: SM) -> set[int]:
    async with sm() as session:
        rows = await session.scalars(
            select(JournalEntry.order_id).where(JournalEntry.kind == JournalEntryKind.CASHBACK)
        )
        return {r for r in rows if r is not None}


async def wait_for(predicate: object, what: str, within: float, worker: Worker) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await predicate():  # type: ignore[operator]
        if loop.time() > deadline:
            pytest.fail(f"{what} not within {within}s; worker log:\n{worker.log.read_text()}")
        if worker.process.poll() is not None:
            pytest.fail(f"the worker exited; log:\n{worker.log.read_text()}")
        await asyncio.sleep(0.05)


async def test_a_worker_killed_mid_credit_and_restarted_credits_each_order_once(
    sm: SM, pg_url: str, broker: object, redis_space: RedisSpace, tmp_path: Path
) -> None:
    partner_id, org_id = await make_partner(sm, "Killed")
    orders = list(range(40_000, 40_000 + ORDERS))
    async with transaction(sm) as session:
        rows = [
            emit(
                session,
                ledger.CREDIT_CASHBACK,
                {"order_id": o, "partner_id": partner_id, "amount_minor": MINOR, "currency": "CHF"},
                dedupe_key=ledger.cashback_key(o),
            )
            for o in orders
        ]
        await session.flush()
        outbox_ids = [row.id for row in rows]
    # The real path: the relay hands every committed row to Redis.
    assert await relay_pending(sm, stale_after_seconds=30, limit=1000) == ORDERS

    # 1. A slow worker (0.2 s inside each credit's transaction), killed after some commits.
    first = Worker(pg_url, redis_space, tmp_path, "first", delay_s=0.2)
    try:

        async def mid_credit() -> bool:
            # Some credits committed, and at least one written but not yet committed.
            done = await committed_orders(sm)
            return len(done) >= 8 and bool(first.journaled() - done)

        await wait_for(mid_credit, "credits committed and one in flight", 30, first)
        first.sigkill()
    finally:
        first.stop()
    committed = await committed_orders(sm)
    in_flight = first.journaled() - committed
    assert 0 < len(committed) < ORDERS, "killed mid-way"
    assert in_flight, "the kill interrupted a credit written but not committed"

    # 2. Restarted (no pause); every message sent again, as at-least-once delivery may.
    actor = broker.get_actor(ledger.CREDIT_CASHBACK)  # type: ignore[attr-defined]
    for outbox_id in outbox_ids:
        actor.send(outbox_id)
    second = Worker(pg_url, redis_space, tmp_path, "second", delay_s=0)
    try:

        async def all_processed() -> bool:
            async with sm() as session:
                left = await session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.id.in_(outbox_ids), OutboxMessage.processed_at.is_(None))
                )
            return left == 0

        async def queue_drained() -> bool:
            client = redis.Redis.from_url(redis_space.url)
            try:
                return client.llen(f"{redis_space.namespace}:default") == 0
            finally:
                client.close()

        await wait_for(all_processed, "every order processed", 60, second)
        await wait_for(queue_drained, "the duplicates consumed", 30, second)
        await asyncio.sleep(0.5)  # the last duplicates finish (no-ops)
    finally:
        second.stop()

    # 3. Exactly once per order, the in-flight ones included; balance = ledger sum.
    async with sm() as session:
        per_order = dict(
            (
                await session.execute(
                    select(JournalEntry.order_id, func.count())
                    .where(JournalEntry.kind == JournalEntryKind.CASHBACK)
                    .group_by(JournalEntry.order_id)
                )
            ).all()
        )
        postings = await session.scalar(
            select(func.sum(LedgerPosting.amount))
            .join(LedgerAccount, LedgerAccount.id == LedgerPosting.account_id)
            .where(LedgerAccount.organization_id == org_id)
        )
        balance = await ledger.prepaid_balance(session, org_id, "CHF")
    assert per_order == dict.fromkeys(orders, 1)
    assert in_flight <= set(per_order)
    expected = Money.from_minor_units(MINOR * ORDERS, "CHF")
    assert balance == expected
    assert -Decimal(postings) == expected.amount
    assert second.journaled() >= in_flight  # the restarted worker credited them
