"""Per-request DataLoaders for orders, made per request by `RequestContext.loader_set`.

Like `resolvers.loaders`, each batch opens its own session, and loaders return raw rows:
who may see them is decided by `domain.access.can_see_order` and the schema guards.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.dataloader import DataLoader

from db.models import Order
from resolvers.context import RequestContext
from resolvers.loaders.core import BatchLoaders


class CommerceLoaders(BatchLoaders):
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(sessionmaker)
        self.order: DataLoader[int, Order | None] = self._by_id(Order)


def commerce_loaders(ctx: RequestContext) -> CommerceLoaders:
    return ctx.loader_set(CommerceLoaders)
