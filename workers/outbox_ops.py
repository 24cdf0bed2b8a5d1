"""What an operator sees of the outbox and can do to it (``partnergraph outbox ...``,
the ``/metrics`` backlog gauges).

States of a row not processed yet:
    pending  never failed (waiting for the relay, or in a worker now);
    failing  failed at least once, still retried (Dramatiq back-off, then the sweeper);
    dead     failed ``MAX_ATTEMPTS`` times or permanently: the sweeper leaves it alone
             until an operator retries it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config.metrics import OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE
from db.models import OutboxMessage, utcnow
from workers.relay import MAX_ATTEMPTS

STATES = ("pending", "failing", "dead")


@dataclass(frozen=True)
class ActorBacklog:
    actor: str
    pending: int
    failing: int
    dead: int
    oldest: datetime | None


@dataclass(frozen=True)
class OutboxStatus:
    actors: list[ActorBacklog] = field(default_factory=list)

    def count(self, state: str) -> int:
        return sum(getattr(a, state) for a in self.actors)

    @property
    def oldest(self) -> datetime | None:
        found = [a.oldest for a in self.actors if a.oldest is not None]
        return min(found) if found else None

    def oldest_age_seconds(self, now: datetime | None = None) -> float:
        oldest = self.oldest
        if oldest is None:
            return 0.0
        return max(0.0, ((now or utcnow()) - oldest).total_seconds())


def _state() -> ColumnElement[str]:
    return case(
        (OutboxMessage.attempts >= MAX_ATTEMPTS, "dead"),
        (OutboxMessage.attempts > 0, "failing"),
        else_="pending",
    )


async def outbox_status(sessionmaker: async_sessionmaker[AsyncSession]) -> OutboxStatus:
    """Rows not processed, by actor and state, and the oldest of each actor (one query)."""
    state = _state()
    query = (
        select(
            OutboxMessage.actor_name,
            func.sum(case((state == "pending", 1), else_=0)),
            func.sum(case((state == "failing", 1), else_=0)),
            func.sum(case((state == "dead", 1), else_=0)),
            func.min(case((state != "dead", OutboxMessage.created_at), else_=None)),
        )
        .where(OutboxMessage.processed_at.is_(None))
        .group_by(OutboxMessage.actor_name)
        .order_by(OutboxMessage.actor_name)
    )
    async with sessionmaker() as session:
        rows = (await session.execute(query)).all()
    return OutboxStatus(
        [
            ActorBacklog(str(actor), int(p or 0), int(f or 0), int(d or 0), _aware(oldest))
            for actor, p, f, d, oldest in rows
        ]
    )


def _aware(moment: datetime | str | None) -> datetime | None:
    if moment is None:
        return None
    if isinstance(moment, str):  # SQLite's min() of a timestamp column
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        from datetime import UTC

        moment = moment.replace(tzinfo=UTC)
    return moment


def publish(status: OutboxStatus) -> None:
    """Set the backlog gauges from a status (the ``/metrics`` scrape calls it)."""
    for state in STATES:
        OUTBOX_BACKLOG.labels(state).set(status.count(state))
    OUTBOX_OLDEST_AGE.set(status.oldest_age_seconds())


async def dead_messages(
    sessionmaker: async_sessionmaker[AsyncSession], *, limit: int = 100
) -> list[OutboxMessage]:
    """Rows the sweeper gave up on, oldest first."""
    async with sessionmaker() as session:
        result = await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.processed_at.is_(None), OutboxMessage.attempts >= MAX_ATTEMPTS)
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        return list(result.all())


async def retry_messages(
    sessionmaker: async_sessionmaker[AsyncSession], ids: Sequence[int] | None = None
) -> int:
    """Send rows again on the relay's next pass: the given ones, or every dead or failing
    one. Their failure count starts over (``last_error`` is kept). Returns how many."""
    condition = (
        OutboxMessage.id.in_(list(ids)) if ids else OutboxMessage.attempts > 0  # failing, dead
    )
    async with sessionmaker() as session, session.begin():
        result = await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.processed_at.is_(None), condition)
            .values(attempts=0, dispatched_at=None)
            .execution_options(synchronize_session=False)
        )
    return int(result.rowcount)  # type: ignore[attr-defined]
