"""Per-request DataLoaders for bids and offers, made per request by `RequestContext.loader_set`.

Like ``resolvers.loaders``: one query per relation per batch, each batch on the request's session;
loaders return raw rows, the schema decides who sees what.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from db.models import Bid, BidDelivery, Offer, Partner
from db.session import RequestSession
from resolvers.bids import PARTNER_ROLES
from resolvers.context import RequestContext
from resolvers.loaders.core import BatchLoaders

Pair = tuple[int, int]


class BidLoaders(BatchLoaders):
    def __init__(self, db: RequestSession) -> None:
        super().__init__(db)
        self.bid: DataLoader[int, Bid | None] = self._by_id(Bid)
        self.offer: DataLoader[int, Offer | None] = self._by_id(Offer)
        self.offers_of_bid: DataLoader[int, list[Offer]] = self._loader(self._offers_of_bid)
        # (bid id, partner id) -> that partner's offer, if any.
        self.offer_of_partner: DataLoader[Pair, Offer | None] = self._loader(self._offer_of_partner)
        # (bid id, partner id) -> was the bid delivered to that partner?
        self.delivered: DataLoader[Pair, bool] = self._loader(self._delivered)

    async def _offers_of_bid(
        self, session: AsyncSession, bid_ids: Sequence[int]
    ) -> list[list[Offer]]:
        found: dict[int, list[Offer]] = defaultdict(list)
        for offer in await session.scalars(
            select(Offer).where(Offer.bid_id.in_(set(bid_ids))).order_by(Offer.id)
        ):
            found[offer.bid_id].append(offer)
        return [found.get(b, []) for b in bid_ids]

    async def _offer_of_partner(
        self, session: AsyncSession, keys: Sequence[Pair]
    ) -> list[Offer | None]:
        rows = await session.scalars(
            select(Offer).where(tuple_(Offer.bid_id, Offer.partner_id).in_(list(set(keys))))
        )
        by_key = {(o.bid_id, o.partner_id): o for o in rows}
        return [by_key.get(k) for k in keys]

    async def _delivered(self, session: AsyncSession, keys: Sequence[Pair]) -> list[bool]:
        rows = await session.execute(
            select(BidDelivery.bid_id, BidDelivery.partner_id).where(
                tuple_(BidDelivery.bid_id, BidDelivery.partner_id).in_(list(set(keys)))
            )
        )
        found = {(b, p) for b, p in rows}
        return [k in found for k in keys]


def bid_loaders(ctx: RequestContext) -> BidLoaders:
    return ctx.loader_set(BidLoaders)


async def acting_partners(ctx: RequestContext) -> list[Partner]:
    """The partners the viewer acts for on bids (legal representative or administrator)."""
    orgs = sorted(o for o, m in ctx.viewer.memberships.items() if m.role in PARTNER_ROLES)
    if not orgs:
        return []
    rows = await ctx.loaders.partner_by_organization.load_many(orgs)
    return [p for p in rows if p is not None]


async def receiving_partner_id(ctx: RequestContext, bid_id: int) -> int | None:
    """A partner the viewer acts for that received the bid (the lowest id), if any."""
    for partner in sorted(await acting_partners(ctx), key=lambda p: p.id):
        if await bid_loaders(ctx).delivered.load((bid_id, partner.id)):
            return partner.id
    return None
