"""workers.scheduler: periods, and two schedulers enqueueing each (job, period) once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import ScheduledRun
from db.session import make_engine, make_sessionmaker
from workers.scheduler import (
    DEFAULT_JOBS,
    Period,
    PeriodicJob,
    Scheduler,
    next_period_start,
    period_key,
    period_start,
)

SM = async_sessionmaker[AsyncSession]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_periods() -> None:
    moment = at("2026-12-31T23:59:42.5")
    assert period_start(Period.MINUTE, moment) == at("2026-12-31T23:59")
    assert period_start(Period.MONTH, moment) == at("2026-12-01")
    assert period_start(Period.YEAR, moment) == at("2026-01-01")
    assert next_period_start(Period.MINUTE, at("2026-12-31T23:59")) == at("2027-01-01T00:00")
    assert next_period_start(Period.MONTH, at("2026-12-01")) == at("2027-01-01")
    assert next_period_start(Period.MONTH, at("2026-01-01")) == at("2026-02-01")
    assert next_period_start(Period.YEAR, at("2026-01-01")) == at("2027-01-01")
    assert period_key(Period.MINUTE, at("2026-03-04T05:06")) == "2026-03-04T05:06"
    assert period_key(Period.MONTH, at("2026-03-01")) == "2026-03"
    assert period_key(Period.YEAR, at("2026-01-01")) == "2026"


def test_jobs_are_due_after_their_delay_with_the_previous_period_as_argument() -> None:
    jobs = {job.actor_name: job for job in DEFAULT_JOBS}
    statements = jobs["send_cashback_statements"]
    assert statements.due(at("2027-01-01T00:09:59")) is None
    key, start = statements.due(at("2027-01-01T00:10")) or ("", at("2000-01-01"))
    assert (key, statements.args(start)) == ("2027-01", (2026, 12))
    assert statements.next_due(at("2027-01-01T00:05")) == at("2027-01-01T00:10")
    assert statements.next_due(at("2027-01-01T00:11")) == at("2027-02-01T00:10")
    review = jobs["yearly_partner_review"]
    key, start = review.due(at("2027-03-05T10:00")) or ("", at("2000-01-01"))
    assert (key, review.args(start)) == ("2027", (2026,))
    expire = jobs["expire_bids"]
    assert expire.due(at("2027-03-05T10:00:59")) == ("2027-03-05T10:00", at("2027-03-05T10:00"))
    assert expire.args(at("2027-03-05T10:00")) == ()


def stub_broker(*actor_names: str) -> StubBroker:
    broker = StubBroker()
    for name in actor_names:

        def noop(*args: Any) -> None:
            return None

        dramatiq.actor(broker=broker, actor_name=name, queue_name="scheduled")(noop)
    return broker


def queued(broker: StubBroker) -> list[tuple[str, tuple[Any, ...]]]:
    messages = []
    queue = broker.queues["scheduled"]
    while not queue.empty():
        message = dramatiq.Message.decode(queue.get_nowait())
        messages.append((message.actor_name, tuple(message.args)))
    return messages


@pytest.fixture
async def two_sessionmakers(database_url: str) -> AsyncIterator[tuple[SM, SM]]:
    """Two engines on one database: two scheduler processes, as far as the database sees."""
    first = make_engine(database_url, pool_size=2)
    second = make_engine(database_url, pool_size=2)
    yield make_sessionmaker(first), make_sessionmaker(second)
    await first.dispose()
    await second.dispose()


async def test_two_schedulers_enqueue_each_slot_once(two_sessionmakers: tuple[SM, SM]) -> None:
    # yearly_partner_review is not registered here: skipped, never claimed.
    broker = stub_broker("expire_bids", "send_cashback_statements")
    one = Scheduler(two_sessionmakers[0], broker, name="one")
    two = Scheduler(two_sessionmakers[1], broker, name="two")

    start = at("2026-12-31T23:58:10")
    moments = [start + timedelta(seconds=20 * i) for i in range(80)]  # to 2027-01-01T00:24:30
    for moment in moments:
        # Both tick at the same instant, several times (a retry, a clock skew).
        await asyncio.gather(one.tick(moment), two.tick(moment), one.tick(moment), two.tick(moment))

    minutes = sorted({period_key(Period.MINUTE, m) for m in moments})
    # December's statements were not sent yet: caught up at the first tick (for November).
    statements = {("send_cashback_statements", "2026-12"), ("send_cashback_statements", "2027-01")}
    expected = {("expire_bids", key) for key in minutes} | statements
    both = one.enqueued + two.enqueued
    assert len(both) == len(set(both))  # never twice
    assert set(both) == expected  # never missed

    messages = queued(broker)
    assert len(messages) == len(expected)
    assert messages.count(("send_cashback_statements", (2026, 11))) == 1
    assert messages.count(("send_cashback_statements", (2026, 12))) == 1
    assert {m for m in messages if m[0] == "expire_bids"} == {("expire_bids", ())}

    async with two_sessionmakers[0]() as session:
        rows = list(await session.scalars(select(ScheduledRun)))
    assert {(r.job, r.period_key) for r in rows} == expected
    assert {r.claimed_by for r in rows} <= {"one", "two"}


async def test_two_running_schedulers_on_the_real_clock(two_sessionmakers: tuple[SM, SM]) -> None:
    broker = stub_broker("expire_bids")
    jobs = (PeriodicJob("expire_bids", Period.MINUTE),)
    one = Scheduler(two_sessionmakers[0], broker, jobs=jobs, name="one")
    two = Scheduler(two_sessionmakers[1], broker, jobs=jobs, name="two")
    stop = asyncio.Event()
    tasks = [asyncio.create_task(s.run(stop)) for s in (one, two)]
    await asyncio.sleep(1.5)
    stop.set()
    await asyncio.gather(*tasks)
    both = one.enqueued + two.enqueued
    assert 1 <= len(both) <= 2  # the current minute (and the next, if one began meanwhile)
    assert len(both) == len(set(both))
    assert len(queued(broker)) == len(both)


async def test_a_failed_send_releases_the_slot(two_sessionmakers: tuple[SM, SM]) -> None:
    broker = stub_broker("expire_bids")
    actor = broker.get_actor("expire_bids")
    real_send = actor.send
    calls = {"n": 0}

    def flaky_send(*args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("redis is down")
        return real_send(*args)

    actor.send = flaky_send  # type: ignore[method-assign]
    scheduler = Scheduler(two_sessionmakers[0], broker, jobs=(DEFAULT_JOBS[0],), name="one")
    moment = at("2027-01-01T00:00:05")
    assert await scheduler.tick(moment) == []  # logged; the claim rolled back
    assert await scheduler.tick(moment) == [("expire_bids", "2027-01-01T00:00")]
    assert await scheduler.tick(moment) == []
    assert len(queued(broker)) == 1


def test_seconds_until_next_wakes_at_the_next_period() -> None:
    scheduler = Scheduler(None, stub_broker(), jobs=DEFAULT_JOBS)  # type: ignore[arg-type]
    assert scheduler.seconds_until_next(at("2027-01-01T00:00:50")) == pytest.approx(10)
    quiet = Scheduler(
        None,  # type: ignore[arg-type]
        stub_broker(),
        jobs=(PeriodicJob("yearly_partner_review", Period.YEAR),),
    )
    assert quiet.seconds_until_next(at("2027-03-01T00:00")) == 30.0  # capped


async def _when(check: Any) -> Any:
    """The first truthy value of ``check()``, polled every 20 ms for up to 10 s."""
    async with asyncio.timeout(10):
        while not (value := check()):  # noqa: ASYNC110 - a file has no event to await
            await asyncio.sleep(0.02)
    return value


async def test_a_running_scheduler_touches_its_heartbeat_every_turn(
    two_sessionmakers: tuple[SM, SM], tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scheduler container's liveness check reads this file's age: it is written at
    once, then at least every heartbeat interval even when no job is due for hours."""
    import workers.scheduler as scheduler_module
    from workers.heartbeat import age_seconds

    monkeypatch.setattr(scheduler_module, "HEARTBEAT_SECONDS", 0.2)
    beat = tmp_path / "scheduler.alive"
    jobs = (PeriodicJob("expire_bids", Period.MONTH),)  # next due in days, not seconds
    scheduler = Scheduler(
        two_sessionmakers[0], stub_broker("expire_bids"), jobs=jobs, heartbeat=beat
    )
    stop = asyncio.Event()
    task = asyncio.create_task(scheduler.run(stop))
    try:
        # Polled, not slept: on a loaded machine the first turn may take a while; what is
        # tested is that it writes at once and writes again with no job due.
        first = await _when(lambda: beat.exists() and beat.stat().st_mtime_ns)
        await _when(lambda: beat.stat().st_mtime_ns > first)
        age = age_seconds(beat)
        assert age is not None
        assert age < 1
    finally:
        stop.set()
        await task
