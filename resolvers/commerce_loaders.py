"""Per-request DataLoaders for orders, hung off the RequestContext on first use.

Like `resolvers.loaders`, each batch opens its own session, and loaders return raw rows:
who may see them is decided by `resolvers.commerce.can_see_order` and the schema guards.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.dataloader import DataLoader

from db.models import Order
from resolvers.context import RequestContext

_ATTRIBUTE = "_commerce_loaders"


class CommerceLoaders:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self.order: DataLoader[int, Order | None] = DataLoader(load_fn=self._orders)

    async def _orders(self, ids: Sequence[int]) -> list[Order | None]:
        async with self._sessionmaker() as session:
            rows = await session.scalars(select(Order).where(Order.id.in_(set(ids))))
            by_id = {row.id: row for row in rows}
        return [by_id.get(i) for i in ids]


def commerce_loaders(ctx: RequestContext) -> CommerceLoaders:
    """The request's commerce loaders, created on first use (one set per request)."""
    found = ctx.__dict__.get(_ATTRIBUTE)
    if not isinstance(found, CommerceLoaders):
        found = CommerceLoaders(ctx.services.sessionmaker)
        ctx.__dict__[_ATTRIBUTE] = found
    return found
