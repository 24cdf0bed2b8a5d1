"""Grant jobs: record the expiry of pending invitations (enqueued every minute)."""

from __future__ import annotations

import logging

from resolvers import grants as use_cases
from workers import broker as broker_module
from workers.runtime import worker_sessionmaker

logger = logging.getLogger(__name__)

EXPIRE_GRANT_INVITATIONS = "expire_grant_invitations"


async def expire_grant_invitations() -> None:
    expired = await use_cases.expire_invitations(await worker_sessionmaker())
    if expired:
        logger.info("expired %d grant invitations: %s", len(expired), expired[:20])


broker_module.register_actor(EXPIRE_GRANT_INVITATIONS, expire_grant_invitations, time_limit=60_000)
