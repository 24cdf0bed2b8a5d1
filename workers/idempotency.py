"""Forget idempotency keys past their 24 hours (enqueued every minute by the scheduler)."""

from __future__ import annotations

import logging

from db.models import utcnow
from resolvers.idempotency import purge_expired
from workers import broker as broker_module
from workers.runtime import worker_sessionmaker

logger = logging.getLogger(__name__)

PURGE_IDEMPOTENCY_KEYS = "purge_idempotency_keys"


async def purge_idempotency_keys() -> None:
    purged = await purge_expired(await worker_sessionmaker(), utcnow())
    if purged:
        logger.info("purged %d expired idempotency keys", purged)


broker_module.register_actor(PURGE_IDEMPOTENCY_KEYS, purge_idempotency_keys, time_limit=60_000)
