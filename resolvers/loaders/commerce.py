"""Per-request DataLoaders for orders, made per request by `RequestContext.loader_set`.

Like `resolvers.loaders`, each batch runs on the request's session, and loaders return raw rows:
who may see them is decided by `domain.access.can_see_order` and the schema guards.
"""

from __future__ import annotations

from strawberry.dataloader import DataLoader

from db.models import Order
from db.session import RequestSession
from resolvers.context import RequestContext
from resolvers.loaders.core import BatchLoaders


class CommerceLoaders(BatchLoaders):
    def __init__(self, db: RequestSession) -> None:
        super().__init__(db)
        self.order: DataLoader[int, Order | None] = self._by_id(Order)


def commerce_loaders(ctx: RequestContext) -> CommerceLoaders:
    return ctx.loader_set(CommerceLoaders)
