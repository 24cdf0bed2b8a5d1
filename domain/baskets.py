"""A basket: several order lines priced together, for one quote, one order, one invoice.

Pure: no I/O. Each line is priced on its own (`domain.pricing.quote`: its quantity decides
its decreasing rate); the basket's totals are the sums of the lines' rounded amounts, so
`partner_price + cashback == public_price` holds for the totals exactly as for each line.
Two lines of the same kind are two products (two web hostings for two sites), each priced
on its own quantity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from domain.error_codes import ErrorCode
from domain.money import Currency, Money
from domain.pricing import Catalog, PricingError, Quote, quote

MAX_LINES: Final = 50


class InvalidBasketError(PricingError):
    CODE: Final = ErrorCode.INVALID_BASKET

    def __init__(self, message: str) -> None:
        super().__init__(self.CODE, message)


class BasketLineError(PricingError):
    """A pricing error of one line, with the line's index (0-based) for the error's path."""

    def __init__(self, index: int, error: PricingError) -> None:
        super().__init__(error.code, f"Line {index + 1}: {error.message}")
        self.index = index
        self.error = error


@dataclass(frozen=True, slots=True)
class BasketQuote:
    lines: tuple[Quote, ...]
    currency: Currency
    list_total: Money
    after_partner_discount: Money
    public_price: Money
    partner_price: Money
    cashback: Money
    amount_due: Money
    partner_discount_applies: bool

    @property
    def first(self) -> Quote:
        return self.lines[0]


def quote_basket(
    catalog: Catalog,
    lines: Sequence[tuple[str, int]],
    currency: Currency | str,
    *,
    partner_discount_applies: bool,
) -> BasketQuote:
    """Price each `(kind, quantity)` line for one month, and the basket's totals."""
    if not lines:
        raise InvalidBasketError("A basket has at least one line.")
    if len(lines) > MAX_LINES:
        raise InvalidBasketError(f"A basket has at most {MAX_LINES} lines.")
    quotes: list[Quote] = []
    for index, (kind, quantity) in enumerate(lines):
        try:
            quotes.append(
                quote(
                    catalog,
                    kind,
                    quantity,
                    currency,
                    partner_discount_applies=partner_discount_applies,
                )
            )
        except PricingError as exc:
            raise BasketLineError(index, exc) from exc
    cur = quotes[0].currency

    def total(step: str) -> Money:
        amount = Money.zero(cur)
        for q in quotes:
            amount = amount + getattr(q, step)
        return amount

    return BasketQuote(
        lines=tuple(quotes),
        currency=cur,
        list_total=total("list_total"),
        after_partner_discount=total("after_partner_discount"),
        public_price=total("public_price"),
        partner_price=total("partner_price"),
        cashback=total("cashback"),
        amount_due=total("amount_due"),
        partner_discount_applies=partner_discount_applies,
    )
