"""The `catalog` query: what the program sells, at which list prices, with which quantity
tiers, and (for a partner's members) the partner discounts."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from domain.pricing import Catalog as CatalogData
from domain.pricing import ProductSpec
from resolvers.commerce.inputs import CATALOG
from schema.base import Money, ProductFamily, ProductKind
from schema.context import Info


@strawberry.type(description="A product kind of the catalog and its list prices.")
class CatalogProduct:
    product_kind: ProductKind = strawberry.field(description="The kind to order or quote.")
    kind: str = strawberry.field(
        description="The kind as a string, e.g. web_hosting.",
        deprecation_reason="Use `productKind`, the same kind as a ProductKind value.",
    )
    family: ProductFamily = strawberry.field(description="Its family.")
    list_prices: list[Money] = strawberry.field(
        description="Its list price per unit and month, in each currency it is sold in."
    )
    domain_extension: str | None = strawberry.field(
        description="For a domain name, its extension (e.g. .ch); null otherwise."
    )

    @classmethod
    def of(cls, spec: ProductSpec) -> CatalogProduct:
        extension = None
        if spec.family == ProductFamily.DOMAINS and spec.kind.startswith("domain_"):
            extension = "." + spec.kind.removeprefix("domain_")
        return cls(
            product_kind=ProductKind(spec.kind),
            kind=spec.kind,
            family=ProductFamily(spec.family),
            list_prices=[Money(amount=p, currency=c) for c, p in spec.list_prices.items()],
            domain_extension=extension,
        )


@strawberry.type(description="From `minQuantity` units on, the decreasing rate is `rate`.")
class QuantityTier:
    min_quantity: int = strawberry.field(description="The first quantity of the tier.")
    rate: Decimal = strawberry.field(description="The decreasing rate, a decimal fraction.")


@strawberry.type(description="A product family: its quantity tiers and partner discount.")
class CatalogFamily:
    family: ProductFamily = strawberry.field(description="The family.")
    quantity_tiers: list[QuantityTier] = strawberry.field(
        description="The decreasing rates by quantity; empty when the family has none."
    )
    partner_discount: Decimal | None = strawberry.field(
        description="The partner discount, a decimal fraction: for members of a partner "
        "only (null otherwise)."
    )


@strawberry.type(description="What the program sells and at which prices.")
class Catalog:
    products: list[CatalogProduct] = strawberry.field(
        description="Every product kind, domain names once per extension."
    )
    families: list[CatalogFamily] = strawberry.field(description="Every product family.")
    max_quantity: int = strawberry.field(description="The most units one order line takes.")

    @classmethod
    def of(cls, catalog: CatalogData, *, partner: bool) -> Catalog:
        families = sorted({spec.family for spec in catalog.products.values()})
        return cls(
            products=[CatalogProduct.of(spec) for spec in catalog.products.values()],
            families=[
                CatalogFamily(
                    family=ProductFamily(family),
                    quantity_tiers=[
                        QuantityTier(min_quantity=t.min_quantity, rate=t.rate)
                        for t in catalog.quantity_tiers.get(family, ())
                    ],
                    partner_discount=catalog.partner_discount(family) if partner else None,
                )
                for family in families
            ],
            max_quantity=catalog.max_quantity,
        )


@strawberry.type
class CatalogQueries:
    @strawberry.field(
        description="The catalog: product kinds and families, list prices per currency, "
        "quantity tiers, and the partner discounts when the viewer is a partner's member. "
        "No login needed."
    )
    async def catalog(self, info: Info) -> Catalog:
        viewer = info.context.viewer
        loaders = info.context.loaders
        partners = await loaders.partner_by_organization.load_many(sorted(viewer.memberships))
        return Catalog.of(CATALOG, partner=any(p is not None for p in partners))
