"""Bid use cases: post a bid, verify the visitor's email; the bid goes out.

Posting (decided)
    - A bid that no active partner matches is refused at posting: ``NO_MATCHING_PARTNER``
      in ``userErrors``, nothing written, no email sent (the author widens the criteria).
    - A signed-in person's bid goes out at once. A visitor's bid waits for its email link
      (``verifyBidEmail``); if, by then, no partner matches any more, the link is used and
      the bid becomes ``NO_MATCH`` (the payload and the confirmation email say so).
    - Going out writes ONE outbox row ``fan_out_bid {bid_id}`` (dedupe key
      ``bid:<id>:fan_out``) in the same transaction; its handler is in
      ``resolvers.bids.fan_out``.

The author's name and email are stored on the bid (see ``resolvers.bids.offers`` for who
sees them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Bid, User
from db.session import transaction
from domain.bids import (
    NO_MATCHING_PARTNER,
    BidError,
    BidStatus,
    check_verifiable,
    status_after_publishing,
    summary,
    validate_bid,
)
from domain.money import Currency
from resolvers.bids.common import _audit, _is_person, _lock_bid, _snapshot
from resolvers.bids.fan_out import FAN_OUT_BID
from resolvers.bids.matching import count_matching, criteria_of
from resolvers.context import RequestContext
from resolvers.errors import UNAUTHENTICATED, UseCaseError
from resolvers.events import emit, emit_email
from resolvers.links import manage_bid_url, verify_bid_url
from resolvers.tokens import digest, new_secret
from resolvers.validation import clean_email, clean_text

VERIFY_PREFIX = "pgb"  # the visitor's email link
AUTHOR_PREFIX = "pga"  # the visitor's link to manage the bid


def _go_out(session: AsyncSession, bid: Bid, count: int, now: datetime) -> None:
    """The bid goes out: OPEN with one fan-out job, or NO_MATCH."""
    bid.status = status_after_publishing(count)
    bid.matching_partners = count
    bid.published_at = now
    if bid.status is BidStatus.NO_MATCH:
        bid.closed_at = now
        return
    emit(session, FAN_OUT_BID, {"bid_id": bid.id}, dedupe_key=f"bid:{bid.id}:fan_out")


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
            assert token is not None  # a visitor's bid: made above
            emit_email(
                session,
                to=bid.author_email,
                template="bid_verify_email",
                context={
                    "author_name": bid.author_name,
                    "summary": summary(bid.description),
                    "deadline": bid.deadline.isoformat(timespec="minutes"),
                    "verify_url": verify_bid_url(ctx.settings.public_url, token),
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
                "manage_url": manage_bid_url(ctx.settings.public_url, author_token),
            },
            dedupe_key=f"bid:{bid.id}:published",
        )
        _audit(session, ctx, "verify", bid, before)
    ctx.services.after_commit()
    return VerifiedBid(bid, count, author_token)
