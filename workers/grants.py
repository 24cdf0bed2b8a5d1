"""Grant jobs (enqueued every minute): record the expiry of pending invitations; end,
renew and warn about time-bound grants."""

from __future__ import annotations

import logging

from db.models import utcnow
from resolvers import grants as use_cases
from resolvers.grants import terms
from workers import broker as broker_module
from workers.runtime import worker_sessionmaker

logger = logging.getLogger(__name__)

EXPIRE_GRANT_INVITATIONS = "expire_grant_invitations"


async def expire_grant_invitations() -> None:
    expired = await use_cases.expire_invitations(await worker_sessionmaker())
    if expired:
        logger.info("expired %d grant invitations: %s", len(expired), expired[:20])


END_GRANT_TERMS = "end_grant_terms"


async def end_grant_terms() -> None:
    """Time-bound grants: warnings 7 and 1 days before, then expiry or renewal."""
    run = await terms.end_grant_terms(await worker_sessionmaker(), now=utcnow())
    if run.expired or run.renewed or run.warned:
        logger.info(
            "grant terms: %d expired, %d renewed, %d warned",
            len(run.expired),
            len(run.renewed),
            len(run.warned),
        )


broker_module.register_actor(EXPIRE_GRANT_INVITATIONS, expire_grant_invitations, time_limit=60_000)
broker_module.register_actor(END_GRANT_TERMS, end_grant_terms, time_limit=60_000)
