"""Webhook actors: hand a committed delivery to the webhook queue, attempt it, retry it.

- ``dispatch_webhook`` (outbox actor): the delivery rows were written with the change; once
  it committed, the relay runs this, which sends ``deliver_webhook(delivery_id)``.
- ``deliver_webhook(delivery_id)``: one attempt (``resolvers.webhooks.delivery``), then the
  follow-ups: the object's next delivery at once, or this one again after its delay
  (a delayed Dramatiq message). HTTP failures are not exceptions here: the delivery's own
  schedule (up to 3 days) retries them; a database error raises and Dramatiq retries.
- ``sweep_webhook_deliveries`` (every minute): re-sends due deliveries nobody holds (a
  message lost, an endpoint enabled again).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import OutboxMessage
from resolvers.webhooks.delivery import FollowUp, attempt_delivery, due_deliveries
from resolvers.webhooks.queueing import DISPATCH_WEBHOOK
from workers import broker as broker_module
from workers.outbox import PermanentJobError, outbox_actor
from workers.runtime import current_settings, worker_sessionmaker

logger = logging.getLogger(__name__)

DELIVER_WEBHOOK = "deliver_webhook"
SWEEP_WEBHOOK_DELIVERIES = "sweep_webhook_deliveries"
WEBHOOKS_QUEUE = "webhooks"


def _send(delivery_ids: list[int], delay_ms: int | None = None) -> None:
    actor = broker_module.get_installed_broker().get_actor(DELIVER_WEBHOOK)
    for delivery_id in delivery_ids:
        if delay_ms:
            actor.send_with_options(args=(delivery_id,), delay=delay_ms)
        else:
            actor.send(delivery_id)


async def send_follow_up(follow: FollowUp, now: datetime) -> None:
    if follow.now:
        await asyncio.to_thread(_send, follow.now)
    if follow.retry is not None:
        delivery_id, at = follow.retry
        delay_ms = max(0, int((at - now).total_seconds() * 1000))
        await asyncio.to_thread(_send, [delivery_id], delay_ms)


@outbox_actor(DISPATCH_WEBHOOK)
async def dispatch_webhook(session: AsyncSession, message: OutboxMessage) -> None:
    delivery_id = message.payload.get("delivery_id")
    if not isinstance(delivery_id, int):
        raise PermanentJobError(f"bad payload {message.payload!r}")
    # The delivery row committed with the change: sending now cannot run before it.
    await asyncio.to_thread(_send, [delivery_id])


async def deliver_webhook(delivery_id: int) -> None:
    settings = current_settings()
    follow = await attempt_delivery(
        await worker_sessionmaker(), int(delivery_id), settings=settings
    )
    await send_follow_up(follow, datetime.now(UTC))


async def sweep_webhook_deliveries() -> None:
    due = await due_deliveries(await worker_sessionmaker(), now=datetime.now(UTC))
    if due:
        logger.info("webhook sweep: re-sending %d due deliveries", len(due))
        await asyncio.to_thread(_send, due)


broker_module.register_actor(
    DELIVER_WEBHOOK,
    deliver_webhook,
    queue_name=WEBHOOKS_QUEUE,
    # One attempt is bounded by the HTTP timeout; the margin covers the two transactions.
    time_limit=120_000,
)
broker_module.register_actor(SWEEP_WEBHOOK_DELIVERIES, sweep_webhook_deliveries, time_limit=60_000)
