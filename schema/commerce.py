"""Commerce in the graph: `placeOrder` / `renewProduct`, the Order node and its lines
(the `quote` query and the basket inputs live in `schema.quotes`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

import strawberry
from strawberry import relay

from db import models
from db.models import OrderKind
from domain.access import can_read_invoice, can_see_order, has_billing_rights
from resolvers import commerce as use_cases
from resolvers.loaders.commerce import commerce_loaders
from schema.base import Currency, Money, ProductFamily, ProductKind, Side, UserError, mutate
from schema.context import Info
from schema.ids import decode_id, primary_keys
from schema.permissions import Forbidden, IsAuthenticated
from schema.quotes import FIRST_LINE, LEGACY_INPUT, OrderLineInput, _Basket, basket_lines
from schema.quotes import client_ref as _client
from schema.quotes import money as _money
from schema.quotes import rate as _rate
from schema.types import Invoice, Product

strawberry.enum(OrderKind, description="A new product (ORDER) or one more period (RENEWAL).")


# -- the Order node -------------------------------------------------------------------------


class ReadsOrderInvoice(Forbidden):
    """An order's amounts and invoice: the paying organization's billing members only."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return can_read_invoice(info.context.viewer, source.row.payer_id)


class ReadsOrderCashback(Forbidden):
    """The cashback an order earns: the billing members of the partner credited."""

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if source.row.partner_id is None:
            return False
        partner = await info.context.loaders.partner.load(source.row.partner_id)
        return partner is not None and has_billing_rights(
            info.context.viewer, partner.organization_id
        )


@strawberry.type(description="An order's prices as invoiced (paying organization only).")
class OrderAmounts:
    list_total: Money = strawberry.field(description="The lines' list totals, summed.")
    decreasing_rate: Decimal = strawberry.field(
        description="The first line's volume rate.", deprecation_reason=FIRST_LINE
    )
    public_price: Money = strawberry.field(description="List total after the decreasing rate.")
    partner_discount_rate: Decimal = strawberry.field(
        description="The first line's family discount.", deprecation_reason=FIRST_LINE
    )
    partner_discount_applied: bool = strawberry.field(
        description="True when the partner price was paid."
    )
    partner_price: Money = strawberry.field(description="The partner price.")
    amount_due: Money = strawberry.field(description="What was invoiced.")


@strawberry.type(
    description="An order or a renewal. Seen by the client's members, the paying "
    "organization's billing members, and the partner's members acting for the client; "
    "amounts and the invoice only by the paying organization's billing members."
)
class Order(relay.Node):
    id: relay.NodeID[int]
    kind: OrderKind = strawberry.field(description="ORDER or RENEWAL.")
    product_kind: str = strawberry.field(
        description="The first line's catalog kind.", deprecation_reason=FIRST_LINE
    )
    product_family: str = strawberry.field(
        description="The first line's product family.", deprecation_reason=FIRST_LINE
    )
    quantity: int = strawberry.field(
        description="The first line's units, for one month.", deprecation_reason=FIRST_LINE
    )
    currency: Currency = strawberry.field(description="The order's currency (the client's).")
    created_at: datetime = strawberry.field(description="When it was placed.")
    ordered_by: Side = strawberry.field(description="The client itself, or its partner.")
    payer: Side = strawberry.field(description="Who pays: the client or the partner.")
    row: strawberry.Private[models.Order]

    @classmethod
    def of(cls, row: models.Order) -> Order:
        return cls(
            id=row.id,
            kind=row.kind,
            product_kind=row.product_kind,
            product_family=row.product_family,
            quantity=row.quantity,
            currency=row.currency,
            created_at=row.created_at,
            ordered_by=row.orderer_side,
            payer=row.payer_side,
            row=row,
        )

    @strawberry.field(description="The client organization's name.")
    async def client_name(self, info: Info) -> str:
        org = await info.context.loaders.organization.load(self.row.client_id)
        return org.name if org else ""

    @strawberry.field(
        description="The first line's product, if the viewer sees it.",
        deprecation_reason=FIRST_LINE,
    )
    async def product(self, info: Info) -> Product | None:
        return await _visible_product(info, self.row.product_id)

    @strawberry.field(description="Its lines: one product each (a renewal has one).")
    async def lines(self, info: Info) -> list[OrderLine]:
        rows = await commerce_loaders(info.context).order_lines.load(self.row.id)
        return [OrderLine(row=row, order=self.row) for row in rows]

    @strawberry.field(
        description="The prices as invoiced; the paying organization's billing members only.",
        permission_classes=[ReadsOrderInvoice],
    )
    def amounts(self) -> OrderAmounts | None:
        row, currency = self.row, self.row.currency
        return OrderAmounts(
            list_total=_money(row.list_total, currency),
            decreasing_rate=_rate(row.decreasing_rate),
            public_price=_money(row.public_price, currency),
            partner_discount_rate=_rate(row.partner_discount_rate),
            partner_discount_applied=row.partner_discount_applied,
            partner_price=_money(row.partner_price, currency),
            amount_due=_money(row.amount_due, currency),
        )

    @strawberry.field(
        description="The invoice; the paying organization's billing members only.",
        permission_classes=[ReadsOrderInvoice],
    )
    async def invoice(self, info: Info) -> Invoice | None:
        row = await info.context.loaders.invoice.load(self.row.invoice_id)
        return Invoice.of(row) if row is not None else None

    @strawberry.field(
        description="The cashback credited to the partner for this order (zero when none); "
        "the partner's billing members only.",
        permission_classes=[ReadsOrderCashback],
    )
    def cashback(self) -> Money | None:
        amount = self.row.cashback if self.row.cashback_due else Decimal("0")
        return _money(amount, self.row.currency)

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Order | None]:
        ids = primary_keys(node_ids)
        rows = await commerce_loaders(info.context).order.load_many(
            [i for i in ids if i is not None]
        )
        by_id = {row.id: row for row in rows if row is not None}
        result: list[Order | None] = []
        for i in ids:
            row = by_id.get(i) if i is not None else None
            if row is not None and await _visible(info, row):
                result.append(cls.of(row))
            else:
                result.append(None)
        return result


async def _visible_product(info: Info, product_id: int | None) -> Product | None:
    if product_id is None:
        return None
    found = await Product.resolve_nodes(info=info, node_ids=[str(product_id)])
    return next(iter(found), None)


class ReadsOrderLineAmounts(Forbidden):
    """A line's amounts: the paying organization's billing members only."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return can_read_invoice(info.context.viewer, source.order.payer_id)


@strawberry.type(description="A line's prices as invoiced (paying organization only).")
class OrderLineAmounts:
    list_total: Money = strawberry.field(description="Unit list price x quantity.")
    decreasing_rate: Decimal = strawberry.field(description="The volume rate applied.")
    public_price: Money = strawberry.field(description="List total after the decreasing rate.")
    partner_discount_rate: Decimal = strawberry.field(description="The family's discount.")
    partner_price: Money = strawberry.field(description="The partner price.")
    amount_due: Money = strawberry.field(description="What was invoiced for the line.")


@strawberry.type(description="One product of an order, as ordered or renewed.")
class OrderLine:
    row: strawberry.Private[models.OrderLine]
    order: strawberry.Private[models.Order]

    @strawberry.field(description="The kind ordered.")
    def product_kind(self) -> ProductKind:
        return ProductKind(self.row.product_kind)

    @strawberry.field(description="Its family.")
    def product_family(self) -> ProductFamily:
        return ProductFamily(self.row.product_family)

    @strawberry.field(description="Units, for one month.")
    def quantity(self) -> int:
        return self.row.quantity

    @strawberry.field(description="The product installed or renewed, if the viewer sees it.")
    async def product(self, info: Info) -> Product | None:
        return await _visible_product(info, self.row.product_id)

    @strawberry.field(
        description="The line's prices as invoiced; the paying organization's billing "
        "members only.",
        permission_classes=[ReadsOrderLineAmounts],
    )
    def amounts(self) -> OrderLineAmounts | None:
        row, currency = self.row, self.order.currency
        return OrderLineAmounts(
            list_total=_money(row.list_total, currency),
            decreasing_rate=_rate(row.decreasing_rate),
            public_price=_money(row.public_price, currency),
            partner_discount_rate=_rate(row.partner_discount_rate),
            partner_price=_money(row.partner_price, currency),
            amount_due=_money(row.amount_due, currency),
        )


async def _visible(info: Info, row: models.Order) -> bool:
    grants = await info.context.loaders.live_grants_on_client.load(row.client_id)
    return can_see_order(info.context.viewer, row.client_id, row.payer_id, row.product_id, grants)


# -- mutations ------------------------------------------------------------------------------


@strawberry.input(
    description="Order new products, installed in the client organization: one order, one invoice."
)
class PlaceOrderInput(_Basket):
    lines: list[OrderLineInput] | None = strawberry.field(
        default=None, description="1 to 50 lines (or the deprecated `productKind`)."
    )
    product_name: str | None = strawberry.field(
        default=None,
        description="A name for the product of `productKind` (default: its kind).",
        deprecation_reason=LEGACY_INPUT,
    )
    payer: Side | None = strawberry.field(
        default=None,
        description="Who you expect to pay; refused (PAYER_NOT_ALLOWED) if the grant says "
        "otherwise.",
    )
    expected_amount_due: str | None = strawberry.field(
        default=None,
        description="The amount due you were quoted, two decimals at most; refused "
        "(AMOUNT_MISMATCH) if the price is not that.",
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Your key for this order: a retry with the same key returns the same "
        "order instead of ordering twice.",
        deprecation_reason="Send the Idempotency-Key header, which every mutation takes.",
    )


@strawberry.input(description="Renew a product for one more month.")
class RenewProductInput:
    organization_id: relay.GlobalID = strawberry.field(
        description="The acting organization: the client itself, or its partner."
    )
    product_id: relay.GlobalID = strawberry.field(description="The product to renew.")
    quantity: int | None = strawberry.field(
        default=None, description="New number of units (default: unchanged)."
    )
    payer: Side | None = strawberry.field(
        default=None, description="Who you expect to pay (see PlaceOrderInput)."
    )
    expected_amount_due: str | None = strawberry.field(
        default=None, description="The amount due you were quoted (see PlaceOrderInput)."
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Your key for this renewal (see PlaceOrderInput).",
        deprecation_reason="Send the Idempotency-Key header, which every mutation takes.",
    )


@strawberry.type(description="The order placed, or why nothing happened.")
class OrderPayload:
    user_errors: list[UserError] = strawberry.field(description="Why nothing happened.")
    order: Order | None = strawberry.field(default=None, description="The order.")
    invoice: Invoice | None = strawberry.field(
        default=None,
        description="Its invoice, when the viewer may read it (a billing member of the "
        "paying organization); null otherwise.",
    )
    replayed: bool = strawberry.field(
        default=False,
        description="True when an earlier call with the same idempotency key placed it.",
    )


async def _run(info: Info, action: Callable[[], Awaitable[use_cases.OrderResult]]) -> OrderPayload:
    async def run() -> dict[str, object]:
        result = await action()
        readable = can_read_invoice(info.context.viewer, result.invoice.organization_id)
        return {
            "order": Order.of(result.order),
            "invoice": Invoice.of(result.invoice) if readable else None,
            "replayed": result.replayed,
        }

    return await mutate(OrderPayload, run)


@strawberry.type
class CommerceMutations:
    @strawberry.mutation(
        description="Order new products for a client (the client itself, or its partner "
        "under an active FULL grant): one order of 1 to 50 lines. The payer follows the "
        "grant; one invoice in the paying organization.",
        permission_classes=[IsAuthenticated],
    )
    async def place_order(self, info: Info, input: PlaceOrderInput) -> OrderPayload:
        return await _run(
            info,
            lambda: use_cases.place_order(
                info.context,
                organization_id=decode_id(input.organization_id, "Organization", "organizationId"),
                client=_client(input.client_id),
                lines=basket_lines(input),
                currency=input.currency,
                payer=input.payer,
                expected_amount_due=input.expected_amount_due,
                idempotency_key=input.idempotency_key,
            ),
        )

    @strawberry.mutation(
        description="Renew a product for one more month (the client, or its partner under "
        "an active FULL grant). The payer follows the grant.",
        permission_classes=[IsAuthenticated],
    )
    async def renew_product(self, info: Info, input: RenewProductInput) -> OrderPayload:
        return await _run(
            info,
            lambda: use_cases.renew_product(
                info.context,
                organization_id=decode_id(input.organization_id, "Organization", "organizationId"),
                product_id=decode_id(input.product_id, "Product", "productId"),
                quantity=input.quantity,
                payer=input.payer,
                expected_amount_due=input.expected_amount_due,
                idempotency_key=input.idempotency_key,
            ),
        )
