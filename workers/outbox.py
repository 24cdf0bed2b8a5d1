"""The transactional outbox: from a committed row to exactly one effect.

Life of a job
    1. A use case writes an ``OutboxMessage`` in its own transaction
       (``resolvers.events.emit``/``emit_email``). Rolled back: no job.
    2. After the commit, the API calls ``workers.relay.kick``; the relay's ``Sweeper``
       wakes and ``relay_pending`` sends each pending row to its actor (the Dramatiq
       message carries only the outbox id) and sets ``dispatched_at``. The sweeper also
       runs every ``outbox_sweep_seconds`` and re-sends rows lost on the way (Redis down,
       a crash).
    3. The actor calls :func:`process_once`, which runs the handler and sets
       ``processed_at`` in one transaction. Dramatiq delivers at least once; a second
       delivery of a processed row does nothing. A handler that queued rows itself (a bid
       chunk's emails) kicks the sweeper of its process after that commit, as the API does.

Writing an actor (cashback credit, bid fan-out, ...)::

    from workers.outbox import outbox_actor

    @outbox_actor("credit_cashback")
    async def credit_cashback(session: AsyncSession, message: OutboxMessage) -> None:
        order_id = int(message.payload["order_id"])
        ...  # write with `session`; do not commit, do not open another transaction

then add the module to ``workers.broker.ACTOR_MODULES``, and emit rows with
``emit(session, "credit_cashback", {"order_id": 42}, dedupe_key="cashback:42")``.

What a handler can rely on, and must respect
    - It runs inside the transaction that marks the row processed: its database writes and
      ``processed_at`` commit together, or not at all. So a database-only effect happens
      exactly once.
    - An external effect (an email, an HTTP call) happens *at least* once: if the process
      dies between the effect and the commit, the job runs again. Make it idempotent or
      de-duplicable (emails carry a Message-ID derived from the outbox id).
    - Two deliveries of the same row never run concurrently: on PostgreSQL the row is
      locked (``SELECT ... FOR UPDATE``) for the whole transaction; on SQLite the
      transaction starts with a write, which takes the database write lock.
    - Raise to fail: the transaction rolls back, ``attempts``/``last_error`` are recorded
      in a separate transaction, and Dramatiq retries with back-off (1 s .. 5 min,
      10 times). Raise :class:`PermanentJobError` for errors a retry cannot fix (bad
      payload): no retry, and the sweeper leaves the row alone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from typing import Any

import dramatiq
import structlog
from dramatiq.asyncio import async_to_sync
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import tracing
from config.logs import REQUEST_ID
from config.metrics import JOB_DURATION, JOBS
from db.models import OutboxMessage, utcnow
from db.session import is_sqlite
from resolvers.events import EMITTED
from resolvers.outage import is_outage
from workers import broker as broker_module
from workers.relay import MAX_ATTEMPTS, kick
from workers.runtime import worker_sessionmaker

logger = logging.getLogger(__name__)
job_log = structlog.get_logger("partnergraph.job")

Handler = Callable[[AsyncSession, OutboxMessage], Awaitable[None]]

_LAST_ERROR_MAX = 2000


class PermanentJobError(Exception):
    """A handler error that no retry can fix: the row is given up on (``last_error``)."""


async def _lock_message(session: AsyncSession, outbox_id: int) -> OutboxMessage | None:
    if is_sqlite(session):
        # pysqlite opens the transaction lazily with a DEFERRED BEGIN: a first SELECT would
        # let two workers read the row as unprocessed and both run the handler. A first
        # write takes the database write lock (waiting up to busy_timeout) instead.
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == outbox_id)
            .values(attempts=OutboxMessage.attempts)
            .execution_options(synchronize_session=False)
        )
    result = await session.execute(
        select(OutboxMessage).where(OutboxMessage.id == outbox_id).with_for_update()
    )
    return result.scalar_one_or_none()


async def process_once(
    outbox_id: int,
    handler: Handler,
    *,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
) -> bool:
    """Run ``handler`` for outbox row ``outbox_id`` unless it was processed already.

    In one transaction: lock and load the row; if ``processed_at`` is set, return
    ``False`` (a duplicate delivery); else ``await handler(session, message)``, set
    ``processed_at`` (and count the attempt) and commit; return ``True``.

    If the handler (or the commit) raises, the transaction rolls back, a second short
    transaction increments ``attempts`` and stores ``last_error``, and the exception is
    re-raised so that Dramatiq retries the message. A missing row (deleted) is logged and
    skipped.

    ``sessionmaker`` defaults to the worker's (``runtime.worker_sessionmaker()``: one
    engine per event loop). The handler must use the ``session`` it is given and must not
    commit it.
    """
    sm = sessionmaker if sessionmaker is not None else await worker_sessionmaker()
    started = time.perf_counter()
    actor, attempt, queued_more = "unknown", 0, False
    # The job's span (config.tracing) opens once the row is known and closes after the
    # commit: the handler's statements and the commit are in it.
    with structlog.contextvars.bound_contextvars(outbox_id=outbox_id), ExitStack() as span:
        try:
            async with sm() as session, session.begin():
                message = await _lock_message(session, outbox_id)
                if message is None:
                    logger.warning("outbox message %s not found; nothing to do", outbox_id)
                    return False
                actor = message.actor_name
                if message.processed_at is not None:
                    logger.info("outbox message %s already processed; skipped", outbox_id)
                    JOBS.labels(actor, "duplicate").inc()
                    return False
                structlog.contextvars.bind_contextvars(job=actor, **_log_context(message))
                span.enter_context(tracing.job_span(actor, message.context, outbox_id=outbox_id))
                await handler(session, message)
                message.processed_at = utcnow()
                message.attempts += 1
                message.last_error = None
                attempt = message.attempts
                queued_more = bool(session.info.pop(EMITTED, False))
        except Exception as exc:
            await _record_failure(sm, outbox_id, exc)
            JOBS.labels(actor, "failed").inc()
            raise
        finally:
            structlog.contextvars.unbind_contextvars("job", REQUEST_ID)
        if queued_more:  # committed: the rows the handler queued go out now, not next pass
            kick()
        seconds = time.perf_counter() - started
        JOBS.labels(actor, "done").inc()
        JOB_DURATION.labels(actor).observe(seconds)
        job_log.info("job done", job=actor, attempt=attempt, duration_ms=round(seconds * 1000, 2))
    return True


def _log_context(message: OutboxMessage) -> dict[str, str]:
    context = message.context or {}
    return {key: str(context[key]) for key in (REQUEST_ID,) if context.get(key)}


async def _record_failure(
    sessionmaker: async_sessionmaker[AsyncSession], outbox_id: int, exc: Exception
) -> None:
    values = failure_values(exc)
    try:
        async with sessionmaker() as session, session.begin():
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == outbox_id, OutboxMessage.processed_at.is_(None))
                # dispatched_at = now: the broker holds the message for a retry; the
                # sweeper waits out the retry back-off before re-sending it.
                .values(**values, dispatched_at=utcnow())
                .execution_options(synchronize_session=False)
            )
    except Exception as record_error:
        if is_outage(record_error):  # the database out of reach too: Dramatiq retries
            logger.warning(
                "could not record the failure of outbox message %s (%s)",
                outbox_id,
                type(record_error).__name__,
            )
        else:
            logger.exception("could not record the failure of outbox message %s", outbox_id)
    log_failure(outbox_id, values["last_error"], permanent=isinstance(exc, PermanentJobError))


def failure_values(exc: Exception) -> dict[str, Any]:
    """``attempts`` and ``last_error`` of a row whose job raised ``exc``: one attempt more,
    or ``MAX_ATTEMPTS`` at once for a ``PermanentJobError`` (no retry can fix it)."""
    permanent = isinstance(exc, PermanentJobError)
    error = f"{'permanent: ' if permanent else ''}{type(exc).__name__}: {exc}"[:_LAST_ERROR_MAX]
    attempts: Any = MAX_ATTEMPTS if permanent else OutboxMessage.attempts + 1
    return {"attempts": attempts, "last_error": error}


def log_failure(outbox_id: int, error: str, *, permanent: bool) -> None:
    log = logger.error if permanent else logger.warning
    log("outbox message %s failed: %s", outbox_id, error)


def outbox_actor(
    actor_name: str, *, queue_name: str = broker_module.DEFAULT_QUEUE, **options: Any
) -> Callable[[Handler], Handler]:
    """Declare the actor ``actor_name`` whose message is an outbox id, run by ``handler``.

    The actor is ``async def actor(outbox_id: int) -> None: await process_once(outbox_id,
    handler)``. ``options`` are Dramatiq actor options (e.g. ``time_limit`` in ms).
    Returns the handler unchanged (call it directly in unit tests).
    """

    def decorator(handler: Handler) -> Handler:
        async def process(outbox_id: int) -> object:
            return await process_once(outbox_id, handler)

        register_outbox_actor(actor_name, process, handler.__module__, queue_name, options)
        return handler

    return decorator


def register_outbox_actor(
    actor_name: str,
    process: Callable[[int], Awaitable[object]],
    module: str,
    queue_name: str,
    options: dict[str, Any],
    *,
    known_done: Callable[[int], bool] | None = None,
) -> None:
    """Register the actor ``actor_name`` that runs ``await process(outbox_id)``.

    A ``PermanentJobError`` is not retried; a service out of reach is retried with
    back-off, logged in one line; anything else is retried with its traceback.
    ``known_done(outbox_id)``, if given, is asked first, in the worker thread: True (the
    row is known processed) acknowledges the message without a trip to the event loop.
    """

    async def run(outbox_id: int) -> None:
        try:
            await process(int(outbox_id))
        except PermanentJobError:
            raise
        except Exception as exc:
            if not is_outage(exc):
                raise  # unexpected: Dramatiq logs it once, with its traceback
            # A service out of reach (SMTP, Redis, the database): the failure was
            # logged in one line; Dramatiq retries with back-off, no traceback.
            raise dramatiq.Retry(f"{type(exc).__name__}: {exc}") from exc

    fn: Callable[[int], Any] = run
    if known_done is not None:
        on_loop, is_done = async_to_sync(run), known_done

        def run_unless_done(outbox_id: int) -> None:
            if not is_done(int(outbox_id)):
                on_loop(outbox_id)

        fn = run_unless_done
    fn.__name__ = fn.__qualname__ = actor_name
    fn.__module__ = module
    options.setdefault("throws", (PermanentJobError,))
    broker_module.register_actor(actor_name, fn, queue_name=queue_name, **options)
