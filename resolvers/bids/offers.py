"""Bid use cases: a partner makes an offer; the author awards one.

Contact details
    The author's name and email are stored on the bid and shown to a partner only once its
    offer is awarded (the ``bid_awarded`` email carries them too). Partners see the bid's
    description, families, budget, language, region and deadline.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from db.models import Bid, BidDelivery, Offer, Partner
from db.session import transaction
from domain.bids import (
    OFFER_EXISTS,
    OFFER_NOT_ALLOWED,
    BidError,
    BidStatus,
    check_award_allowed,
    check_offer_allowed,
    clean_money,
    effective_status,
    summary,
    validate_offer,
)
from domain.enums import PartnerStatus
from domain.integration_events import EventFacts, EventKind
from domain.money import Currency
from resolvers.auth import require_writer
from resolvers.bids.common import (
    _acting_partner,
    _audit,
    _is_person,
    _lock_bid,
    _money_text,
    _representatives,
    _snapshot,
)
from resolvers.context import RequestContext
from resolvers.errors import not_found
from resolvers.events import emit_email, record_audit
from resolvers.integration_events import record_event
from resolvers.integration_events.views import offer_view
from resolvers.tokens import digest


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
            await record_event(
                session,
                EventKind.OFFER_MADE,
                subject_type="Offer",
                subject_id=offer.id,
                facts=EventFacts(partner_organization_id=partner.organization_id),
                view=lambda org: offer_view(offer, bid, awarded=False),
                now=now,
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
        await record_event(
            session,
            EventKind.OFFER_AWARDED,
            subject_type="Offer",
            subject_id=offer.id,
            facts=EventFacts(
                partner_organization_id=await session.scalar(
                    select(Partner.organization_id).where(Partner.id == offer.partner_id)
                )
            ),
            view=lambda org: offer_view(offer, bid, awarded=True),
            now=now,
        )
    ctx.services.after_commit()
    return Awarded(bid, offer)
