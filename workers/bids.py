"""Bid actors: the fan-out to matching partners, its chunks, and the expiry job.

Thin: each parses its message and calls ``resolvers.bids``.

- ``fan_out_bid`` (outbox row ``{bid_id}``, written when a bid goes out): plans the chunks
  (``resolvers.bids.plan_fan_out``: one ``deliver_bid_chunk`` outbox row per keyset range
  of ``CHUNK_SIZE`` candidate partners, those whose directory listing, published or not,
  takes the bid's language: an index-only scan of the listing tags' partner index) and,
  once that commits, sends the chunk rows to the broker at once (the sweeper would
  otherwise pick them up on its next pass; a duplicate send is harmless).
- ``deliver_bid_chunk`` (outbox row ``{bid_id, after_partner_id, through_partner_id}``):
  applies the whole matching rule to the range's candidates (their listings' languages,
  regions and families, as they are when the chunk runs), delivers to those matching
  (``ON CONFLICT DO NOTHING``) and queues one ``bid_received`` email per partner newly
  delivered, in the same transaction.
- ``expire_bids`` (no argument; enqueued every minute by ``workers.scheduler``): records
  EXPIRED on the bids past their deadline.

Exactly once per partner, whatever crashes: each outbox row's transaction commits its
effect together with ``processed_at`` (``workers.outbox.process_once``); a worker killed
mid-chunk commits nothing, and the sweeper re-sends the row. The delivery's primary key
``(bid_id, partner_id)`` and the email's dedupe key ``bid:<bid>:partner:<partner>`` make a
second delivery or email impossible even if a chunk ran twice.

The fan-out actors use their own queue (``bids``) so that chunks never wait behind the
thousands of emails they queue.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import OutboxMessage, utcnow
from db.session import transaction
from resolvers import bids as use_cases
from resolvers.bids import DELIVER_BID_CHUNK, FAN_OUT_BID, ChunkRange
from workers import broker as broker_module
from workers.outbox import PermanentJobError, outbox_actor, process_once
from workers.runtime import current_settings, worker_sessionmaker

logger = logging.getLogger(__name__)

BIDS_QUEUE = "bids"
EXPIRE_BIDS = "expire_bids"
#: Partners per chunk: one transaction of 1000 inserts and 1000 queued emails.
CHUNK_SIZE = use_cases.DEFAULT_CHUNK_SIZE
#: A chunk or a plan runs well under this; past it the job is interrupted and retried.
TIME_LIMIT_MS = 5 * 60_000


class BadBidMessage(PermanentJobError, ValueError):
    """A payload no retry can fix."""


def _int(payload: Any, key: str) -> int:
    try:
        value = payload[key]
    except (KeyError, TypeError) as exc:
        raise BadBidMessage(f"payload has no {key!r}") from exc
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadBidMessage(f"payload {key!r} is not an id: {value!r}")
    return value


# -- fan-out ---------------------------------------------------------------------------------

# Outbox id -> the chunk rows its handler wrote; handed to the actor after the commit.
_planned: dict[int, list[int]] = {}
_planned_lock = threading.Lock()


async def fan_out_bid_handler(session: AsyncSession, message: OutboxMessage) -> None:
    bid_id = _int(message.payload, "bid_id")
    rows = await use_cases.plan_fan_out(session, bid_id, chunk_size=CHUNK_SIZE, now=utcnow())
    with _planned_lock:
        _planned[message.id] = [row.id for row in rows]


async def dispatch_now(outbox_ids: list[int], actor_name: str) -> None:
    """Send committed outbox rows to their actor now and mark them dispatched.

    Best effort: on any failure the rows stay undispatched and the sweeper sends them.
    """
    if not outbox_ids:
        return
    try:
        actor = broker_module.get_installed_broker().get_actor(actor_name)

        def send() -> None:
            for outbox_id in outbox_ids:
                actor.send(outbox_id)

        await asyncio.to_thread(send)
        async with transaction(await worker_sessionmaker()) as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(outbox_ids), OutboxMessage.dispatched_at.is_(None))
                .values(dispatched_at=utcnow())
                .execution_options(synchronize_session=False)
            )
    except Exception:
        logger.warning(
            "could not dispatch %d %s rows now; the sweeper will",
            len(outbox_ids),
            actor_name,
            exc_info=True,
        )


async def run_fan_out(
    outbox_id: int, *, sessionmaker: async_sessionmaker[AsyncSession] | None = None
) -> list[int]:
    """Plan the chunks of fan-out row ``outbox_id`` (once); return the chunk rows written.

    Empty when the row was already processed (a duplicate delivery) or the bid is closed.
    """
    outbox_id = int(outbox_id)
    try:
        await process_once(outbox_id, fan_out_bid_handler, sessionmaker=sessionmaker)
    finally:
        with _planned_lock:
            planned = _planned.pop(outbox_id, [])
    return planned


async def fan_out_bid(outbox_id: int) -> None:
    """The actor: plan the chunks, then send them to the broker at once."""
    await dispatch_now(await run_fan_out(outbox_id), DELIVER_BID_CHUNK)


broker_module.register_actor(
    FAN_OUT_BID,
    fan_out_bid,
    queue_name=BIDS_QUEUE,
    throws=(PermanentJobError,),
    time_limit=TIME_LIMIT_MS,
)


def parse_chunk(payload: Any) -> ChunkRange:
    chunk = ChunkRange(
        bid_id=_int(payload, "bid_id"),
        after_partner_id=_int(payload, "after_partner_id"),
        through_partner_id=_int(payload, "through_partner_id"),
    )
    if chunk.through_partner_id <= chunk.after_partner_id:
        raise BadBidMessage(f"empty chunk range: {payload!r}")
    return chunk


async def deliver_bid_chunk_handler(session: AsyncSession, message: OutboxMessage) -> None:
    chunk = parse_chunk(message.payload)
    result = await use_cases.deliver_chunk(
        session, chunk, public_url=current_settings().public_url, now=utcnow()
    )
    logger.info(
        "bid %s: chunk (%s, %s] delivered to %d partners, %d emails queued",
        chunk.bid_id,
        chunk.after_partner_id,
        chunk.through_partner_id,
        result.delivered,
        result.emailed,
    )


outbox_actor(DELIVER_BID_CHUNK, queue_name=BIDS_QUEUE, time_limit=TIME_LIMIT_MS)(
    deliver_bid_chunk_handler
)


# -- expiry ------------------------------------------------------------------------------------


async def expire_bids() -> None:
    """Record EXPIRED on the bids past their deadline (idempotent; run every minute)."""
    expired = await use_cases.expire_bids(await worker_sessionmaker())
    if expired:
        logger.info("expired %d bids: %s", len(expired), expired[:20])


broker_module.register_actor(EXPIRE_BIDS, expire_bids, queue_name=BIDS_QUEUE, time_limit=60_000)
