"""Bid reads: the bids a partner received, the bids a person authored, a visitor's bid."""

from __future__ import annotations

from sqlalchemy import select

from db.models import Bid, BidDelivery
from resolvers.bids.common import PARTNER_ROLES, _acting_partner, _is_person
from resolvers.context import RequestContext
from resolvers.pagination import Page, PageRequest, fetch_page
from resolvers.throttling import Limit, throttle
from resolvers.tokens import digest


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
    await throttle(ctx, Limit.EMAILED_TOKEN)
    key = digest(ctx.settings.secret_key.get_secret_value(), author_token.strip())
    async with ctx.services.sessionmaker() as session:
        return await session.scalar(select(Bid).where(Bid.author_token_hash == key))
