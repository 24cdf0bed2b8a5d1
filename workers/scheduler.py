"""The scheduler: enqueues periodic jobs on time, each (job, period) once in all.

``partnergraph scheduler`` runs :func:`run_scheduler`. Every job has a period (a minute, a
month, a year) and is due from the start of each period (plus an optional delay). On each
tick the scheduler looks at the *current* period of every job; for a due one it claims the
slot by inserting ``scheduled_runs(job, period_key)`` with ``ON CONFLICT DO NOTHING``, and
only the scheduler whose insert wrote the row sends the Dramatiq message, in the same
transaction (a failed send rolls the claim back: the next tick tries again). Two
schedulers running at once (redundancy, a rolling deploy) thus enqueue each slot once: on
PostgreSQL the second insert waits for the first transaction and then does nothing; on
SQLite the write lock serializes them.

Catch-up: a slot missed while no scheduler ran is enqueued when one starts, if its period
is still the current one (a yearly job missed on 1 January runs on the first start in that
year); earlier periods are not replayed.

Jobs (:data:`DEFAULT_JOBS`)
    ``expire_bids``, ``expire_grant_invitations``, ``end_grant_terms``,
    ``sweep_webhook_deliveries`` and ``purge_idempotency_keys`` every minute (no argument);
    ``send_cashback_statements(year, month)``
    on the 1st of each month at 00:10 UTC, for the previous month;
    ``yearly_partner_review(year)`` on 1 January at 00:20 UTC, for the previous year.
    A job whose actor is not registered in this process is skipped (and not claimed), so
    it starts running as soon as its module is deployed. The outbox sweep is not a
    scheduled job: the API process runs it continuously (``workers.relay.Sweeper``).

Without Redis there is no worker to consume the messages of a separate scheduler process;
an embedded deployment can run :class:`Scheduler` inside the API process instead
(``Scheduler.start()`` on the in-process broker).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import os
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dramatiq
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config.settings import Settings
from db.models import ScheduledRun, utcnow
from db.session import make_engine, make_sessionmaker, transaction
from resolvers.outage import OutageLog
from workers.heartbeat import INTERVAL_SECONDS as HEARTBEAT_SECONDS
from workers.heartbeat import touch

logger = logging.getLogger(__name__)

#: The longest a tick waits; the scheduler also wakes at every period start.
MAX_SLEEP_SECONDS = 30.0


class Period(enum.StrEnum):
    MINUTE = "MINUTE"
    MONTH = "MONTH"
    YEAR = "YEAR"


def period_start(period: Period, moment: datetime) -> datetime:
    """The start (UTC) of the period that contains ``moment``."""
    moment = moment.astimezone(UTC)
    if period is Period.MINUTE:
        return moment.replace(second=0, microsecond=0)
    if period is Period.MONTH:
        return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return moment.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)


def next_period_start(period: Period, start: datetime) -> datetime:
    if period is Period.MINUTE:
        return start + timedelta(minutes=1)
    if period is Period.MONTH:
        return (
            start.replace(year=start.year + 1, month=1)
            if start.month == 12
            else start.replace(month=start.month + 1)
        )
    return start.replace(year=start.year + 1)


def period_key(period: Period, start: datetime) -> str:
    if period is Period.MINUTE:
        return start.strftime("%Y-%m-%dT%H:%M")
    if period is Period.MONTH:
        return start.strftime("%Y-%m")
    return start.strftime("%Y")


def _no_args(start: datetime) -> tuple[Any, ...]:
    return ()


def previous_month(start: datetime) -> tuple[int, int]:
    return (start.year, start.month - 1) if start.month > 1 else (start.year - 1, 12)


def previous_year(start: datetime) -> tuple[int]:
    return (start.year - 1,)


@dataclass(frozen=True)
class PeriodicJob:
    """Send ``actor_name(*args(period_start))`` once per period, ``delay`` after it starts."""

    actor_name: str
    period: Period
    args: Callable[[datetime], tuple[Any, ...]] = _no_args
    delay: timedelta = timedelta(0)

    def due(self, now: datetime) -> tuple[str, datetime] | None:
        """The current period's (key, start) if the job is due at ``now``, else None."""
        start = period_start(self.period, now)
        if now < start + self.delay:
            return None
        return period_key(self.period, start), start

    def next_due(self, now: datetime) -> datetime:
        start = period_start(self.period, now)
        if now < start + self.delay:
            return start + self.delay
        return next_period_start(self.period, start) + self.delay


DEFAULT_JOBS: tuple[PeriodicJob, ...] = (
    PeriodicJob("expire_bids", Period.MINUTE),
    PeriodicJob("expire_grant_invitations", Period.MINUTE),
    PeriodicJob("end_grant_terms", Period.MINUTE),
    PeriodicJob("sweep_webhook_deliveries", Period.MINUTE),
    PeriodicJob("purge_idempotency_keys", Period.MINUTE),
    PeriodicJob(
        "send_cashback_statements", Period.MONTH, previous_month, delay=timedelta(minutes=10)
    ),
    PeriodicJob("yearly_partner_review", Period.YEAR, previous_year, delay=timedelta(minutes=20)),
)


def _identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Scheduler:
    sessionmaker: async_sessionmaker[AsyncSession]
    broker: dramatiq.Broker
    jobs: tuple[PeriodicJob, ...] = DEFAULT_JOBS
    clock: Callable[[], datetime] = utcnow
    name: str = field(default_factory=_identity)
    #: Slots this scheduler enqueued, in order (diagnostics, tests).
    enqueued: list[tuple[str, str]] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None
    _stop: asyncio.Event | None = None
    outage: OutageLog = field(default_factory=lambda: OutageLog(logger, "scheduler"))
    #: Touched after every tick (and at least every heartbeat interval): the container's
    #: liveness check (`partnergraph healthcheck --heartbeat FILE`) reads its age.
    heartbeat: Path | None = None

    def _actor(self, name: str) -> dramatiq.Actor[Any, Any] | None:
        try:
            return self.broker.get_actor(name)
        except dramatiq.ActorNotFound:
            return None

    async def claim_and_send(self, job: PeriodicJob, key: str, start: datetime) -> bool:
        """Claim the slot; if this scheduler won it, send the message. True if sent."""
        actor = self._actor(job.actor_name)
        if actor is None:
            logger.debug("scheduler: no actor %r here; %s skipped", job.actor_name, key)
            return False
        async with transaction(self.sessionmaker) as session:
            insert = (
                sqlite.insert if session.get_bind().dialect.name == "sqlite" else postgresql.insert
            )
            result = await session.execute(
                insert(ScheduledRun)
                .values(
                    job=job.actor_name, period_key=key, claimed_at=utcnow(), claimed_by=self.name
                )
                .on_conflict_do_nothing(index_elements=["job", "period_key"])
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                return False
            # Inside the transaction: if the broker is down, the claim rolls back.
            await asyncio.to_thread(actor.send, *job.args(start))
        self.enqueued.append((job.actor_name, key))
        logger.info("scheduler %s: enqueued %s for %s", self.name, job.actor_name, key)
        return True

    async def tick(self, now: datetime | None = None) -> list[tuple[str, str]]:
        """Enqueue every job due now that no scheduler enqueued yet for this period."""
        moment = now or self.clock()
        sent: list[tuple[str, str]] = []
        for job in self.jobs:
            slot = job.due(moment)
            if slot is None:
                continue
            key, start = slot
            try:
                if await self.claim_and_send(job, key, start):
                    sent.append((job.actor_name, key))
            except Exception as exc:
                # Retried next tick; a database or broker outage is one line, not one
                # traceback per job and tick.
                self.outage.failed(exc, f"{job} for {key}; retried next tick")
            else:
                self.outage.recovered()
        return sent

    def seconds_until_next(self, now: datetime) -> float:
        nearest = min(job.next_due(now) for job in self.jobs)
        return max(0.05, min(MAX_SLEEP_SECONDS, (nearest - now).total_seconds()))

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Tick until ``stop`` is set: at start, then at each period start."""
        stop = stop or asyncio.Event()
        self._stop = stop
        while not stop.is_set():
            await self.tick()
            wait = self.seconds_until_next(self.clock())
            if self.heartbeat is not None:
                touch(self.heartbeat)
                wait = min(wait, HEARTBEAT_SECONDS)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)

    def start(self) -> None:
        """Run in the background of the current event loop (an embedded deployment)."""
        if self._task is None or self._task.done():
            self._stop = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(
                self.run(self._stop), name="scheduler"
            )

    async def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """The scheduler process: Redis broker, this settings' database, until ``stop``."""
    from workers.broker import setup_broker

    broker = setup_broker(settings)
    engine = make_engine(settings.database_url, pool_size=2, pool_name="scheduler")
    try:
        scheduler = Scheduler(make_sessionmaker(engine), broker, heartbeat=settings.heartbeat_file)
        logger.info(
            "scheduler %s: jobs %s",
            scheduler.name,
            ", ".join(
                f"{j.actor_name} ({j.period.value.lower()})"
                + ("" if scheduler._actor(j.actor_name) else " [actor not registered: skipped]")
                for j in scheduler.jobs
            ),
        )
        await scheduler.run(stop)
    finally:
        await engine.dispose()


def run_scheduler(settings: Settings) -> None:
    """``partnergraph scheduler``: run until SIGINT/SIGTERM. Needs Redis."""
    if not settings.redis_url:
        raise SystemExit(
            "partnergraph scheduler needs PARTNERGRAPH_REDIS_URL (its messages go to the "
            "workers through Redis)."
        )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(settings, stop)

    asyncio.run(main())
