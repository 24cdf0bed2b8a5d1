"""Outbox jobs done many at a time: one transaction for a batch of pending rows.

A batch actor (:func:`batch_outbox_actor`) gets, like every outbox actor, one outbox id
per message. :func:`process_batch` locks that row as :func:`workers.outbox.process_once`
does (waiting for a concurrent delivery), and if it is pending it also claims up to
``limit - 1`` other pending rows of the same actor that never failed, ``FOR UPDATE SKIP
LOCKED``, newest first (the oldest are the queue's next messages, likely being delivered
right now), then hands them all to the handler in that one transaction.

Exactly once, as with ``process_once``: every row of the batch stays locked until the
commit that sets its ``processed_at`` together with the handler's writes; the later
delivery of a claimed row finds it processed and does nothing (a duplicate).

What a batch handler promises: it returns the rows it refuses (outbox id -> exception)
having written nothing for them (its checks come before its writes); every other row is
done. A refused row does not hold the others back:

- the message's own row: the others commit, then its failure is recorded and raised, as
  ``process_once`` would (``PermanentJobError``: no retry);
- another row: its failure is recorded in the batch's transaction (``attempts``,
  ``last_error``, as ``process_once`` records them). Having failed, it is never claimed
  by a batch again; its own message (if still to come) processes it alone.

If the handler raises (a database error: the transaction is lost), the batch rolls back
and the message's row is processed alone (``process_once``); the other rows are left for
their own messages. A row that failed before (a retry) is always processed alone.

Metrics and logs stay per job: each row of a batch counts as a job done (its duration
is the batch's) and logs its own "job done" line; the batch's span (``config.tracing``)
is that of the message's row, with the batch size. The later message of a row done in a
batch counts as a duplicate and logs at DEBUG only (one is expected for every such row).

A later delivery of a row done in a batch is recognized without a database round trip
(``processed_at``, once set, is never cleared), in the worker thread, before anything is
scheduled on the event loop: each sessionmaker remembers the ids of the last rows this
process committed, and, when a message finds its row processed by another process, the
ids of the rows processed with it (same ``processed_at``).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import ExitStack
from functools import partial
from typing import Any

import structlog
from dramatiq.asyncio import get_event_loop_thread
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import tracing
from config.logs import REQUEST_ID
from config.metrics import JOB_DURATION, JOBS
from db.models import OutboxMessage, utcnow
from workers import broker as broker_module
from workers.outbox import (
    Handler,
    PermanentJobError,
    _lock_message,
    _log_context,
    _record_failure,
    failure_values,
    job_log,
    log_failure,
    process_once,
    register_outbox_actor,
)
from workers.runtime import current_settings, loop_sessionmaker, worker_sessionmaker

logger = logging.getLogger(__name__)

#: ``await handler(session, messages)`` -> the refused rows (outbox id -> exception).
BatchHandler = Callable[[AsyncSession, Sequence[OutboxMessage]], Awaitable[Mapping[int, Exception]]]

#: How many processed row ids each sessionmaker remembers (~2 MB): enough for the time
#: between a batch's commit and the later messages of its rows (200 batches of 100).
REMEMBERED = 20_000
#: The largest batch (``settings.outbox_batch_size`` allows no more).
MAX_BATCH = 1000


class _Committed:
    """The ids of the rows this process committed as processed, the newest ``size``."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._ids: dict[int, None] = {}  # insertion-ordered: the oldest go first

    def __contains__(self, outbox_id: int) -> bool:
        return outbox_id in self._ids

    def add(self, outbox_ids: Sequence[int]) -> None:
        self._ids.update(dict.fromkeys(outbox_ids))
        while len(self._ids) > self.size:
            del self._ids[next(iter(self._ids))]


_committed: weakref.WeakKeyDictionary[async_sessionmaker[AsyncSession], _Committed] = (
    weakref.WeakKeyDictionary()
)
_committed_lock = threading.Lock()


def _committed_for(sm: async_sessionmaker[AsyncSession]) -> _Committed:
    with _committed_lock:
        found = _committed.get(sm)
        if found is None:
            found = _committed[sm] = _Committed(REMEMBERED)
        return found


def _known_done(actor_name: str, outbox_id: int) -> bool:
    """True if this process knows row ``outbox_id`` processed (a duplicate: counted and
    logged). Called in a Dramatiq worker thread, before anything runs on the loop."""
    loop_thread = get_event_loop_thread()
    sm = None if loop_thread is None else loop_sessionmaker(loop_thread.loop)
    if sm is None:
        return False
    with _committed_lock:
        committed = _committed.get(sm)
    if committed is None or outbox_id not in committed:
        return False
    _duplicate(actor_name, outbox_id)
    return True


def one_at_a_time(handler: BatchHandler) -> Handler:
    """``handler`` as a ``process_once`` handler of one row (a refusal is raised)."""

    async def alone(session: AsyncSession, message: OutboxMessage) -> None:
        refused = await handler(session, [message])
        if message.id in refused:
            raise refused[message.id]

    return alone


async def _claim(session: AsyncSession, own: OutboxMessage, count: int) -> list[OutboxMessage]:
    """Up to ``count`` other pending rows of ``own``'s actor that never failed, locked."""
    if count <= 0:
        return []
    rows = await session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.actor_name == own.actor_name,
            OutboxMessage.processed_at.is_(None),
            OutboxMessage.attempts == 0,
            OutboxMessage.id != own.id,
        )
        .order_by(OutboxMessage.id.desc())
        .limit(count)
        .with_for_update(skip_locked=True)  # SQLite: the write lock is held already
    )
    return list(rows)


async def _done_with(session: AsyncSession, done: OutboxMessage) -> list[int]:
    """The rows processed in the same transaction as ``done`` (same actor, same
    ``processed_at``: its batch, maybe done by another process): their later messages
    are then known duplicates here too, without a query each."""
    rows = await session.scalars(
        select(OutboxMessage.id)
        .where(
            OutboxMessage.processed_at == done.processed_at,
            OutboxMessage.actor_name == done.actor_name,
        )
        .limit(MAX_BATCH)
    )
    return list(rows)


def _duplicate(actor: str, outbox_id: int) -> bool:
    # Expected: the later message of every row a batch took (counted, logged at DEBUG).
    logger.debug("outbox message %s already processed; skipped", outbox_id)
    JOBS.labels(actor, "duplicate").inc()
    return False


async def process_batch(
    outbox_id: int,
    handler: BatchHandler,
    *,
    limit: int,
    actor_name: str,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
) -> bool:
    """Process row ``outbox_id`` and up to ``limit - 1`` other pending rows of its actor.

    Returns ``False`` if the row was processed already (or is missing), ``True`` once it
    is (with the batch). Raises the row's failure after recording it, as
    :func:`workers.outbox.process_once` does. ``actor_name`` (the rows' actor) labels
    the metrics.
    """
    sm = sessionmaker if sessionmaker is not None else await worker_sessionmaker()
    committed = _committed_for(sm)
    if outbox_id in committed:
        return _duplicate(actor_name, outbox_id)
    started = time.perf_counter()
    batch: list[OutboxMessage] = []
    size = 0  # len(batch), readable after a rollback has expired the rows
    refused: Mapping[int, Exception] = {}
    with structlog.contextvars.bound_contextvars(outbox_id=outbox_id), ExitStack() as span:
        try:
            async with sm() as session, session.begin():
                own = await _lock_message(session, outbox_id)
                if own is None:
                    logger.warning("outbox message %s not found; nothing to do", outbox_id)
                    return False
                if own.processed_at is not None:
                    committed.add(await _done_with(session, own))
                    return _duplicate(own.actor_name, outbox_id)
                # A retry runs alone: it fails (or not) exactly as process_once's would.
                others = await _claim(session, own, limit - 1) if own.attempts == 0 else []
                batch = [own, *others]
                size = len(batch)
                structlog.contextvars.bind_contextvars(job=own.actor_name, **_log_context(own))
                span.enter_context(
                    tracing.job_span(
                        own.actor_name, own.context, outbox_id=outbox_id, batch_size=size
                    )
                )
                refused = await handler(session, batch)
                await _mark(session, batch, refused)
        except Exception as exc:
            if size <= 1:
                await _record_failure(sm, outbox_id, exc)
                JOBS.labels(actor_name, "failed").inc()
                raise
            logger.warning(
                "outbox batch of %d rows failed (%s: %s); message %s goes on alone",
                size,
                type(exc).__name__,
                exc,
                outbox_id,
            )
            return await process_once(outbox_id, one_at_a_time(handler), sessionmaker=sm)
        finally:
            structlog.contextvars.unbind_contextvars("job", REQUEST_ID)
    done = [m for m in batch if m.id not in refused]
    committed.add([m.id for m in done])
    _count(batch, done, refused, time.perf_counter() - started)
    failure = refused.get(outbox_id)
    if failure is not None:
        await _record_failure(sm, outbox_id, failure)
        raise failure
    return True


async def _mark(
    session: AsyncSession, batch: Sequence[OutboxMessage], refused: Mapping[int, Exception]
) -> None:
    """Processed: every row not refused. Failed: the other refused rows (not the own row:
    its failure is recorded after the commit, as process_once records it)."""
    done = [m.id for m in batch if m.id not in refused]
    if done:
        # One statement for the whole batch (the loaded rows are not updated: see _count).
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(done))
            .values(processed_at=utcnow(), attempts=OutboxMessage.attempts + 1, last_error=None)
            .execution_options(synchronize_session=False)
        )
    for message in batch[1:]:
        exc = refused.get(message.id)
        if exc is None:
            continue
        values = failure_values(exc)
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message.id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        log_failure(message.id, values["last_error"], permanent=isinstance(exc, PermanentJobError))


def _count(
    batch: Sequence[OutboxMessage],
    done: Sequence[OutboxMessage],
    refused: Mapping[int, Exception],
    seconds: float,
) -> None:
    """Metrics and a log line per job of the batch (each lasted as long as the batch)."""
    if not batch:
        return
    actor, lead = batch[0].actor_name, batch[0].id
    for message in done:
        JOBS.labels(actor, "done").inc()
        JOB_DURATION.labels(actor).observe(seconds)
        job_log.info(
            "job done",
            job=actor,
            outbox_id=message.id,
            attempt=message.attempts + 1,
            batch=lead,
            batch_size=len(batch),
            duration_ms=round(seconds * 1000, 2),
            **_log_context(message),
        )
    for message in batch:
        if message.id in refused:
            JOBS.labels(actor, "failed").inc()


def batch_outbox_actor(
    actor_name: str, *, queue_name: str = broker_module.DEFAULT_QUEUE, **options: Any
) -> Callable[[BatchHandler], BatchHandler]:
    """Declare the outbox actor ``actor_name`` whose rows ``handler`` does up to
    ``settings.outbox_batch_size`` at a time (:func:`process_batch`). Returns the handler
    unchanged."""

    def decorator(handler: BatchHandler) -> BatchHandler:
        async def process(outbox_id: int) -> object:
            limit = current_settings().outbox_batch_size
            return await process_batch(outbox_id, handler, limit=limit, actor_name=actor_name)

        register_outbox_actor(
            actor_name,
            process,
            handler.__module__,
            queue_name,
            options,
            known_done=partial(_known_done, actor_name),
        )
        return handler

    return decorator
