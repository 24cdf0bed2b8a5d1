"""Bid expiry: record EXPIRED on the bids still waiting at their deadline."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Bid, utcnow
from db.session import transaction
from domain.bids import BidStatus
from resolvers.events import record_audit

_WAITING = (BidStatus.OPEN, BidStatus.DRAFT_UNVERIFIED)


async def expire_bids(
    sessionmaker: async_sessionmaker[AsyncSession], *, now: datetime | None = None
) -> list[int]:
    """Record EXPIRED on every bid still waiting at its deadline; return their ids.

    Reads already answer EXPIRED past the deadline (``effective_status``); this makes it
    durable and audited. Idempotent: the update only touches bids still waiting.
    """
    moment = now or utcnow()
    async with transaction(sessionmaker) as session:
        due = (
            await session.execute(
                select(Bid.id, Bid.status)
                .where(Bid.status.in_(_WAITING), Bid.deadline <= moment)
                .order_by(Bid.id)
                .with_for_update(skip_locked=True)
            )
        ).all()
        if not due:
            return []
        expired = set(
            await session.scalars(
                update(Bid)
                .where(Bid.id.in_([row.id for row in due]), Bid.status.in_(_WAITING))
                .values(status=BidStatus.EXPIRED, closed_at=moment)
                .returning(Bid.id)
                .execution_options(synchronize_session=False)
            )
        )
        for row in due:
            if row.id in expired:
                record_audit(
                    session,
                    action="bid.expire",
                    subject_type="Bid",
                    subject_id=row.id,
                    actor_user_id=None,
                    before={"status": row.status.value},
                    after={"status": BidStatus.EXPIRED.value},
                )
    return sorted(expired)
