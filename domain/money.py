"""Exact money: a Decimal amount with a currency, rounded half-up to the cent."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")


class Currency(enum.StrEnum):
    CHF = "CHF"
    EUR = "EUR"


class MoneyError(ValueError):
    """An amount that cannot be money: a float, too many decimals, not a number."""


def round_cents(value: Decimal) -> Decimal:
    """Round half-up to 0.01, the one rounding rule of the program."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_amount(value: Decimal | str | int) -> Decimal:
    """Read an amount given by a caller; refuse floats and sub-cent precision."""
    if isinstance(value, float):
        raise MoneyError("money is never a float")
    try:
        amount = Decimal(value)
    except (InvalidOperation, ValueError) as exc:
        raise MoneyError(f"not an amount: {value!r}") from exc
    if not amount.is_finite():
        raise MoneyError(f"not an amount: {value!r}")
    try:
        cents = amount.quantize(CENT)
    except InvalidOperation as exc:  # more digits than the context holds (e.g. 1E+30)
        raise MoneyError("the amount is too large") from exc
    if amount != cents:
        raise MoneyError("an amount has at most two decimals")
    return cents


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: Currency

    def __post_init__(self) -> None:
        if isinstance(self.amount, float):
            raise MoneyError("money is never a float")

    @classmethod
    def of(cls, amount: Decimal | str | int, currency: Currency | str) -> Money:
        return cls(parse_amount(amount), Currency(currency))

    @classmethod
    def zero(cls, currency: Currency | str) -> Money:
        return cls(Decimal("0.00"), Currency(currency))

    @classmethod
    def from_minor_units(cls, minor: int, currency: Currency | str) -> Money:
        return cls((Decimal(minor) / 100).quantize(CENT), Currency(currency))

    def to_minor_units(self) -> int:
        return int((round_cents(self.amount) * 100).to_integral_value())

    def rounded(self) -> Money:
        return Money(round_cents(self.amount), self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency is not self.currency:
            raise MoneyError(f"cannot mix {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def times(self, factor: Decimal | int) -> Money:
        if isinstance(factor, float):
            raise MoneyError("money is never multiplied by a float")
        return Money(self.amount * factor, self.currency)

    def __str__(self) -> str:
        return f"{self.currency} {round_cents(self.amount)}"
