"""Cashback credits per second: in-process use-case calls vs Redis + real Dramatiq workers,
beside Dramatiq's own ceiling (a no-op actor) on the same broker in the same run.

    .venv/bin/python bench/cashback_throughput.py [--messages 2000] [--threads 4]

Needs PostgreSQL (``PARTNERGRAPH_TEST_POSTGRES_URL``, default the local ``test`` database
as admin) and Redis (``--redis-url``, default ``redis://127.0.0.1:6379/0``; the bench's
keys live under a namespace of its own, ``settings.redis_namespace``, deleted at the end:
nothing else on the server is touched). It creates a
throw-away database (tables by ``create_all``), one partner and, for each configuration,
``--messages`` committed outbox rows ``credit_cashback`` (distinct orders), then times how
long it takes until every row is processed (its credit committed) and until the queue is
drained (every message acknowledged, the no-ops of rows credited in another message's
batch included):

1. ``direct``: this process runs ``process_once(row, credit_cashback_handler)`` with
   ``--threads`` concurrent asyncio tasks (each with its own connection): the use case
   and its transaction alone, no broker; then the same with ``process_batch`` (what the
   actor runs: each row with up to ``OUTBOX_BATCH_SIZE - 1`` other pending ones);
2. ``redis 1x<threads>``: ``relay_pending`` sends the rows to Redis; one
   ``dramatiq workers.actors`` process with ``--threads`` threads consumes them (each
   message credits its row and up to ``OUTBOX_BATCH_SIZE - 1`` other pending ones);
3. ``redis 2x<threads>``: the same with two worker processes;
4. ``no-op 1x`` and ``no-op 2x``: the same worker command and processes, sent as many
   messages of the same shape straight to a no-op actor (``bench/_noop_actor.py``):
   Dramatiq's ceiling on this broker; the clock stops when the queue is empty.

The rate of a configuration is its messages over the time until the queue is drained (as
the no-op's: its clock stops when its queue is empty), and it is printed beside the no-op
ceiling of as many processes (the ratio; issue 13's target is at least 0.5).

Worker start-up is not timed (each waits until its processes are ready). At the end it
checks that every order was credited once, that every outbox row was processed without
an error, and that the balance equals the ledger's sum, then drops the database and
deletes its Redis keys. Each phase is bounded (``--timeout`` seconds).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from pathlib import Path

import asyncpg
import dramatiq
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from config.settings import Settings  # noqa: E402
from db.models import (  # noqa: E402
    Base,
    JournalEntry,
    LedgerAccount,
    LedgerPosting,
    Organization,
    OutboxMessage,
    Partner,
)
from db.session import make_engine, make_sessionmaker, transaction  # noqa: E402
from domain.money import Currency, Money  # noqa: E402
from resolvers import ledger  # noqa: E402
from resolvers.events import emit  # noqa: E402
from tests.conftest import RedisSpace  # noqa: E402
from workers.broker import DEFAULT_QUEUE, build_broker, install_broker, reset_broker  # noqa: E402
from workers.cashback import credit_cashback_batch, credit_cashback_handler  # noqa: E402
from workers.outbox import process_once  # noqa: E402
from workers.outbox_batch import process_batch  # noqa: E402
from workers.relay import relay_pending  # noqa: E402

ADMIN_URL = os.environ.get(
    "PARTNERGRAPH_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
MINOR = 1234
#: Issue 13: cashback at least half of Dramatiq's no-op ceiling (same broker, same run).
TARGET = 0.5
SM = async_sessionmaker[AsyncSession]


@dataclass
class Result:
    name: str
    messages: int
    committed: float  # seconds until every credit is committed (no-op: = drained)
    drained: float  # seconds until every message is acknowledged

    @property
    def rate(self) -> float:
        return self.messages / self.drained if self.drained else float("inf")


async def admin(sql: str) -> None:
    connection = await asyncpg.connect(ADMIN_URL.replace("postgresql+asyncpg", "postgresql"))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def make_partner(sm: SM) -> tuple[int, int]:
    async with transaction(sm) as session:
        org = Organization(name="Bench Partner", currency=Currency.CHF, support_code="BENCH")
        session.add(org)
        await session.flush()
        partner = Partner(organization_id=org.id)
        session.add(partner)
        await session.flush()
        return partner.id, org.id


async def emit_rows(sm: SM, partner_id: int, first_order: int, count: int) -> list[int]:
    """``count`` committed credit_cashback outbox rows (orders first_order...)."""
    async with transaction(sm) as session:
        rows = [
            emit(
                session,
                ledger.CREDIT_CASHBACK,
                {"order_id": o, "partner_id": partner_id, "amount_minor": MINOR, "currency": "CHF"},
                dedupe_key=ledger.cashback_key(o),
            )
            for o in range(first_order, first_order + count)
        ]
        await session.flush()
        return [row.id for row in rows]


async def unprocessed(sm: SM, ids: list[int]) -> int:
    async with sm() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    OutboxMessage.id.between(min(ids), max(ids)),
                    OutboxMessage.processed_at.is_(None),
                )
            )
            or 0
        )


async def run_direct(
    url: str, ids: list[int], threads: int, within: float, *, batch: int = 1
) -> float:
    """``threads`` concurrent tasks of this process, each with its own connection: each
    row alone (``process_once``), or as the actor does (``process_batch``, ``batch``)."""
    engine = make_engine(url, pool_size=threads)
    sm = make_sessionmaker(engine)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for outbox_id in ids:
        queue.put_nowait(outbox_id)

    async def consume() -> None:
        while not queue.empty():
            outbox_id = queue.get_nowait()
            if batch == 1:
                await process_once(outbox_id, credit_cashback_handler, sessionmaker=sm)
            else:
                await process_batch(
                    outbox_id,
                    credit_cashback_batch,
                    limit=batch,
                    actor_name=ledger.CREDIT_CASHBACK,
                    sessionmaker=sm,
                )

    try:
        started = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(*(consume() for _ in range(threads))), within)
        return time.perf_counter() - started
    finally:
        await engine.dispose()


def tail(log: Path) -> str:
    """The end of a worker's log (small reads; the bench's own waits only)."""
    return log.read_text()[-3000:] if log.exists() else ""


class Workers:
    """``dramatiq workers.actors _noop_actor`` as a subprocess (its own process group)."""

    def __init__(
        self, url: str, space: RedisSpace, processes: int, threads: int, log: Path
    ) -> None:
        self.processes = processes
        self.log = log
        env = {
            **os.environ,
            "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'bench'}",
            "PARTNERGRAPH_DATABASE_URL": url,
            **space.env(),
            "PARTNERGRAPH_EMAIL_BACKEND": "console",
        }
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "dramatiq",
                    "workers.actors",
                    "_noop_actor",
                    "--skip-logging",  # as `partnergraph worker` runs it (our logging only)
                    f"--processes={processes}",
                    f"--threads={threads}",
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    async def ready(self, within: float) -> None:
        deadline = time.monotonic() + within
        while tail(self.log).count("ready for action") < self.processes:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start:\n{tail(self.log)}")
            await asyncio.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


async def run_redis(
    url: str,
    space: RedisSpace,
    sm: SM,
    emit: Callable[[], Awaitable[list[int]]],
    processes: int,
    threads: int,
    within: float,
    log: Path,
) -> tuple[float, float]:
    """Seconds until every row ``emit()`` commits is processed, and until the queue is
    drained too. The rows are committed once the workers are up (their sweepers would
    otherwise relay and credit them before the clock starts)."""
    workers = Workers(url, space, processes, threads, log)
    broker = dramatiq.get_broker()
    try:
        await workers.ready(within)
        ids = await emit()
        started = time.perf_counter()
        # The outbox relay, as the API's sweeper runs it. The workers sweep the outbox too,
        # so this relay sends only part of the rows: it stops when nothing is left to send
        # (counting its own sends up to len(ids) never ended: the bench hung).
        deadline = time.monotonic() + within
        while await relay_pending(sm, stale_after_seconds=3600, limit=1000):
            if time.monotonic() > deadline:
                raise RuntimeError(f"rows still pending after {within}s:\n{tail(log)}")
        committed: float | None = None
        while True:
            if committed is None and not await unprocessed(sm, ids):
                committed = time.perf_counter() - started
            # Every message acknowledged (queued, in flight or delayed for a retry: none).
            if committed is not None and not broker.do_qsize(DEFAULT_QUEUE):  # type: ignore[attr-defined]
                return committed, time.perf_counter() - started
            if time.monotonic() > deadline:
                state = "drained" if committed is not None else "processed"
                raise RuntimeError(f"not all {state} in {within}s:\n{tail(log)}")
            await asyncio.sleep(0.01)
    finally:
        workers.stop()


async def run_noop(
    url: str, space: RedisSpace, count: int, processes: int, threads: int, within: float, log: Path
) -> float:
    """``count`` no-op messages through the same broker and worker command."""
    from _noop_actor import NOOP

    workers = Workers(url, space, processes, threads, log)
    broker = dramatiq.get_broker()
    try:
        await workers.ready(within)
        started = time.perf_counter()
        for i in range(count):
            broker.enqueue(dramatiq.Message(NOOP, NOOP, (i,), {}, {}))
        deadline = time.monotonic() + within
        while broker.do_qsize(NOOP):  # type: ignore[attr-defined]
            if time.monotonic() > deadline:
                raise RuntimeError(f"not all processed in {within}s:\n{tail(log)}")
            await asyncio.sleep(0.01)
        return time.perf_counter() - started
    finally:
        workers.stop()


async def check_books(sm: SM, org_id: int, orders: int) -> None:
    async with sm() as session:
        duplicates = await session.scalar(
            select(func.count()).select_from(
                select(JournalEntry.order_id)
                .group_by(JournalEntry.order_id)
                .having(func.count() > 1)
                .subquery()
            )
        )
        entries = await session.scalar(select(func.count()).select_from(JournalEntry))
        postings = await session.scalar(
            select(func.sum(LedgerPosting.amount))
            .join(LedgerAccount, LedgerAccount.id == LedgerPosting.account_id)
            .where(LedgerAccount.organization_id == org_id)
        )
        balance = await ledger.prepaid_balance(session, org_id, "CHF")
        not_done = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.actor_name == ledger.CREDIT_CASHBACK,
                or_(OutboxMessage.processed_at.is_(None), OutboxMessage.last_error.is_not(None)),
            )
        )
    expected = Money.from_minor_units(MINOR * orders, "CHF")
    assert duplicates == 0, f"{duplicates} orders credited more than once"
    assert entries == orders, f"{entries} entries for {orders} orders"
    assert not_done == 0, f"{not_done} outbox rows not processed, or with an error"
    assert balance == expected, (balance, expected)
    assert -Decimal(postings) == expected.amount
    print(
        f"check: {entries} entries, one per order; every outbox row processed once, no error; "
        f"balance {balance} = -sum(postings)"
    )


async def main(args: argparse.Namespace) -> None:
    name = f"bench_cashback_{uuid.uuid4().hex[:8]}"
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    space = RedisSpace(args.redis_url, f"bench-cashback-{uuid.uuid4().hex[:8]}")
    await admin(f'CREATE DATABASE "{name}"')
    engine = make_engine(url)
    results: list[Result] = []
    try:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        sm = make_sessionmaker(engine)
        partner_id, org_id = await make_partner(sm)
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=url,
            redis_url=space.url,
            redis_namespace=space.namespace,
        )
        install_broker(build_broker(settings), settings)
        n, t = args.messages, args.threads
        batch = settings.outbox_batch_size
        configurations = [
            ("direct (in-process, no broker), one by one", "direct", 1),
            (f"direct (in-process, no broker), batches {batch}", "direct", batch),
            (f"redis + 1 worker process x {t} threads", "cashback", 1),
            (f"redis + 2 worker processes x {t} threads", "cashback", 2),
            (f"no-op actor, 1 worker process x {t} threads", "noop", 1),
            (f"no-op actor, 2 worker processes x {t} threads", "noop", 2),
        ]
        credited = 0
        with tempfile.TemporaryDirectory() as tmp:
            for index, (label, kind, processes) in enumerate(configurations):
                log = Path(tmp) / f"worker{index}.log"
                if kind == "noop":
                    seconds = await run_noop(url, space, n, processes, t, args.timeout, log)
                    committed = drained = seconds
                else:
                    emit = partial(emit_rows, sm, partner_id, 1_000_000 * (index + 1), n)
                    credited += n
                    if kind == "direct":
                        committed = drained = await run_direct(
                            url, await emit(), t, args.timeout, batch=processes
                        )
                    else:
                        committed, drained = await run_redis(
                            url, space, sm, emit, processes, t, args.timeout, log
                        )
                results.append(Result(label, n, committed, drained))
                print(
                    f"{label}: {n} messages, committed in {committed:.2f} s, "
                    f"drained in {drained:.2f} s = {n / drained:.0f}/s"
                )
        await check_books(sm, org_id, credited)
    finally:
        reset_broker()
        await engine.dispose()
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        space.clear()  # the workers' keys too (their heartbeats), once they are stopped
    report(results)


def report(results: list[Result]) -> None:
    print()
    print(f"{'configuration':<46} {'messages':>8} {'committed':>9} {'drained':>8} {'per s':>7}")
    for r in results:
        print(
            f"{r.name:<46} {r.messages:>8} {r.committed:>8.2f}s {r.drained:>7.2f}s {r.rate:>7.0f}"
        )
    for processes in (1, 2):
        cashback, noop = results[processes + 1], results[processes + 3]
        ratio = cashback.rate / noop.rate
        print(
            f"{processes}x{cashback.name.rsplit(' x ', 1)[-1].split()[0]} threads: cashback "
            f"{cashback.rate:.0f}/s (until drained; {cashback.messages / cashback.committed:.0f}"
            f"/s until committed) = {ratio:.2f}x the no-op ceiling of {noop.rate:.0f}/s "
            f"({'meets' if ratio >= TARGET else 'misses'} the {TARGET}x target)"
        )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPUs, load average {load}; PostgreSQL, Redis local")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--timeout", type=float, default=120.0)
    asyncio.run(main(parser.parse_args()))
