"""Pricing an order: every price step, who pays, what the partner earns; and the `quote`
use case (SPEC "Prices, discounts and cashback").

Decisions where SPEC is silent:
- An order is priced and invoiced in the client organization's currency, also when the
  partner pays; an explicit `currency` that differs is refused (CURRENCY_MISMATCH).
- Cashback is due only when the settlement earns it and it is above zero.
- A basket's lines share one settlement: who orders, who pays and whether the partner
  earns cashback depend on the grant, not on the line (a new product is never one the
  partner manages under a LIMITED grant).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from domain import pricing
from domain.baskets import BasketLineError, BasketQuote, quote_basket
from domain.enums import Side
from domain.money import Currency, Money
from resolvers.commerce.codes import (
    AMOUNT_MISMATCH,
    CURRENCY_MISMATCH,
    PAYER_NOT_ALLOWED,
    _from_pricing,
)
from resolvers.commerce.inputs import CATALOG, BasketLine, ClientRef, validate_basket
from resolvers.commerce.parties import Parties, resolve_parties
from resolvers.context import RequestContext
from resolvers.errors import UNAUTHENTICATED, UseCaseError


@dataclass(frozen=True)
class PricedOrder:
    """A basket's quote with its settlement: every step of every line and the totals, who
    pays, what the partner earns."""

    basket: BasketQuote
    settlement: pricing.Settlement
    client_id: int
    orderer: Side
    payer: Side
    payer_organization_id: int
    partner_id: int | None
    partner_organization_id: int | None
    cashback_due: Money

    @property
    def earns_cashback(self) -> bool:
        return self.cashback_due.amount > 0

    @property
    def lines(self) -> tuple[pricing.Quote, ...]:
        return self.basket.lines


def price(
    parties: Parties,
    lines: Sequence[BasketLine],
    currency: Currency | None,
    *,
    product_id: int | None = None,
) -> PricedOrder:
    client = parties.client
    if currency is not None and currency is not client.currency:
        raise UseCaseError(
            CURRENCY_MISMATCH,
            f"The client organization buys in {client.currency}; orders are in its currency.",
            "currency",
        )
    grant = parties.grant
    facts = grant.facts if grant is not None else None
    managed = facts is not None and product_id is not None and product_id in facts.product_ids
    try:
        settled = pricing.settlement(
            facts.level.value if facts is not None and facts.level is not None else None,
            facts.payment_methods.value
            if facts is not None and facts.payment_methods is not None
            else None,
            parties.orderer.value,
            managed,
        )
        quoted = quote_basket(
            CATALOG,
            [(line.kind, line.quantity) for line in lines],
            client.currency,
            partner_discount_applies=settled.partner_discount_applies,
        )
    except BasketLineError as exc:
        raise _from_pricing(exc.error, lines[exc.index].path) from exc
    except pricing.PricingError as exc:
        raise _from_pricing(exc) from exc
    payer = Side(settled.payer)
    if payer is Side.PARTNER:
        assert facts is not None  # settlement makes the partner pay only under a grant
        payer_org = facts.partner_organization_id
    else:
        payer_org = client.id
    # As `pricing.cashback_due` for each line: none when the partner price is paid.
    earns = settled.partner_earns_cashback and not settled.partner_discount_applies
    return PricedOrder(
        basket=quoted,
        settlement=settled,
        client_id=client.id,
        orderer=parties.orderer,
        payer=payer,
        payer_organization_id=payer_org,
        partner_id=grant.partner_id if grant is not None else None,
        partner_organization_id=facts.partner_organization_id if facts is not None else None,
        cashback_due=quoted.cashback if earns else Money.zero(quoted.currency),
    )


def check_expectations(
    priced: PricedOrder, payer: Side | None, expected_amount_due: Decimal | None
) -> None:
    """The caller's optional expectations must match what the grant and the catalog say."""
    if payer is not None and payer is not priced.payer:
        raise UseCaseError(
            PAYER_NOT_ALLOWED,
            f"The grant's payment methods decide who pays: here the {priced.payer.value.lower()}.",
            "payer",
        )
    if expected_amount_due is not None and expected_amount_due != priced.basket.amount_due.amount:
        raise UseCaseError(
            AMOUNT_MISMATCH,
            "The amount due is not the one expected; ask for a new quote.",
            "expectedAmountDue",
        )


async def quote(
    ctx: RequestContext,
    *,
    organization_id: int,
    lines: Sequence[BasketLine],
    currency: str | None = None,
    client: ClientRef | None = None,
) -> PricedOrder:
    """Every price step and who would pay, for the acting organization (a client for
    itself, or a partner for a client under an active FULL grant). Writes nothing."""
    if ctx.viewer.user_id is None and ctx.viewer.api_token_id is None:
        raise UseCaseError(UNAUTHENTICATED, "Authentication required.", None)
    code = validate_basket(lines, currency)
    async with ctx.services.sessionmaker() as session:
        parties = await resolve_parties(
            session, ctx, acting_organization_id=organization_id, client=client, placing=False
        )
    return price(parties, lines, code)
