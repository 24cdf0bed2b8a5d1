"""The outbox relay: pending rows to the broker, at once after a commit and on a timer.

:func:`relay_pending` sends each pending outbox row to its actor (the Dramatiq message
carries only the outbox id) and sets ``dispatched_at``; the :class:`Sweeper` runs it in
the background of a process (the API, every worker process) every
``outbox_sweep_seconds`` and whenever :func:`kick` is called after a commit that queued
rows, and so re-sends the rows lost on the way (Redis down, a crash). What a row's actor
then does with it is ``workers.outbox``'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import timedelta

import dramatiq
from sqlalchemy import and_, false, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config.settings import Settings
from db.models import OutboxMessage, utcnow
from db.session import is_sqlite
from resolvers.outage import OutageLog
from workers import broker as broker_module

logger = logging.getLogger(__name__)

#: After this many failed attempts the sweeper stops re-sending a row (see ``last_error``).
MAX_ATTEMPTS = 25
#: A row that failed is in Dramatiq's retry back-off: re-send it only if nothing happened
#: for longer than the longest back-off (the broker lost it, or its retries ran out).
RETRY_GRACE_SECONDS = broker_module.MAX_BACKOFF_MS / 1000


def _send_batch(
    broker: dramatiq.Broker, rows: Sequence[tuple[int, str]]
) -> tuple[list[int], Exception | None]:
    """Send rows in order; stop at the first broker failure. Runs in a thread (blocking IO)."""
    sent: list[int] = []
    for outbox_id, actor_name in rows:
        try:
            actor = broker.get_actor(actor_name)
        except dramatiq.ActorNotFound:
            logger.error("outbox message %s: no actor %r in this process", outbox_id, actor_name)
            continue
        try:
            actor.send(outbox_id)
        except Exception as exc:
            return sent, exc
        sent.append(outbox_id)
    return sent, None


async def relay_pending(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    stale_after_seconds: float,
    limit: int = 500,
    broker: dramatiq.Broker | None = None,
    retry_grace_seconds: float = RETRY_GRACE_SECONDS,
    max_attempts: int = MAX_ATTEMPTS,
) -> int:
    """Send the pending outbox rows to their actors; return how many were sent.

    Pending: not processed, fewer than ``max_attempts`` failures, and either never
    dispatched, or dispatched more than ``stale_after_seconds`` ago without any attempt
    (lost in a Redis outage or a worker crash), or failed and silent for longer than
    ``stale_after_seconds + retry_grace_seconds`` (retries exhausted or lost). Oldest
    first, at most ``limit``. Sent rows get ``dispatched_at = now`` in the same
    transaction.

    On PostgreSQL the rows are selected ``FOR UPDATE SKIP LOCKED``: concurrent relays
    (several API processes) never send the same row, and rows an actor is processing are
    skipped. If the broker fails (Redis down), the rows sent so far are marked, the rest
    stay pending for the next sweep, and the error is logged, not raised. A duplicate send
    (a crash before the commit) is harmless: ``process_once`` is idempotent.
    """
    broker = broker if broker is not None else broker_module.get_installed_broker()
    now = utcnow()
    stale_cutoff = now - timedelta(seconds=stale_after_seconds)
    failed_cutoff = stale_cutoff - timedelta(seconds=retry_grace_seconds)
    async with sessionmaker() as session, session.begin():
        sqlite = is_sqlite(session)
        if sqlite:
            # Take the write lock first (see _lock_message): the UPDATE below must not
            # find its snapshot outdated by a worker that committed meanwhile.
            await session.execute(
                update(OutboxMessage)
                .where(false())
                .values(attempts=OutboxMessage.attempts)
                .execution_options(synchronize_session=False)
            )
        query = (
            select(OutboxMessage.id, OutboxMessage.actor_name)
            .where(
                OutboxMessage.processed_at.is_(None),
                OutboxMessage.attempts < max_attempts,
                or_(
                    OutboxMessage.dispatched_at.is_(None),
                    and_(OutboxMessage.attempts == 0, OutboxMessage.dispatched_at < stale_cutoff),
                    OutboxMessage.dispatched_at < failed_cutoff,
                ),
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        if not sqlite:
            query = query.with_for_update(skip_locked=True)
        rows = [(row.id, row.actor_name) for row in (await session.execute(query)).all()]
        if not rows:
            return 0
        sent, error = await asyncio.to_thread(_send_batch, broker, rows)
        if sent:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(sent))
                .values(dispatched_at=utcnow())
                .execution_options(synchronize_session=False)
            )
    if error is not None:
        logger.warning(
            "outbox relay: broker send failed after %d of %d messages (%s: %s); "
            "the rest stay pending",
            len(sent),
            len(rows),
            type(error).__name__,
            error,
        )
    elif sent:
        logger.debug("outbox relay: sent %d messages", len(sent))
    return len(sent)


_current_sweeper: Sweeper | None = None


def kick() -> None:
    """Ask the running sweeper to relay now (call after a commit that emitted rows).

    Never raises, and does nothing without a started sweeper. Safe from any thread.
    """
    sweeper = _current_sweeper
    if sweeper is not None:
        sweeper.kick()


class Sweeper:
    """Relays the outbox in the background of the API process.

    ``start()`` (inside the running event loop) creates an asyncio task that calls
    :func:`relay_pending` at once, every ``interval_seconds``, and whenever :meth:`kick`
    is called; ``await stop()`` ends it. A started sweeper is also the one the module
    level :func:`kick` wakes. Relay errors (database or broker down) are logged and
    retried on the next pass.
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        interval_seconds: float,
        stale_after_seconds: float,
        broker: dramatiq.Broker | None = None,
        limit: int = 500,
    ) -> None:
        self._sessionmaker = sessionmaker
        self.interval_seconds = interval_seconds
        self.stale_after_seconds = stale_after_seconds
        self._broker = broker
        self.limit = limit
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._stopping = False
        self.passes = 0
        self.outage = OutageLog(logger, "outbox sweep")

    @classmethod
    def from_settings(
        cls,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        broker: dramatiq.Broker | None = None,
    ) -> Sweeper:
        return cls(
            sessionmaker,
            interval_seconds=settings.outbox_sweep_seconds,
            stale_after_seconds=settings.outbox_stale_seconds,
            broker=broker,
        )

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        global _current_sweeper
        if self.running:
            return
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stopping = False
        self._task = self._loop.create_task(self._run(), name="outbox-sweeper")
        _current_sweeper = self

    async def stop(self, timeout_seconds: float = 10.0) -> None:
        global _current_sweeper
        if _current_sweeper is self:
            _current_sweeper = None
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        if self._wake is not None:
            self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout_seconds)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def kick(self) -> None:
        """Wake the sweeper now. Never raises."""
        try:
            loop, wake = self._loop, self._wake
            if loop is None or wake is None or loop.is_closed():
                return
            loop.call_soon_threadsafe(wake.set)
        except Exception:
            logger.debug("outbox kick ignored", exc_info=True)

    async def relay_all(self) -> int:
        """Relay until no full batch is left; return the number of messages sent."""
        total = 0
        while True:
            sent = await relay_pending(
                self._sessionmaker,
                stale_after_seconds=self.stale_after_seconds,
                limit=self.limit,
                broker=self._broker,
            )
            total += sent
            if sent < self.limit or self._stopping:
                return total

    async def _run(self) -> None:
        assert self._wake is not None
        while not self._stopping:
            self._wake.clear()
            try:
                await self.relay_all()
            except Exception as exc:
                # The database or the broker out of reach: one line, not one per pass.
                self.outage.failed(exc, f"outbox sweep; retrying in {self.interval_seconds}s")
            else:
                self.outage.recovered()
            self.passes += 1
            if self._stopping:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval_seconds)
