"""Products, which always live in the client organization."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import ClassVar

import strawberry
from strawberry import relay

from db import models
from domain.access import can_see_product
from schema.base import ProductFamily, ProductKind, ProductStatus, RowReader, enum_of
from schema.context import Info
from schema.types.loading import _load_visible

_family = enum_of(ProductFamily)


@strawberry.type(description="A product; it always lives in the client organization.")
class Product(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="The product's name, e.g. a domain.")
    kind: str = strawberry.field(
        description="The catalog kind, e.g. web_hosting.",
        deprecation_reason="Use `productKind`, the same kind as a ProductKind value.",
    )
    family: ProductFamily = strawberry.field(description="The product family.")
    quantity: int = strawberry.field(description="Units of the product.")
    status: ProductStatus = strawberry.field(description="Active, expired or cancelled.")
    renews_at: datetime | None = strawberry.field(description="Next renewal, if any.")
    organization_id: strawberry.Private[int]

    # A page makes these by the thousand; the executor may read them from the rows.
    of: ClassVar[RowReader[Product]] = RowReader(
        id="id",
        name="name",
        kind="kind",
        family=lambda row: _family(row.family),
        quantity="quantity",
        status="status",
        renews_at="renews_at",
        organization_id="organization_id",
    )

    @strawberry.field(description="What the product is, as the catalog names it.")
    def product_kind(self) -> ProductKind:
        return ProductKind(self.kind)

    @strawberry.field(description="The name of the organization that owns the product.")
    async def organization_name(self, info: Info) -> str:
        org = await info.context.loaders.organization.load(self.organization_id)
        return org.name if org else ""

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Product | None]:
        async def visible(info: Info, row: models.Product) -> Product | None:
            grants = await info.context.loaders.live_grants_on_client.load(row.organization_id)
            if can_see_product(info.context.viewer, row.organization_id, row.id, grants):
                return cls.of(row)
            return None

        return await _load_visible(info, info.context.loaders.product, node_ids, visible)
