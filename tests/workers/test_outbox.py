"""The outbox end to end in one process: SQLite file, StubBroker, a real dramatiq.Worker."""

from __future__ import annotations

import asyncio
import email
import email.policy
from datetime import timedelta
from pathlib import Path
from typing import Any

import dramatiq
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config.settings import Settings
from db.models import OutboxMessage, utcnow
from db.session import transaction
from resolvers.events import emit, emit_email
from workers import relay
from workers.broker import DEFAULT_QUEUE
from workers.email import EmailTemplateError
from workers.outbox import PermanentJobError, process_once
from workers.relay import MAX_ATTEMPTS, Sweeper, kick, relay_pending

from .conftest import Deliveries, wait_until

SM = async_sessionmaker[AsyncSession]
WELCOME = {"full_name": "Ada Lovelace", "organization_name": "Engines"}


async def emit_welcome(sessionmaker: SM, to: str = "ada@example.com") -> int:
    async with transaction(sessionmaker) as session:
        message = emit_email(session, to=to, template="welcome", context=WELCOME)
        await session.flush()
        return message.id


async def rows(sessionmaker: SM) -> list[OutboxMessage]:
    async with sessionmaker() as session:
        result = await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return list(result)


async def row(sessionmaker: SM, outbox_id: int) -> OutboxMessage:
    async with sessionmaker() as session:
        found = await session.get(OutboxMessage, outbox_id)
        assert found is not None
        return found


async def drain(broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
    """Wait until the StubBroker's queue is empty and the worker idle (fails on dead letters)."""
    await asyncio.to_thread(broker.join, DEFAULT_QUEUE, timeout=10_000)
    await asyncio.to_thread(worker.join)


def eml_files(mail_dir: Path) -> list[str]:
    return sorted(p.name for p in mail_dir.glob("*.eml")) if mail_dir.exists() else []


async def test_committed_email_is_sent_exactly_once(
    sessionmaker: SM,
    stub_broker: dramatiq.Broker,
    worker: dramatiq.Worker,
    mail_dir: Path,
    deliveries: Deliveries,
) -> None:
    outbox_id = await emit_welcome(sessionmaker)

    assert await relay_pending(sessionmaker, stale_after_seconds=30) == 1
    await drain(stub_broker, worker)

    assert eml_files(mail_dir) == [f"outbox-{outbox_id}.eml"]
    assert deliveries.outbox_ids == [outbox_id]
    sent = email.message_from_bytes(
        (mail_dir / f"outbox-{outbox_id}.eml").read_bytes(), policy=email.policy.default
    )
    assert sent["To"] == "ada@example.com"
    assert sent["Subject"] == "Welcome to partnergraph, Ada Lovelace"
    assert sent["Message-ID"] == f"<outbox-{outbox_id}@partners.example>"
    processed = await row(sessionmaker, outbox_id)
    assert processed.dispatched_at is not None
    assert processed.processed_at is not None
    assert processed.attempts == 1
    assert processed.last_error is None

    # Nothing left to relay: a second pass sends nothing.
    assert await relay_pending(sessionmaker, stale_after_seconds=0) == 0


async def test_rolled_back_transaction_sends_nothing(
    sessionmaker: SM,
    stub_broker: dramatiq.Broker,
    worker: dramatiq.Worker,
    mail_dir: Path,
    deliveries: Deliveries,
) -> None:
    class Boom(Exception):
        pass

    async def use_case() -> None:
        async with transaction(sessionmaker) as session:
            emit_email(session, to="ada@example.com", template="welcome", context=WELCOME)
            await session.flush()
            raise Boom

    with pytest.raises(Boom):
        await use_case()

    assert await rows(sessionmaker) == []
    assert await relay_pending(sessionmaker, stale_after_seconds=0) == 0
    await drain(stub_broker, worker)
    assert eml_files(mail_dir) == []
    assert deliveries.outbox_ids == []


async def test_duplicate_delivery_sends_once(
    sessionmaker: SM,
    stub_broker: dramatiq.Broker,
    worker: dramatiq.Worker,
    mail_dir: Path,
    deliveries: Deliveries,
) -> None:
    outbox_id = await emit_welcome(sessionmaker)
    actor = stub_broker.get_actor("send_email")

    actor.send(outbox_id)
    actor.send(outbox_id)
    await drain(stub_broker, worker)
    actor.send(outbox_id)  # and once more, long after
    await drain(stub_broker, worker)

    assert deliveries.outbox_ids == [outbox_id]
    assert eml_files(mail_dir) == [f"outbox-{outbox_id}.eml"]
    assert (await row(sessionmaker, outbox_id)).attempts == 1


async def test_broker_failure_leaves_rows_for_the_sweeper(
    sessionmaker: SM,
    stub_broker: dramatiq.Broker,
    worker: dramatiq.Worker,
    mail_dir: Path,
    deliveries: Deliveries,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = await emit_welcome(sessionmaker, "a@example.com")
    second = await emit_welcome(sessionmaker, "b@example.com")
    enqueue = stub_broker.enqueue
    calls = 0

    def flaky_enqueue(message: Any, *, delay: int | None = None) -> Any:
        nonlocal calls
        calls += 1
        if calls > 1:  # Redis goes down after the first message
            raise dramatiq.ConnectionClosed(ConnectionError("redis is down"))  # type: ignore[no-untyped-call]
        return enqueue(message, delay=delay)

    monkeypatch.setattr(stub_broker, "enqueue", flaky_enqueue)
    assert await relay_pending(sessionmaker, stale_after_seconds=30) == 1
    by_id = {r.id: r for r in await rows(sessionmaker)}
    assert by_id[first].dispatched_at is not None
    assert by_id[second].dispatched_at is None  # not sent: still pending

    assert await relay_pending(sessionmaker, stale_after_seconds=30) == 0  # still down
    monkeypatch.setattr(stub_broker, "enqueue", enqueue)  # Redis is back
    assert await relay_pending(sessionmaker, stale_after_seconds=30) == 1
    await drain(stub_broker, worker)

    assert sorted(deliveries.outbox_ids) == [first, second]
    assert eml_files(mail_dir) == sorted([f"outbox-{first}.eml", f"outbox-{second}.eml"])


async def test_stale_dispatched_rows_are_resent_and_sent_once(
    sessionmaker: SM,
    stub_broker: dramatiq.Broker,
    mail_dir: Path,
    deliveries: Deliveries,
) -> None:
    lost = await emit_welcome(sessionmaker, "lost@example.com")
    late = await emit_welcome(sessionmaker, "late@example.com")
    assert await relay_pending(sessionmaker, stale_after_seconds=30) == 2
    # The message of `lost` disappears in a Redis outage; `late` is only slow.
    queue = stub_broker.queues[DEFAULT_QUEUE]
    kept = [queue.get_nowait() for _ in range(queue.qsize())]
    for _ in kept:
        queue.task_done()
    for encoded in kept:
        if dramatiq.Message.decode(encoded).args == (late,):
            queue.put(encoded)

    assert await relay_pending(sessionmaker, stale_after_seconds=30) == 0  # not stale yet
    async with transaction(sessionmaker) as session:  # ... a minute later
        await session.execute(
            update(OutboxMessage).values(dispatched_at=utcnow() - timedelta(seconds=60))
        )
    assert await relay_pending(sessionmaker, stale_after_seconds=30) == 2

    from workers.runtime import start_inprocess_worker, stop_inprocess_worker

    worker = start_inprocess_worker(stub_broker, idle_timeout_ms=100)
    try:
        await drain(stub_broker, worker)
    finally:
        stop_inprocess_worker(worker)

    # `late` was delivered twice, `lost` once: each email went out once.
    assert sorted(deliveries.outbox_ids) == [lost, late]
    assert eml_files(mail_dir) == sorted([f"outbox-{lost}.eml", f"outbox-{late}.eml"])
    assert all(r.processed_at is not None and r.attempts == 1 for r in await rows(sessionmaker))


async def test_process_once_records_failures_and_is_retryable(sessionmaker: SM) -> None:
    async with transaction(sessionmaker) as session:
        message = emit(session, "noop", {"n": 1})
        await session.flush()
        outbox_id = message.id
    calls: list[int] = []

    async def failing(session: AsyncSession, message: OutboxMessage) -> None:
        calls.append(message.id)
        session.add(OutboxMessage(actor_name="side_effect", payload={}))  # rolled back
        raise RuntimeError("smtp is down")

    with pytest.raises(RuntimeError, match="smtp is down"):
        await process_once(outbox_id, failing, sessionmaker=sessionmaker)
    failed = await row(sessionmaker, outbox_id)
    assert failed.processed_at is None
    assert failed.attempts == 1
    assert failed.last_error == "RuntimeError: smtp is down"
    assert failed.dispatched_at is not None  # in the broker's retry back-off
    assert [r.actor_name for r in await rows(sessionmaker)] == ["noop"]

    async def working(session: AsyncSession, message: OutboxMessage) -> None:
        calls.append(message.id)
        session.add(OutboxMessage(actor_name="side_effect", payload={}))  # committed with it

    assert await process_once(outbox_id, working, sessionmaker=sessionmaker) is True
    assert await process_once(outbox_id, working, sessionmaker=sessionmaker) is False
    done = await row(sessionmaker, outbox_id)
    assert done.processed_at is not None
    assert done.attempts == 2
    assert done.last_error is None
    assert calls == [outbox_id, outbox_id]
    assert [r.actor_name for r in await rows(sessionmaker)] == ["noop", "side_effect"]


async def test_process_once_of_a_missing_row_does_nothing(sessionmaker: SM) -> None:
    async def never(session: AsyncSession, message: OutboxMessage) -> None:
        raise AssertionError("not called")

    assert await process_once(12345, never, sessionmaker=sessionmaker) is False


async def test_concurrent_deliveries_run_the_handler_once(sessionmaker: SM) -> None:
    """Two deliveries at once (two worker threads): SQLite's write lock serializes them."""
    async with transaction(sessionmaker) as session:
        message = emit(session, "noop", {})
        await session.flush()
        outbox_id = message.id
    calls = 0

    async def slow(session: AsyncSession, message: OutboxMessage) -> None:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.2)

    results = await asyncio.gather(
        process_once(outbox_id, slow, sessionmaker=sessionmaker),
        process_once(outbox_id, slow, sessionmaker=sessionmaker),
    )
    assert sorted(results) == [False, True]
    assert calls == 1


async def test_failed_rows_wait_for_the_retry_backoff_then_give_up(
    sessionmaker: SM, stub_broker: dramatiq.Broker
) -> None:
    async with transaction(sessionmaker) as session:
        message = emit_email(session, to="a@example.com", template="welcome", context=WELCOME)
        await session.flush()
        outbox_id = message.id

    async def failing(session: AsyncSession, message: OutboxMessage) -> None:
        raise RuntimeError("transient")

    with pytest.raises(RuntimeError):
        await process_once(outbox_id, failing, sessionmaker=sessionmaker)
    # Dramatiq holds it for a retry: the sweeper does not add a second copy...
    assert await relay_pending(sessionmaker, stale_after_seconds=0) == 0
    # ... unless nothing happened for longer than the longest back-off.
    assert await relay_pending(sessionmaker, stale_after_seconds=0, retry_grace_seconds=0) == 1

    async def broken(session: AsyncSession, message: OutboxMessage) -> None:
        raise PermanentJobError("bad payload")

    with pytest.raises(PermanentJobError):
        await process_once(outbox_id, broken, sessionmaker=sessionmaker)
    given_up = await row(sessionmaker, outbox_id)
    assert given_up.attempts == MAX_ATTEMPTS
    assert given_up.last_error == "permanent: PermanentJobError: bad payload"
    assert await relay_pending(sessionmaker, stale_after_seconds=0, retry_grace_seconds=0) == 0


async def test_bad_email_is_not_retried(
    sessionmaker: SM,
    stub_broker: dramatiq.Broker,
    worker: dramatiq.Worker,
    mail_dir: Path,
) -> None:
    async with transaction(sessionmaker) as session:
        message = emit_email(session, to="a@example.com", template="welcome", context={})
        await session.flush()
        outbox_id = message.id
    assert await relay_pending(sessionmaker, stale_after_seconds=30) == 1
    with pytest.raises(EmailTemplateError):  # dead-lettered at once: the join re-raises it
        await drain(stub_broker, worker)
    failed = await row(sessionmaker, outbox_id)
    assert failed.processed_at is None
    assert failed.attempts == MAX_ATTEMPTS
    assert "missing keys ['full_name', 'organization_name']" in (failed.last_error or "")
    assert eml_files(mail_dir) == []


async def test_relay_skips_rows_of_unknown_actors(
    sessionmaker: SM, stub_broker: dramatiq.Broker
) -> None:
    async with transaction(sessionmaker) as session:
        emit(session, "no_such_actor", {})
    await emit_welcome(sessionmaker)
    assert await relay_pending(sessionmaker, stale_after_seconds=30) == 1
    assert [r.dispatched_at is None for r in await rows(sessionmaker)] == [True, False]


async def test_relay_sends_at_most_limit_rows(
    sessionmaker: SM, stub_broker: dramatiq.Broker
) -> None:
    for i in range(5):
        await emit_welcome(sessionmaker, f"u{i}@example.com")
    assert await relay_pending(sessionmaker, stale_after_seconds=30, limit=3) == 3
    assert await relay_pending(sessionmaker, stale_after_seconds=30, limit=3) == 2
    async with sessionmaker() as session:
        pending = await session.scalar(
            select(func.count()).where(OutboxMessage.dispatched_at.is_(None))
        )
    assert pending == 0


async def test_kick_wakes_the_sweeper_at_once(
    sessionmaker: SM,
    stub_broker: dramatiq.Broker,
    worker: dramatiq.Worker,
    mail_dir: Path,
    settings: Settings,
) -> None:
    sweeper = Sweeper(sessionmaker, interval_seconds=3600, stale_after_seconds=30)
    sweeper.start()
    try:
        await wait_until(lambda: sweeper.passes >= 1)  # the first pass, at start
        outbox_id = await emit_welcome(sessionmaker)
        kick()  # what the API calls after its commit; the next timed pass is an hour away
        await wait_until(lambda: eml_files(mail_dir) == [f"outbox-{outbox_id}.eml"], within=5)
    finally:
        await sweeper.stop()
    assert not sweeper.running
    assert relay._current_sweeper is None
    kick()  # no sweeper: does nothing, raises nothing


async def test_a_job_that_queued_jobs_wakes_the_sweeper_after_its_commit(
    sessionmaker: SM,
    stub_broker: dramatiq.Broker,
    worker: dramatiq.Worker,
    mail_dir: Path,
    settings: Settings,
) -> None:
    """A handler's own rows (a bid chunk's emails) go out at once, not on the next pass."""
    async with transaction(sessionmaker) as session:
        job = emit(session, "noop", {})
        await session.flush()
        job_id = job.id
    queued: list[int] = []

    async def queue_an_email(session: AsyncSession, message: OutboxMessage) -> None:
        email_row = emit_email(session, to="ada@example.com", template="welcome", context=WELCOME)
        await session.flush()
        queued.append(email_row.id)

    async def nothing_queued(session: AsyncSession, message: OutboxMessage) -> None:
        pass

    sweeper = Sweeper(sessionmaker, interval_seconds=3600, stale_after_seconds=30)
    sweeper.start()
    try:
        await wait_until(lambda: sweeper.passes >= 1)  # the first pass, at start
        async with transaction(sessionmaker) as session:
            quiet = emit(session, "noop", {})
            await session.flush()
            quiet_id = quiet.id
        assert await process_once(quiet_id, nothing_queued, sessionmaker=sessionmaker)
        await asyncio.sleep(0.2)
        assert sweeper.passes == 1  # a job that queued nothing does not wake it
        assert await process_once(job_id, queue_an_email, sessionmaker=sessionmaker)
        await wait_until(lambda: eml_files(mail_dir) == [f"outbox-{queued[0]}.eml"], within=5)
    finally:
        await sweeper.stop()


async def test_sweeper_survives_relay_errors(
    sessionmaker: SM, stub_broker: dramatiq.Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    failures = 0

    async def broken_relay(*args: Any, **kwargs: Any) -> int:
        nonlocal failures
        failures += 1
        raise OSError("database is down")

    monkeypatch.setattr(relay, "relay_pending", broken_relay)
    sweeper = Sweeper(sessionmaker, interval_seconds=0.01, stale_after_seconds=30)
    sweeper.start()
    try:
        await wait_until(lambda: failures >= 3)
        assert sweeper.running
    finally:
        await sweeper.stop()


def test_kick_never_raises_even_after_its_loop_closed(sessionmaker: SM) -> None:
    sweeper = Sweeper(sessionmaker, interval_seconds=3600, stale_after_seconds=30)

    async def start_and_abandon() -> None:
        sweeper.start()
        await sweeper.stop()
        sweeper._loop = asyncio.get_running_loop()  # as if it were still registered
        sweeper._wake = asyncio.Event()

    asyncio.run(start_and_abandon())
    sweeper.kick()  # the loop is closed now


# --- Broker setup and worker runtime -------------------------------------------------


def test_setup_broker_is_idempotent_and_in_process_without_redis(settings: Settings) -> None:
    from dramatiq.brokers.stub import StubBroker
    from dramatiq.middleware import AsyncIO, Retries

    from workers.broker import is_inprocess, reset_broker, setup_broker
    from workers.runtime import WorkerDatabase, current_settings

    reset_broker()
    try:
        broker = setup_broker(settings)
        assert setup_broker(settings) is broker
        assert dramatiq.get_broker() is broker
        assert isinstance(broker, StubBroker)
        assert is_inprocess(broker)
        assert "send_email" in broker.actors
        assert current_settings() is settings
        kinds = [type(m) for m in broker.middleware]
        assert kinds.index(AsyncIO) < kinds.index(WorkerDatabase)
        retries = next(m for m in broker.middleware if isinstance(m, Retries))
        assert (retries.min_backoff, retries.max_backoff, retries.max_retries) == (
            1_000,
            300_000,
            10,
        )
    finally:
        reset_broker()


def test_redis_url_gives_a_redis_broker(settings: Settings) -> None:
    from dramatiq.brokers.redis import RedisBroker

    from workers.broker import build_broker, is_inprocess

    broker = build_broker(settings.model_copy(update={"redis_url": "redis://127.0.0.1:6399/3"}))
    assert isinstance(broker, RedisBroker)  # built lazily: no connection yet
    assert not is_inprocess(broker)


def test_a_new_broker_gets_every_registered_actor(settings: Settings) -> None:
    from workers.broker import build_broker, install_broker, reset_broker

    try:
        first = install_broker(build_broker(settings, stub=True), settings)
        second = install_broker(build_broker(settings, stub=True), settings)
        assert first is not second
        assert "send_email" in first.actors
        assert "send_email" in second.actors
        assert second.get_actor("send_email").options["throws"] == (PermanentJobError,)
    finally:
        reset_broker()


def test_one_worker_engine_per_event_loop(settings: Settings) -> None:
    from workers import runtime

    runtime.configure(settings)
    try:

        async def twice() -> tuple[object, object]:
            first = await runtime.worker_sessionmaker()
            second = await runtime.worker_sessionmaker()
            await runtime.dispose_worker_engine()
            third = await runtime.worker_sessionmaker()
            assert third is not first
            await runtime.dispose_worker_engine()
            return first, second

        a1, a2 = asyncio.run(twice())
        b1, _ = asyncio.run(twice())
        assert a1 is a2
        assert b1 is not a1
    finally:
        runtime.configure(None)
