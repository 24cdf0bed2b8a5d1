"""Commerce in the graph: the `quote` query, `placeOrder` / `renewProduct`, the Order node."""

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
from domain.money import Money as DomainMoney
from domain.money import round_cents
from resolvers import commerce as use_cases
from resolvers.loaders.commerce import commerce_loaders
from schema.base import Currency, Money, Side, UserError, mutate
from schema.context import Info
from schema.ids import decode_id, primary_keys
from schema.permissions import Forbidden, IsAuthenticated
from schema.types import Invoice, Product

strawberry.enum(OrderKind, description="A new product (ORDER) or one more period (RENEWAL).")


def _rate(value: Decimal) -> Decimal:
    """A rate as a decimal string with at least two decimals: 0.25, 0.20, 0.00, 0.125."""
    rate = Decimal(value)
    cents = rate.quantize(Decimal("0.01"))
    return cents if cents == rate else rate.normalize()


def _money(amount: Decimal, currency: Currency) -> Money:
    return Money(amount=round_cents(Decimal(amount)), currency=currency)


def _of(value: DomainMoney) -> Money:
    return _money(value.amount, value.currency)


# -- quote ----------------------------------------------------------------------------------


@strawberry.type(
    description="A price, step by step (SPEC 'Prices, discounts and cashback'), and who "
    "would pay. Public price = list total x (1 - decreasing rate); partner price = list "
    "total x (1 - partner discount) x (1 - decreasing rate); cashback = public - partner."
)
class Quote:
    product_kind: str = strawberry.field(description="The catalog kind, e.g. web_hosting.")
    product_family: str = strawberry.field(description="Its family, e.g. WEB_HOSTING.")
    quantity: int = strawberry.field(description="Units, for one month.")
    currency: Currency = strawberry.field(description="The client organization's currency.")
    unit_list_price: Money = strawberry.field(description="List price of one unit per month.")
    list_total: Money = strawberry.field(description="Unit list price x quantity.")
    decreasing_rate: Decimal = strawberry.field(
        description="The volume rate for this quantity, a decimal fraction (0.25 = 25 %)."
    )
    public_price: Money = strawberry.field(description="List total after the decreasing rate.")
    partner_discount_rate: Decimal = strawberry.field(
        description="The partner discount of the product family, a decimal fraction."
    )
    after_partner_discount: Money = strawberry.field(
        description="List total after the partner discount only (an intermediate step)."
    )
    partner_price: Money = strawberry.field(
        description="After the partner discount, then the decreasing rate."
    )
    cashback: Money = strawberry.field(description="Public price - partner price.")
    partner_discount_applies: bool = strawberry.field(
        description="True when the partner price is paid (a partner paying for its client)."
    )
    amount_due: Money = strawberry.field(description="What the payer would pay.")
    orderer: Side = strawberry.field(description="Who would order: the client or the partner.")
    payer: Side = strawberry.field(description="Who would pay, per the grant.")
    partner_earns_cashback: bool = strawberry.field(
        description="True when the partner would be credited `cashbackDue`."
    )
    cashback_due: Money = strawberry.field(
        description="The cashback the partner would be credited (zero when none)."
    )

    @classmethod
    def of(cls, priced: use_cases.PricedOrder) -> Quote:
        q = priced.quote
        return cls(
            product_kind=q.kind,
            product_family=q.family,
            quantity=q.quantity,
            currency=q.currency,
            unit_list_price=_of(q.unit_list_price),
            list_total=_of(q.list_total),
            decreasing_rate=_rate(q.decreasing_rate),
            public_price=_of(q.public_price),
            partner_discount_rate=_rate(q.partner_discount_rate),
            after_partner_discount=_of(q.after_partner_discount),
            partner_price=_of(q.partner_price),
            cashback=_of(q.cashback),
            partner_discount_applies=q.partner_discount_applies,
            amount_due=_of(q.amount_due),
            orderer=priced.orderer,
            payer=priced.payer,
            partner_earns_cashback=priced.earns_cashback,
            cashback_due=_of(priced.cashback_due),
        )


def _client(value: relay.GlobalID | None) -> use_cases.ClientRef | None:
    """A client by its Client ID (a partner's view) or its Organization ID."""
    if value is None:
        return None
    if value.type_name == "Client":
        return use_cases.ClientRef(grant_id=decode_id(value, "Client", "clientId"))
    return use_cases.ClientRef(organization_id=decode_id(value, "Organization", "clientId"))


@strawberry.input(description="The fields a quote and an order share.")
class _Basket:
    organization_id: relay.GlobalID = strawberry.field(
        description="The acting organization: the client itself, or the partner."
    )
    client_id: relay.GlobalID | None = strawberry.field(
        default=None,
        description="The client (a Client or an Organization ID); default: the acting "
        "organization orders for itself.",
    )
    product_kind: str = strawberry.field(description="A catalog kind, e.g. web_hosting.")
    quantity: int = strawberry.field(description="Units, 1 to the catalog maximum.")
    currency: str | None = strawberry.field(
        default=None, description="CHF or EUR; default and only accepted: the client's."
    )


@strawberry.input(description="A basket to price for an acting organization.")
class QuoteInput(_Basket):
    pass


@strawberry.type(description="A quote, or why there is none.")
class QuotePayload:
    user_errors: list[UserError] = strawberry.field(description="Why there is no quote.")
    quote: Quote | None = strawberry.field(default=None, description="The quote.")


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
    list_total: Money = strawberry.field(description="Unit list price x quantity.")
    decreasing_rate: Decimal = strawberry.field(description="The volume rate applied.")
    public_price: Money = strawberry.field(description="List total after the decreasing rate.")
    partner_discount_rate: Decimal = strawberry.field(description="The family's discount.")
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
    product_kind: str = strawberry.field(description="The catalog kind.")
    product_family: str = strawberry.field(description="The product family.")
    quantity: int = strawberry.field(description="Units ordered, for one month.")
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

    @strawberry.field(description="The product installed or renewed, if the viewer sees it.")
    async def product(self, info: Info) -> Product | None:
        if self.row.product_id is None:
            return None
        found = await Product.resolve_nodes(info=info, node_ids=[str(self.row.product_id)])
        return next(iter(found), None)

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


async def _visible(info: Info, row: models.Order) -> bool:
    grants = await info.context.loaders.live_grants_on_client.load(row.client_id)
    return can_see_order(info.context.viewer, row.client_id, row.payer_id, row.product_id, grants)


# -- mutations ------------------------------------------------------------------------------


@strawberry.input(description="Order a new product, installed in the client organization.")
class PlaceOrderInput(_Basket):
    product_name: str | None = strawberry.field(
        default=None, description="A name for the new product (default: its kind)."
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
class CommerceQueries:
    @strawberry.field(
        description="Price a basket for an acting organization, every step shown, and who "
        "would pay. Writes nothing.",
        permission_classes=[IsAuthenticated],
    )
    async def quote(self, info: Info, input: QuoteInput) -> QuotePayload:
        async def run() -> dict[str, object]:
            priced = await use_cases.quote(
                info.context,
                organization_id=decode_id(input.organization_id, "Organization", "organizationId"),
                client=_client(input.client_id),
                kind=input.product_kind,
                quantity=input.quantity,
                currency=input.currency,
            )
            return {"quote": Quote.of(priced)}

        return await mutate(QuotePayload, run)


@strawberry.type
class CommerceMutations:
    @strawberry.mutation(
        description="Order a new product for a client (the client itself, or its partner "
        "under an active FULL grant). The payer follows the grant; one invoice in the "
        "paying organization.",
        permission_classes=[IsAuthenticated],
    )
    async def place_order(self, info: Info, input: PlaceOrderInput) -> OrderPayload:
        return await _run(
            info,
            lambda: use_cases.place_order(
                info.context,
                organization_id=decode_id(input.organization_id, "Organization", "organizationId"),
                client=_client(input.client_id),
                kind=input.product_kind,
                quantity=input.quantity,
                currency=input.currency,
                product_name=input.product_name,
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
