"""Bid fan-out (run by ``workers.bids``): plan the keyset ranges, deliver each chunk.

Fan-out (decided)
    - Going out writes ONE outbox row ``fan_out_bid {bid_id}`` (dedupe key
      ``bid:<id>:fan_out``) in the same transaction. Its handler (:func:`plan_fan_out`)
      reads, in one index-only scan, the ids of the candidate partners (those whose profile
      takes the bid's language), cuts them into keyset ranges ``(after_partner_id,
      through_partner_id]`` of at most ``chunk_size`` candidates, and writes one
      outbox row ``deliver_bid_chunk`` per range (dedupe key ``bid:<id>:chunk:<after>``).
      Each chunk (:func:`deliver_chunk`) applies the rule to its range and inserts the
      ``bid_deliveries`` with ``INSERT ... ON CONFLICT DO NOTHING RETURNING partner_id``
      and, for each
      partner newly delivered, queues one ``bid_received`` email (to the partner's legal
      representatives, one message) with dedupe key ``bid:<bid>:partner:<partner>``, in the
      same transaction. The chunk applies the whole matching rule to its range, so its
      work is bounded by ``chunk_size`` whatever the rule selects. The outbox makes every
      row's effect happen once (``process_once``); the unique keys make a duplicate
      delivery or email impossible whatever happens.
    - The matching rule is evaluated when a chunk runs: a partner suspended meanwhile is
      skipped; a partner that starts matching after the fan-out was planned, and whose id
      is past the last range, does not receive the bid.
    - A chunk that runs after the bid closed (awarded, expired) delivers nothing.

The partners' profile and the matching rule are in ``resolvers.bids.matching``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Bid, BidDelivery, Membership, OutboxMessage, Partner
from db.queries import id_in
from domain.bids import BidCriteria, BidStatus, PartnerProfile, effective_status, matches, summary
from domain.enums import PartnerStatus
from domain.integration_events import EventFacts, EventKind
from domain.program import DirectoryTagKind
from resolvers.bids.common import _insert, _money_text, _representatives
from resolvers.bids.matching import Tag, criteria_of
from resolvers.events import SEND_EMAIL, emit, queued_jobs
from resolvers.integration_events import record_events
from resolvers.integration_events.views import bid_view
from resolvers.links import received_bid_url

logger = logging.getLogger(__name__)


FAN_OUT_BID = "fan_out_bid"
DELIVER_BID_CHUNK = "deliver_bid_chunk"
#: Partners per ``deliver_bid_chunk`` (one transaction each).
DEFAULT_CHUNK_SIZE = 1000
#: One chunk's ids travel as bound parameters (PostgreSQL allows 32767).
MAX_CHUNK_SIZE = 5000


@dataclass(frozen=True)
class ChunkRange:
    bid_id: int
    after_partner_id: int
    through_partner_id: int

    def payload(self) -> dict[str, int]:
        return {
            "bid_id": self.bid_id,
            "after_partner_id": self.after_partner_id,
            "through_partner_id": self.through_partner_id,
        }


def candidate_partners(criteria: BidCriteria, *columns: Any) -> Select[Any]:
    """The partners whose listing takes the bid's language (published or not), in partner
    id order: one index-only range scan of ``(kind, value, partner_id, listing_id)``; any
    ``columns`` added must be of that index. A superset of the matching partners; each
    chunk applies the whole rule to its range."""
    return (
        select(Tag.partner_id, *columns)
        .where(Tag.kind == DirectoryTagKind.LANGUAGE, Tag.value == criteria.language)
        .order_by(Tag.partner_id)
    )


def chunk_boundaries(candidate_ids: Sequence[int], chunk_size: int) -> list[tuple[int, int]]:
    """Keyset ranges ``(after, through]`` of at most ``chunk_size`` candidates each."""
    ranges: list[tuple[int, int]] = []
    after = 0
    for start in range(0, len(candidate_ids), chunk_size):
        through = candidate_ids[min(start + chunk_size, len(candidate_ids)) - 1]
        ranges.append((after, through))
        after = through
    return ranges


async def plan_fan_out(
    session: AsyncSession, bid_id: int, *, chunk_size: int = DEFAULT_CHUNK_SIZE, now: datetime
) -> list[OutboxMessage]:
    """Cut the bid's candidate partners into keyset ranges; one outbox row per range.

    One query reads the candidates' ids (those whose listing takes the bid's language,
    from the tags' partner index), whatever their number; the ranges hold at most ``chunk_size``
    candidates each, so a chunk's work is bounded. Runs in the fan-out job's transaction;
    returns the rows written (flushed: with ids).
    """
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(f"chunk_size must be within 1..{MAX_CHUNK_SIZE}")
    bid = await session.get(Bid, bid_id)
    if bid is None or effective_status(bid.status, bid.deadline, now) is not BidStatus.OPEN:
        logger.info("bid %s is not open; no fan-out", bid_id)
        return []
    candidates = list(await session.scalars(candidate_partners(criteria_of(bid))))
    rows = [
        emit(
            session,
            DELIVER_BID_CHUNK,
            ChunkRange(bid.id, after, through).payload(),
            dedupe_key=f"bid:{bid.id}:chunk:{after}",
        )
        for after, through in chunk_boundaries(candidates, chunk_size)
    ]
    await session.flush()
    logger.info("bid %s: fan-out to %d candidates in %d chunks", bid_id, len(candidates), len(rows))
    return rows


def bid_received_context(bid: Bid, public_url: str) -> dict[str, str]:
    """The ``bid_received`` email's context but the partner's name (``partner_name``): the
    same for every partner of a chunk, so made once."""
    return {
        "summary": summary(bid.description),
        "families": ", ".join(bid.product_families),
        "language": bid.language,
        "region": bid.region,
        "budget": _money_text(bid.budget_amount, bid.currency),
        "deadline": bid.deadline.isoformat(timespec="minutes"),
        "bid_url": received_bid_url(public_url, bid.id),
    }


@dataclass(frozen=True)
class ChunkResult:
    delivered: int
    emailed: int


async def _matching_in_range(session: AsyncSession, bid: Bid, chunk: ChunkRange) -> list[int]:
    """The partners of the chunk's range that receive the bid, by ``domain.bids.matches``.

    Plain index lookups whatever the table statistics: the range's candidates and their
    listing ids (an index-only range scan of the tags' partner index), then their partner
    rows and their listings' tags by primary key; the rule itself runs here, in Python.
    (One INSERT ... SELECT with the rule's EXISTS clauses was quadratic on a freshly
    loaded table, before ANALYZE.)
    """
    criteria = criteria_of(bid)
    # Plain rows (Core), and the range's ids as one array parameter (`id_in`).
    connection = await session.connection()
    listing_of: dict[int, int] = {
        pid: listing_id
        for pid, listing_id in (
            await connection.execute(
                candidate_partners(criteria, Tag.listing_id).where(
                    Tag.partner_id > chunk.after_partner_id,
                    Tag.partner_id <= chunk.through_partner_id,
                )
            )
        ).all()
    }
    candidates = list(listing_of)
    if not candidates:
        return []
    partners = {
        pid: (status, org)
        for pid, status, org in (
            await connection.execute(
                select(Partner.id, Partner.status, Partner.organization_id).where(
                    id_in(session, Partner.id, candidates)
                )
            )
        ).all()
    }
    # By the tags' primary key (listing_id, kind, value): index-only.
    partner_of = {listing_id: pid for pid, listing_id in listing_of.items()}
    found: dict[int, dict[DirectoryTagKind, set[str]]] = defaultdict(lambda: defaultdict(set))
    tags = await connection.execute(
        select(Tag.listing_id, Tag.kind, Tag.value).where(
            id_in(session, Tag.listing_id, partner_of)
        )
    )
    for listing_id, kind, value in tags.all():
        found[partner_of[listing_id]][kind].add(value)
    # The author's own organizations never receive the author's bid.
    excluded: set[int] = set()
    if bid.author_user_id is not None:
        excluded = set(
            await session.scalars(
                select(Membership.organization_id).where(Membership.user_id == bid.author_user_id)
            )
        )
    matching = []
    for pid in candidates:
        if pid not in partners or partners[pid][1] in excluded:
            continue
        profile = PartnerProfile(
            active=partners[pid][0] is PartnerStatus.ACTIVE,
            languages=frozenset(found[pid][DirectoryTagKind.LANGUAGE]),
            regions=frozenset(found[pid][DirectoryTagKind.REGION]),
            families=frozenset(found[pid][DirectoryTagKind.PRODUCT_FAMILY]),
        )
        if matches(criteria, profile):
            matching.append(pid)
    return matching


async def _record_received(
    session: AsyncSession, bid: Bid, partner_ids: set[int], now: datetime
) -> None:
    """BID_RECEIVED to each partner the bid was just delivered to (and to no other)."""
    if not partner_ids:
        return
    organizations = list(
        await session.scalars(
            select(Partner.organization_id)
            .where(id_in(session, Partner.id, partner_ids))
            .order_by(Partner.organization_id)
        )
    )
    view = bid_view(bid)
    await record_events(
        session,
        EventKind.BID_RECEIVED,
        subject_type="Bid",
        subject_id=bid.id,
        items=[
            (EventFacts(partner_organization_id=org), lambda _org: view) for org in organizations
        ],
        now=now,
    )


async def deliver_chunk(
    session: AsyncSession, chunk: ChunkRange, *, public_url: str, now: datetime
) -> ChunkResult:
    """Deliver the bid to the matching partners of one range; queue one email per partner.

    Idempotent: a partner already delivered is skipped by ``ON CONFLICT DO NOTHING`` and
    gets no second email (the email is queued only for rows this statement inserted).
    """
    bid = await session.get(Bid, chunk.bid_id)
    if bid is None or effective_status(bid.status, bid.deadline, now) is not BidStatus.OPEN:
        logger.info(
            "bid %s is not open; chunk after %s skipped", chunk.bid_id, chunk.after_partner_id
        )
        return ChunkResult(0, 0)
    matching = await _matching_in_range(session, bid, chunk)
    if not matching:
        return ChunkResult(0, 0)
    recipients = await _representatives(session, matching)
    stmt = (
        _insert(session, BidDelivery)
        .on_conflict_do_nothing(index_elements=["bid_id", "partner_id"])
        .returning(BidDelivery.partner_id)
    )
    inserted = set(
        await session.scalars(
            stmt,
            [
                {
                    "bid_id": bid.id,
                    "partner_id": pid,
                    "delivered_at": now,
                    "emailed": pid in recipients,
                }
                for pid in matching
            ],
        )
    )
    await _record_received(session, bid, inserted, now)
    recipients = {pid: found for pid, found in recipients.items() if pid in inserted}
    context = bid_received_context(bid, public_url)
    messages = [
        {
            "actor_name": SEND_EMAIL,
            "payload": {
                "to": ", ".join(emails),
                "template": "bid_received",
                "context": {"partner_name": name, **context},
            },
            "dedupe_key": f"bid:{bid.id}:partner:{pid}",
            "created_at": now,
            "attempts": 0,
        }
        for pid, (name, emails) in sorted(recipients.items())
    ]
    if messages:
        await session.execute(
            _insert(session, OutboxMessage).on_conflict_do_nothing(index_elements=["dedupe_key"]),
            messages,
        )
        queued_jobs(session)
    return ChunkResult(len(inserted), len(messages))
