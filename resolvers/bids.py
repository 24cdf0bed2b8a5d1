"""Bid use cases: post, verify the visitor's email, fan out, offer, award, expire.

Posting and fan-out (decided)
    - A bid that no active partner matches is refused at posting: ``NO_MATCHING_PARTNER``
      in ``userErrors``, nothing written, no email sent (the author widens the criteria).
    - A signed-in person's bid goes out at once. A visitor's bid waits for its email link
      (``verifyBidEmail``); if, by then, no partner matches any more, the link is used and
      the bid becomes ``NO_MATCH`` (the payload and the confirmation email say so).
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

The partner's profile
    A partner receives bids for the languages, regions and product families of its
    directory listing (``directory_listing_tags``, edited by ``updateDirectoryListing``),
    whether or not the listing is published: publication only decides what the public
    directory shows. There is no separate bid profile. The tags carry the listing's
    ``partner_id`` (kept equal by a composite foreign key) so that the candidates come from
    ``ix_directory_listing_tags_kind_value_partner (kind, value, partner_id, listing_id)``
    alone, in partner id order: an index-only range scan for the plan and for each chunk.
    (Joining ``directory_listings`` for the partner id instead would make every chunk
    either scan all of the language's candidates or walk the listings by partner id
    including those not taking the language: its work would no longer be bounded by
    ``chunk_size``.) Languages are lower-case ISO 639-1 codes, regions upper-case ISO 3166
    codes, families catalog families on both sides (``domain.program`` cleans them).

Contact details
    The author's name and email are stored on the bid and shown to a partner only once its
    offer is awarded (the ``bid_awarded`` email carries them too). Partners see the bid's
    description, families, budget, language, region and deadline.

Roles
    On the partner side, legal representatives and administrators see received bids and
    make offers; collaborators and external members do not. The profile is the listing's,
    edited by a legal representative (the directory's rule).
"""

from __future__ import annotations

import hmac
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import (
    Bid,
    BidDelivery,
    DirectoryListingTag,
    Membership,
    Offer,
    Organization,
    OutboxMessage,
    Partner,
    User,
    utcnow,
)
from db.session import transaction
from domain.bids import (
    NO_MATCHING_PARTNER,
    OFFER_EXISTS,
    OFFER_NOT_ALLOWED,
    BidCriteria,
    BidError,
    BidStatus,
    PartnerProfile,
    check_award_allowed,
    check_offer_allowed,
    check_verifiable,
    clean_money,
    effective_status,
    matches,
    region_keys,
    status_after_publishing,
    summary,
    validate_bid,
    validate_offer,
)
from domain.enums import PartnerStatus, Role
from domain.money import Currency, Money
from domain.program import DirectoryTagKind
from resolvers.auth import require_writer
from resolvers.context import RequestContext
from resolvers.errors import UNAUTHENTICATED, UseCaseError, not_found
from resolvers.events import SEND_EMAIL, emit, emit_email, record_audit
from resolvers.pagination import Page, PageRequest, fetch_page
from resolvers.tokens import digest, new_secret
from resolvers.validation import clean_email, clean_text

logger = logging.getLogger(__name__)

FAN_OUT_BID = "fan_out_bid"
DELIVER_BID_CHUNK = "deliver_bid_chunk"
#: Partners per ``deliver_bid_chunk`` (one transaction each).
DEFAULT_CHUNK_SIZE = 1000
#: One chunk's ids travel as bound parameters (PostgreSQL allows 32767).
MAX_CHUNK_SIZE = 5000

VERIFY_PREFIX = "pgb"  # the visitor's email link
AUTHOR_PREFIX = "pga"  # the visitor's link to manage the bid

#: Who acts for a partner on bids.
PARTNER_ROLES = frozenset({Role.LEGAL_REPRESENTATIVE, Role.ADMINISTRATOR})
_WAITING = (BidStatus.OPEN, BidStatus.DRAFT_UNVERIFIED)


# -- matching (the SQL of domain.bids.matches) -------------------------------------------

Tag = DirectoryListingTag


def _has(kind: DirectoryTagKind, values: Sequence[str]) -> Any:
    """The partner's listing names one of ``values`` (published or not): a probe of
    ``(kind, value, partner_id)``."""
    return exists().where(Tag.partner_id == Partner.id, Tag.kind == kind, Tag.value.in_(values))


def matching_partners(criteria: BidCriteria, author_user_id: int | None) -> Select[Any]:
    """The ids of the active partners that receive a bid with these criteria.

    The profile is the partner's directory listing, published or not. A partner the
    author is a member of never receives the author's own bid.
    """
    stmt = select(Partner.id).where(
        Partner.status == PartnerStatus.ACTIVE,
        _has(DirectoryTagKind.LANGUAGE, [criteria.language]),
        _has(DirectoryTagKind.REGION, region_keys(criteria.region)),
        _has(DirectoryTagKind.PRODUCT_FAMILY, sorted(criteria.families)),
    )
    if author_user_id is not None:
        stmt = stmt.where(
            ~exists().where(
                Membership.organization_id == Partner.organization_id,
                Membership.user_id == author_user_id,
            )
        )
    return stmt


def criteria_of(bid: Bid) -> BidCriteria:
    return BidCriteria(bid.language, bid.region, frozenset(bid.product_families))


async def count_matching(
    session: AsyncSession, criteria: BidCriteria, author_user_id: int | None
) -> int:
    inner = matching_partners(criteria, author_user_id).subquery()
    return int(await session.scalar(select(func.count()).select_from(inner)) or 0)


# -- helpers ---------------------------------------------------------------------------------


def _is_sqlite(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _insert(session: AsyncSession, table: Any) -> Any:
    """INSERT with ON CONFLICT support for the session's dialect."""
    return (sqlite.insert if _is_sqlite(session) else postgresql.insert)(table)


async def _lock_bid(session: AsyncSession, bid_id: int) -> Bid | None:
    """The bid, locked for this transaction (two awards or an award and an offer serialize).

    SQLite: a first write takes the database write lock (a first read would let two
    transactions decide on the same snapshot); PostgreSQL: ``SELECT ... FOR UPDATE``.
    """
    if _is_sqlite(session):
        await session.execute(
            update(Bid)
            .where(Bid.id == bid_id)
            .values(updated_at=Bid.updated_at)
            .execution_options(synchronize_session=False)
        )
    return await session.scalar(
        select(Bid)
        .where(Bid.id == bid_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _snapshot(bid: Bid) -> dict[str, Any]:
    return {
        "status": bid.status.value,
        "matching_partners": bid.matching_partners,
        "awarded_offer_id": bid.awarded_offer_id,
        "verified": bid.verified_at is not None,
    }


def _audit(
    session: AsyncSession,
    ctx: RequestContext | None,
    action: str,
    bid: Bid,
    before: dict[str, Any] | None,
    *,
    organization_id: int | None = None,
) -> None:
    record_audit(
        session,
        action=f"bid.{action}",
        subject_type="Bid",
        subject_id=bid.id,
        actor_user_id=ctx.viewer.user_id if ctx else None,
        actor_api_token_id=ctx.viewer.api_token_id if ctx else None,
        organization_id=organization_id,
        before=before,
        after=_snapshot(bid),
    )


def _money_text(amount: Decimal, currency: Currency) -> str:
    return str(Money(amount, currency).rounded())


def _is_person(ctx: RequestContext) -> bool:
    return ctx.viewer.user_id is not None and ctx.viewer.api_token_id is None


async def _acting_partner(session: AsyncSession, ctx: RequestContext, partner_id: int) -> Partner:
    """The partner the viewer acts for on bids (legal representative or administrator)."""
    partner = await session.get(Partner, partner_id)
    if partner is None or ctx.viewer.role_in(partner.organization_id) not in PARTNER_ROLES:
        raise not_found("partnerId")
    return partner


async def _representatives(
    session: AsyncSession, partner_ids: Sequence[int]
) -> dict[int, tuple[str, list[str]]]:
    """Partner id -> (organization name, legal representatives' emails)."""
    if not partner_ids:
        return {}
    rows = await session.execute(
        select(Partner.id, Organization.name, User.email)
        .join(Organization, Organization.id == Partner.organization_id)
        .join(Membership, Membership.organization_id == Partner.organization_id)
        .join(User, User.id == Membership.user_id)
        .where(Partner.id.in_(list(partner_ids)), Membership.role == Role.LEGAL_REPRESENTATIVE)
        .order_by(Partner.id, User.email)
    )
    found: dict[int, tuple[str, list[str]]] = {}
    for partner_id, name, email in rows:
        found.setdefault(partner_id, (name, []))[1].append(email)
    return found


def _go_out(session: AsyncSession, bid: Bid, count: int, now: datetime) -> None:
    """The bid goes out: OPEN with one fan-out job, or NO_MATCH."""
    bid.status = status_after_publishing(count)
    bid.matching_partners = count
    bid.published_at = now
    if bid.status is BidStatus.NO_MATCH:
        bid.closed_at = now
        return
    emit(session, FAN_OUT_BID, {"bid_id": bid.id}, dedupe_key=f"bid:{bid.id}:fan_out")


# -- posting and verifying -------------------------------------------------------------------


@dataclass
class PostedBid:
    bid: Bid
    #: Partners it goes out to; None while a visitor's email is not verified.
    matching_partners: int | None
    #: A visitor's bid: the email link was sent.
    verification_sent: bool


async def post_bid(
    ctx: RequestContext,
    *,
    description: str,
    product_families: Sequence[str],
    budget_amount: Decimal | str,
    currency: Currency,
    language: str,
    region: str,
    deadline: datetime,
    email: str | None = None,
    contact_name: str | None = None,
) -> PostedBid:
    """A signed-in person's bid goes out at once; a visitor's waits for its email link."""
    if ctx.viewer.api_token_id is not None:
        raise UseCaseError(UNAUTHENTICATED, "Post a bid as a person, not with an API token.", None)
    now = ctx.now()
    draft = validate_bid(
        description=description,
        families=product_families,
        budget_amount=budget_amount,
        currency=currency,
        language=language,
        region=region,
        deadline=deadline,
        now=now,
    )
    signed_in = _is_person(ctx)
    if not signed_in:
        if email is None or not email.strip():
            raise UseCaseError(
                "EMAIL_REQUIRED", "Give your email to post without an account.", "email"
            )
        address = clean_email(email, "email")
        name = clean_text(contact_name or "", "contactName")
    token: str | None = None

    async with transaction(ctx.services.sessionmaker) as session:
        count = await count_matching(session, draft.criteria, ctx.viewer.user_id)
        if count == 0:
            raise BidError(
                NO_MATCHING_PARTNER,
                "No active partner takes bids in this language, region and product "
                "families; widen them and post again.",
                None,
            )
        bid = Bid(
            description=draft.description,
            product_families=sorted(draft.families),
            budget_amount=draft.budget.amount,
            currency=draft.budget.currency,
            language=draft.language,
            region=draft.region,
            deadline=draft.deadline,
            status=BidStatus.DRAFT_UNVERIFIED,
        )
        if signed_in:
            user = await session.get(User, ctx.viewer.user_id)
            if user is None:
                raise UseCaseError(UNAUTHENTICATED, "Log in again.", None)
            bid.author_user_id = user.id
            bid.author_email = user.email
            bid.author_name = user.full_name
        else:
            token = new_secret(VERIFY_PREFIX)
            bid.author_email = address
            bid.author_name = name
            bid.verification_token_hash = digest(ctx.settings.secret_key.get_secret_value(), token)
        session.add(bid)
        await session.flush()
        if signed_in:
            _go_out(session, bid, count, now)
        else:
            emit_email(
                session,
                to=bid.author_email,
                template="bid_verify_email",
                context={
                    "author_name": bid.author_name,
                    "summary": summary(bid.description),
                    "deadline": bid.deadline.isoformat(timespec="minutes"),
                    "verify_url": f"{ctx.settings.public_url}/bids/verify?token={token}",
                },
                dedupe_key=f"bid:{bid.id}:verify",
            )
        await session.flush()
        _audit(session, ctx, "post", bid, None)
    ctx.services.after_commit()
    return PostedBid(bid, count if signed_in else None, verification_sent=not signed_in)


@dataclass
class VerifiedBid:
    bid: Bid
    matching_partners: int
    #: The visitor's secret to see the offers and award one (also emailed as a link).
    author_token: str


async def verify_bid_email(ctx: RequestContext, *, token: str) -> VerifiedBid:
    """The visitor's email link: the bid goes out (or is NO_MATCH). A link works once."""
    secret = ctx.settings.secret_key.get_secret_value()
    key = digest(secret, token.strip())
    now = ctx.now()
    async with transaction(ctx.services.sessionmaker) as session:
        bid_id = await session.scalar(select(Bid.id).where(Bid.verification_token_hash == key))
        bid = await _lock_bid(session, bid_id) if bid_id is not None else None
        if bid is None:
            raise BidError("BID_LINK_INVALID", "This link is not valid.", "token")
        check_verifiable(bid.status, bid.verified_at, bid.deadline, now)
        before = _snapshot(bid)
        bid.verified_at = now
        count = await count_matching(session, criteria_of(bid), None)
        _go_out(session, bid, count, now)
        author_token = new_secret(AUTHOR_PREFIX)
        bid.author_token_hash = digest(secret, author_token)
        await session.flush()
        emit_email(
            session,
            to=bid.author_email,
            template="bid_published",
            context={
                "author_name": bid.author_name,
                "summary": summary(bid.description),
                "matching_partners": str(count),
                "manage_url": f"{ctx.settings.public_url}/bids/manage?token={author_token}",
            },
            dedupe_key=f"bid:{bid.id}:published",
        )
        _audit(session, ctx, "verify", bid, before)
    ctx.services.after_commit()
    return VerifiedBid(bid, count, author_token)


# -- fan-out (run by workers.bids) -----------------------------------------------------------


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


def bid_received_context(bid: Bid, partner_name: str, public_url: str) -> dict[str, str]:
    return {
        "partner_name": partner_name,
        "summary": summary(bid.description),
        "families": ", ".join(bid.product_families),
        "language": bid.language,
        "region": bid.region,
        "budget": _money_text(bid.budget_amount, bid.currency),
        "deadline": bid.deadline.isoformat(timespec="minutes"),
        "bid_url": f"{public_url}/partner/bids/{bid.id}",
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
    listing_of: dict[int, int] = {
        pid: listing_id
        for pid, listing_id in await session.execute(
            candidate_partners(criteria, Tag.listing_id).where(
                Tag.partner_id > chunk.after_partner_id,
                Tag.partner_id <= chunk.through_partner_id,
            )
        )
    }
    candidates = list(listing_of)
    if not candidates:
        return []
    partners = {
        pid: (status, org)
        for pid, status, org in await session.execute(
            select(Partner.id, Partner.status, Partner.organization_id).where(
                Partner.id.in_(candidates)
            )
        )
    }
    # By the tags' primary key (listing_id, kind, value): index-only.
    partner_of = {listing_id: pid for pid, listing_id in listing_of.items()}
    found: dict[int, dict[DirectoryTagKind, set[str]]] = defaultdict(lambda: defaultdict(set))
    for listing_id, kind, value in await session.execute(
        select(Tag.listing_id, Tag.kind, Tag.value).where(Tag.listing_id.in_(list(partner_of)))
    ):
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
    recipients = {pid: found for pid, found in recipients.items() if pid in inserted}
    messages = [
        {
            "actor_name": SEND_EMAIL,
            "payload": {
                "to": ", ".join(emails),
                "template": "bid_received",
                "context": bid_received_context(bid, name, public_url),
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
    return ChunkResult(len(inserted), len(messages))


# -- offers and award --------------------------------------------------------------------------


async def make_offer(
    ctx: RequestContext,
    *,
    bid_id: int,
    partner_id: int,
    amount: Decimal | str,
    currency: Currency,
    message: str | None,
) -> Offer:
    """A partner that received an OPEN bid answers it, once."""
    require_writer(ctx)
    clean_money(amount, currency, "amount")
    now = ctx.now()
    try:
        async with transaction(ctx.services.sessionmaker) as session:
            partner = await _acting_partner(session, ctx, partner_id)
            bid = await _lock_bid(session, bid_id)
            received = bid is not None and bool(
                await session.scalar(
                    select(
                        exists().where(
                            BidDelivery.bid_id == bid_id, BidDelivery.partner_id == partner.id
                        )
                    )
                )
            )
            if bid is None or not received:
                # A missing bid and one the partner did not receive answer alike.
                raise BidError(
                    OFFER_NOT_ALLOWED,
                    "Only an active partner that received this bid may make an offer.",
                    "bidId",
                )
            check_offer_allowed(
                effective_status(bid.status, bid.deadline, now),
                received=received,
                partner_active=partner.status is PartnerStatus.ACTIVE,
            )
            money, text = validate_offer(amount, currency, bid.currency, message)
            existing = await session.scalar(
                select(Offer.id).where(Offer.bid_id == bid.id, Offer.partner_id == partner.id)
            )
            if existing is not None:
                raise BidError(OFFER_EXISTS, "Your organization already made an offer.", "bidId")
            offer = Offer(
                bid_id=bid.id,
                partner_id=partner.id,
                amount=money.amount,
                currency=money.currency,
                message=text,
                submitted_by_user_id=ctx.viewer.user_id,
            )
            session.add(offer)
            await session.flush()
            record_audit(
                session,
                action="bid.offer",
                subject_type="Offer",
                subject_id=offer.id,
                actor_user_id=ctx.viewer.user_id,
                actor_api_token_id=ctx.viewer.api_token_id,
                organization_id=partner.organization_id,
                after={
                    "bid_id": bid.id,
                    "partner_id": partner.id,
                    "amount_minor": money.to_minor_units(),
                    "currency": money.currency.value,
                },
            )
    except IntegrityError as exc:  # a concurrent offer by the same partner won
        raise BidError(OFFER_EXISTS, "Your organization already made an offer.", "bidId") from exc
    ctx.services.after_commit()
    return offer


def _is_author(ctx: RequestContext, bid: Bid, author_token: str | None) -> bool:
    if _is_person(ctx) and bid.author_user_id is not None:
        return bid.author_user_id == ctx.viewer.user_id
    if author_token and bid.author_token_hash:
        key = digest(ctx.settings.secret_key.get_secret_value(), author_token.strip())
        return hmac.compare_digest(key, bid.author_token_hash)
    return False


@dataclass
class Awarded:
    bid: Bid
    offer: Offer


async def award_offer(ctx: RequestContext, *, offer_id: int, author_token: str | None) -> Awarded:
    """The author picks one offer; its partner (only) gets the author's contact details."""
    now = ctx.now()
    async with transaction(ctx.services.sessionmaker) as session:
        offer = await session.get(Offer, offer_id)
        bid = await _lock_bid(session, offer.bid_id) if offer is not None else None
        if offer is None or bid is None or not _is_author(ctx, bid, author_token):
            raise not_found("offerId")
        if ctx.viewer.read_only:
            require_writer(ctx)
        check_award_allowed(effective_status(bid.status, bid.deadline, now))
        before = _snapshot(bid)
        bid.status = BidStatus.AWARDED
        bid.awarded_offer_id = offer.id
        bid.awarded_at = now
        bid.closed_at = now
        await session.flush()
        recipients = await _representatives(session, [offer.partner_id])
        for name, emails in recipients.values():
            emit_email(
                session,
                to=", ".join(emails),
                template="bid_awarded",
                context={
                    "partner_name": name,
                    "summary": summary(bid.description),
                    "amount": _money_text(offer.amount, offer.currency),
                    "author_name": bid.author_name,
                    "author_email": bid.author_email,
                },
                dedupe_key=f"bid:{bid.id}:awarded",
            )
        _audit(session, ctx, "award", bid, before)
    ctx.services.after_commit()
    return Awarded(bid, offer)


# -- expiry ----------------------------------------------------------------------------------


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


# -- reading -------------------------------------------------------------------------------------


def acting_organization_ids(ctx: RequestContext) -> list[int]:
    """The organizations in which the viewer acts on bids for a partner."""
    return sorted(org for org, m in ctx.viewer.memberships.items() if m.role in PARTNER_ROLES)


async def received_bids_page(
    ctx: RequestContext, partner_id: int, request: PageRequest
) -> Page[Bid]:
    """The bids delivered to a partner the viewer acts for, in bid order."""
    async with ctx.services.sessionmaker() as session:
        partner = await _acting_partner(session, ctx, partner_id)
        stmt = (
            select(Bid)
            .join(BidDelivery, BidDelivery.bid_id == Bid.id)
            .where(BidDelivery.partner_id == partner.id)
        )
        return await fetch_page(session, stmt, Bid.id, request)


async def authored_bids_page(ctx: RequestContext, request: PageRequest) -> Page[Bid]:
    if not _is_person(ctx):
        return Page.empty()
    async with ctx.services.sessionmaker() as session:
        stmt = select(Bid).where(Bid.author_user_id == ctx.viewer.user_id)
        return await fetch_page(session, stmt, Bid.id, request)


async def bid_by_author_token(ctx: RequestContext, author_token: str) -> Bid | None:
    key = digest(ctx.settings.secret_key.get_secret_value(), author_token.strip())
    async with ctx.services.sessionmaker() as session:
        return await session.scalar(select(Bid).where(Bid.author_token_hash == key))


__all__ = [
    "DELIVER_BID_CHUNK",
    "FAN_OUT_BID",
    "ChunkRange",
    "award_offer",
    "deliver_chunk",
    "expire_bids",
    "make_offer",
    "plan_fan_out",
    "post_bid",
    "verify_bid_email",
]
