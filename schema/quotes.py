"""Baskets in the graph: the `quote` query and the inputs `quote` and `placeOrder` share.

A basket is 1 to 50 lines (`lines`), priced line by line and in total. The single-product
fields of the first API (`productKind: String`, `quantity`, `productName`) still work,
deprecated: they are a basket of one line.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import strawberry
from strawberry import relay

from domain import pricing
from domain.error_codes import ErrorCode
from domain.money import Money as DomainMoney
from domain.money import round_cents
from resolvers import commerce as use_cases
from resolvers.commerce.inputs import BasketLine
from resolvers.errors import UseCaseError
from schema.base import Currency, Money, ProductFamily, ProductKind, Side, UserError, mutate
from schema.context import Info
from schema.ids import decode_id
from schema.permissions import IsAuthenticated

FIRST_LINE = "Use `lines`: this is the first line's."
LEGACY_INPUT = "Use `lines`: this field is a basket of one line."


def rate(value: Decimal) -> Decimal:
    """A rate as a decimal string with at least two decimals: 0.25, 0.20, 0.00, 0.125."""
    exact = Decimal(value)
    cents = exact.quantize(Decimal("0.01"))
    return cents if cents == exact else exact.normalize()


def money(amount: Decimal, currency: Currency) -> Money:
    return Money(amount=round_cents(Decimal(amount)), currency=currency)


def _of(value: DomainMoney) -> Money:
    return money(value.amount, value.currency)


@strawberry.type(description="One line of a quote: a product kind and quantity, every step.")
class QuoteLine:
    product_kind: ProductKind = strawberry.field(description="The kind priced.")
    product_family: ProductFamily = strawberry.field(description="Its family.")
    quantity: int = strawberry.field(description="Units, for one month.")
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
    amount_due: Money = strawberry.field(description="What the payer would pay for the line.")

    @classmethod
    def of(cls, q: pricing.Quote) -> QuoteLine:
        return cls(
            product_kind=ProductKind(q.kind),
            product_family=ProductFamily(q.family),
            quantity=q.quantity,
            unit_list_price=_of(q.unit_list_price),
            list_total=_of(q.list_total),
            decreasing_rate=rate(q.decreasing_rate),
            public_price=_of(q.public_price),
            partner_discount_rate=rate(q.partner_discount_rate),
            after_partner_discount=_of(q.after_partner_discount),
            partner_price=_of(q.partner_price),
            cashback=_of(q.cashback),
            amount_due=_of(q.amount_due),
        )


@strawberry.type(
    description="A basket's price, line by line and in total (SPEC 'Prices, discounts and "
    "cashback'), and who would pay. Per line: public price = list total x (1 - decreasing "
    "rate); partner price = list total x (1 - partner discount) x (1 - decreasing rate); "
    "cashback = public - partner. The totals are the sums of the lines."
)
class Quote:
    lines: list[QuoteLine] = strawberry.field(description="Each line, every step shown.")
    currency: Currency = strawberry.field(description="The client organization's currency.")
    list_total: Money = strawberry.field(description="The lines' list totals, summed.")
    public_price: Money = strawberry.field(description="The lines' public prices, summed.")
    after_partner_discount: Money = strawberry.field(
        description="The lines' list totals after the partner discount only, summed."
    )
    partner_price: Money = strawberry.field(description="The lines' partner prices, summed.")
    cashback: Money = strawberry.field(description="Public price - partner price.")
    partner_discount_applies: bool = strawberry.field(
        description="True when the partner price is paid (a partner paying for its client)."
    )
    amount_due: Money = strawberry.field(description="What the payer would pay in all.")
    orderer: Side = strawberry.field(description="Who would order: the client or the partner.")
    payer: Side = strawberry.field(description="Who would pay, per the grant.")
    partner_earns_cashback: bool = strawberry.field(
        description="True when the partner would be credited `cashbackDue`."
    )
    cashback_due: Money = strawberry.field(
        description="The cashback the partner would be credited (zero when none)."
    )
    product_kind: str = strawberry.field(
        description="The first line's catalog kind, e.g. web_hosting.",
        deprecation_reason=FIRST_LINE,
    )
    product_family: str = strawberry.field(
        description="The first line's family, e.g. WEB_HOSTING.", deprecation_reason=FIRST_LINE
    )
    quantity: int = strawberry.field(
        description="The first line's units.", deprecation_reason=FIRST_LINE
    )
    unit_list_price: Money = strawberry.field(
        description="The first line's unit list price.", deprecation_reason=FIRST_LINE
    )
    decreasing_rate: Decimal = strawberry.field(
        description="The first line's volume rate.", deprecation_reason=FIRST_LINE
    )
    partner_discount_rate: Decimal = strawberry.field(
        description="The first line's partner discount.", deprecation_reason=FIRST_LINE
    )

    @classmethod
    def of(cls, priced: use_cases.PricedOrder) -> Quote:
        basket, first = priced.basket, priced.basket.first
        return cls(
            lines=[QuoteLine.of(q) for q in basket.lines],
            currency=basket.currency,
            list_total=_of(basket.list_total),
            public_price=_of(basket.public_price),
            after_partner_discount=_of(basket.after_partner_discount),
            partner_price=_of(basket.partner_price),
            cashback=_of(basket.cashback),
            partner_discount_applies=basket.partner_discount_applies,
            amount_due=_of(basket.amount_due),
            orderer=priced.orderer,
            payer=priced.payer,
            partner_earns_cashback=priced.earns_cashback,
            cashback_due=_of(priced.cashback_due),
            product_kind=first.kind,
            product_family=first.family,
            quantity=first.quantity,
            unit_list_price=_of(first.unit_list_price),
            decreasing_rate=rate(first.decreasing_rate),
            partner_discount_rate=rate(first.partner_discount_rate),
        )


def client_ref(value: relay.GlobalID | None) -> use_cases.ClientRef | None:
    """A client by its Client ID (a partner's view) or its Organization ID."""
    if value is None:
        return None
    if value.type_name == "Client":
        return use_cases.ClientRef(grant_id=decode_id(value, "Client", "clientId"))
    return use_cases.ClientRef(organization_id=decode_id(value, "Organization", "clientId"))


@strawberry.input(description="One line of a basket to quote.")
class QuoteLineInput:
    product_kind: ProductKind = strawberry.field(description="What to price.")
    quantity: int = strawberry.field(description="Units, 1 to the catalog's `maxQuantity`.")


@strawberry.input(description="One line of an order: a new product.")
class OrderLineInput:
    product_kind: ProductKind = strawberry.field(description="What to order.")
    quantity: int = strawberry.field(description="Units, 1 to the catalog's `maxQuantity`.")
    product_name: str | None = strawberry.field(
        default=None, description="A name for the new product (default: its kind)."
    )


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
    currency: Currency | None = strawberry.field(
        default=None, description="Default and only accepted: the client's currency."
    )
    product_kind: str | None = strawberry.field(
        default=None,
        description="A catalog kind, e.g. web_hosting: a basket of one line.",
        deprecation_reason=LEGACY_INPUT,
    )
    quantity: int | None = strawberry.field(
        default=None,
        description="The units of `productKind`.",
        deprecation_reason=LEGACY_INPUT,
    )


def basket_lines(input: Any) -> list[BasketLine]:
    """The lines of a QuoteInput or PlaceOrderInput: `lines`, or the deprecated fields."""
    legacy = input.product_kind is not None or input.quantity is not None
    name = getattr(input, "product_name", None)
    if input.lines is not None and (legacy or name is not None):
        raise UseCaseError(
            ErrorCode.INVALID_BASKET,
            "Give `lines`, or the deprecated `productKind` and `quantity`, not both.",
            "lines",
        )
    if input.lines is None:
        if input.product_kind is None or input.quantity is None:
            raise UseCaseError(ErrorCode.INVALID_BASKET, "Give the basket's `lines`.", "lines")
        return [BasketLine(input.product_kind, input.quantity, name)]
    return [
        BasketLine(
            line.product_kind.value,
            line.quantity,
            getattr(line, "product_name", None),
            f"lines.{index}.",
        )
        for index, line in enumerate(input.lines)
    ]


@strawberry.input(description="A basket to price for an acting organization.")
class QuoteInput(_Basket):
    lines: list[QuoteLineInput] | None = strawberry.field(
        default=None, description="1 to 50 lines (or the deprecated `productKind`)."
    )


@strawberry.type(description="A quote, or why there is none.")
class QuotePayload:
    user_errors: list[UserError] = strawberry.field(description="Why there is no quote.")
    quote: Quote | None = strawberry.field(default=None, description="The quote.")


@strawberry.type
class QuoteQueries:
    @strawberry.field(
        description="Price a basket for an acting organization, line by line and in total, "
        "every step shown, and who would pay. Writes nothing.",
        permission_classes=[IsAuthenticated],
    )
    async def quote(self, info: Info, input: QuoteInput) -> QuotePayload:
        async def run() -> dict[str, object]:
            priced = await use_cases.quote(
                info.context,
                organization_id=decode_id(input.organization_id, "Organization", "organizationId"),
                client=client_ref(input.client_id),
                lines=basket_lines(input),
                currency=input.currency,
            )
            return {"quote": Quote.of(priced)}

        return await mutate(QuotePayload, run)
