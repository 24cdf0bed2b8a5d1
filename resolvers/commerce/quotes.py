"""Pricing an order: every price step, who pays, what the partner earns; and the `quote`
use case (SPEC "Prices, discounts and cashback").

Decisions where SPEC is silent:
- An order is priced and invoiced in the client organization's currency, also when the
  partner pays; an explicit `currency` that differs is refused (CURRENCY_MISMATCH).
- Cashback is due only when the settlement earns it and it is above zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from domain import pricing
from domain.enums import Side
from domain.money import Currency, Money
from resolvers.commerce.codes import (
    AMOUNT_MISMATCH,
    CURRENCY_MISMATCH,
    PAYER_NOT_ALLOWED,
    _from_pricing,
)
from resolvers.commerce.inputs import CATALOG, ClientRef, validate_basket
from resolvers.commerce.parties import Parties, resolve_parties
from resolvers.context import RequestContext
from resolvers.errors import UNAUTHENTICATED, UseCaseError


@dataclass(frozen=True)
class PricedOrder:
    """A quote with its settlement: every step, who pays, what the partner earns."""

    quote: pricing.Quote
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


def price(
    parties: Parties,
    kind: str,
    quantity: int,
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
        quoted = pricing.quote(
            CATALOG,
            kind,
            quantity,
            client.currency,
            partner_discount_applies=settled.partner_discount_applies,
        )
    except pricing.PricingError as exc:
        raise _from_pricing(exc) from exc
    payer = Side(settled.payer)
    if payer is Side.PARTNER:
        assert facts is not None  # settlement makes the partner pay only under a grant
        payer_org = facts.partner_organization_id
    else:
        payer_org = client.id
    return PricedOrder(
        quote=quoted,
        settlement=settled,
        client_id=client.id,
        orderer=parties.orderer,
        payer=payer,
        payer_organization_id=payer_org,
        partner_id=grant.partner_id if grant is not None else None,
        partner_organization_id=facts.partner_organization_id if facts is not None else None,
        cashback_due=pricing.cashback_due(quoted, settled),
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
    if expected_amount_due is not None and expected_amount_due != priced.quote.amount_due.amount:
        raise UseCaseError(
            AMOUNT_MISMATCH,
            "The amount due is not the one expected; ask for a new quote.",
            "expectedAmountDue",
        )


async def quote(
    ctx: RequestContext,
    *,
    organization_id: int,
    kind: str,
    quantity: int,
    currency: str | None = None,
    client: ClientRef | None = None,
) -> PricedOrder:
    """Every price step and who would pay, for the acting organization (a client for
    itself, or a partner for a client under an active FULL grant). Writes nothing."""
    if ctx.viewer.user_id is None and ctx.viewer.api_token_id is None:
        raise UseCaseError(UNAUTHENTICATED, "Authentication required.", None)
    code = validate_basket(kind, quantity, currency)
    async with ctx.services.sessionmaker() as session:
        parties = await resolve_parties(
            session, ctx, acting_organization_id=organization_id, client=client, placing=False
        )
    return price(parties, kind, quantity, code)
