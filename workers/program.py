"""Program jobs: the yearly partner review.

``yearly_partner_review(year)`` is enqueued by the scheduler (``workers.scheduler``) on
1 January for the year just ended; it calls ``resolvers.program.run_yearly_review``, which
is idempotent per (partner, year), so a duplicate message or a retry after a crash only
reviews the partners not reviewed yet. Its emails go through the outbox (relayed by the
API's sweeper, or at once when a sweeper runs in this process).
"""

from __future__ import annotations

import logging

from db.models import utcnow
from resolvers.program import run_yearly_review
from workers import relay
from workers.broker import register_actor
from workers.runtime import worker_sessionmaker

logger = logging.getLogger(__name__)

YEARLY_PARTNER_REVIEW = "yearly_partner_review"
#: Reviewing tens of thousands of partners, one short transaction each, takes minutes.
TIME_LIMIT_MS = 60 * 60_000


async def yearly_partner_review(year: int | None = None) -> None:
    """Review every active partner for ``year`` (default: the previous calendar year)."""
    target = int(year) if year is not None else utcnow().year - 1
    summary = await run_yearly_review(await worker_sessionmaker(), target, after_commit=relay.kick)
    logger.info(
        "yearly partner review %s: %d reviewed, %d flagged, %d already reviewed",
        target,
        summary.reviewed,
        summary.flagged,
        summary.already_reviewed,
    )


register_actor(YEARLY_PARTNER_REVIEW, yearly_partner_review, time_limit=TIME_LIMIT_MS)
