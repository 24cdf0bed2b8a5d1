"""Per-request DataLoaders for orders, made per request by `RequestContext.loader_set`.

Like `resolvers.loaders`, each batch runs on the request's session, and loaders return raw rows:
who may see them is decided by `domain.access.can_see_order` and the schema guards.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from db.models import Order, OrderLine
from db.session import RequestSession
from resolvers.context import RequestContext
from resolvers.loaders.core import BatchLoaders


class CommerceLoaders(BatchLoaders):
    def __init__(self, db: RequestSession) -> None:
        super().__init__(db)
        self.order: DataLoader[int, Order | None] = self._by_id(Order)
        self.order_lines: DataLoader[int, list[OrderLine]] = self._loader(self._order_lines)

    async def _order_lines(
        self, session: AsyncSession, order_ids: Sequence[int]
    ) -> list[list[OrderLine]]:
        grouped: dict[int, list[OrderLine]] = defaultdict(list)
        for line in await session.scalars(
            select(OrderLine).where(OrderLine.order_id.in_(order_ids)).order_by(OrderLine.position)
        ):
            grouped[line.order_id].append(line)
        return [grouped.get(i, []) for i in order_ids]


def commerce_loaders(ctx: RequestContext) -> CommerceLoaders:
    return ctx.loader_set(CommerceLoaders)
