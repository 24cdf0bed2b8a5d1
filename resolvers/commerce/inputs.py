"""Commerce inputs: the catalog, the client an input names, and the checks of a basket,
a quantity, an expected amount and an idempotency key."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from domain import pricing
from domain.money import Currency, MoneyError, parse_amount
from resolvers.commerce.codes import INVALID_AMOUNT, INVALID_IDEMPOTENCY_KEY, _from_pricing
from resolvers.errors import UseCaseError

CATALOG = pricing.default_catalog()
MAX_IDEMPOTENCY_KEY = 100


@dataclass(frozen=True)
class ClientRef:
    """The client named by an input: an Organization ID (a client ordering for itself, or
    any caller that knows it) or a Client ID (the partner's view of a client: a grant)."""

    organization_id: int | None = None
    grant_id: int | None = None


def validate_basket(kind: str, quantity: int, currency: str | None) -> Currency | None:
    """Check the product kind, the quantity and a given currency against the catalog."""
    try:
        spec = CATALOG.product(kind)
        if isinstance(quantity, bool) or not 1 <= quantity <= CATALOG.max_quantity:
            raise pricing.InvalidQuantityError(
                f"quantity must be within 1 and {CATALOG.max_quantity}"
            )
    except pricing.PricingError as exc:
        raise _from_pricing(exc) from exc
    if currency is None:
        return None
    try:
        code = Currency(currency.strip().upper())
    except ValueError:
        raise UseCaseError(
            pricing.UnsupportedCurrencyError.CODE,
            "The catalog does not sell in this currency.",
            "currency",
        ) from None
    if code not in spec.list_prices:
        raise UseCaseError(
            pricing.UnsupportedCurrencyError.CODE, f"{kind} is not sold in {code}.", "currency"
        )
    return code


def parse_expected_amount(value: str | None, field: str = "expectedAmountDue") -> Decimal | None:
    """An amount given by a caller: at most two decimals, not negative, never a float."""
    if value is None:
        return None
    try:
        amount = parse_amount(value.strip())
    except MoneyError as exc:
        raise UseCaseError(
            INVALID_AMOUNT, "An amount is a decimal with at most two decimals.", field
        ) from exc
    if amount < 0:
        raise UseCaseError(INVALID_AMOUNT, "An amount cannot be negative.", field)
    return amount


def clean_idempotency_key(value: str | None, field: str | None = "idempotencyKey") -> str | None:
    """An idempotency key (the `Idempotency-Key` header or the deprecated input field)."""
    if value is None:
        return None
    key = value.strip()
    if not key or len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise UseCaseError(
            INVALID_IDEMPOTENCY_KEY,
            f"An idempotency key has 1 to {MAX_IDEMPOTENCY_KEY} printable characters.",
            field,
        )
    return key


def validate_quantity(quantity: int) -> None:
    if isinstance(quantity, bool) or not 1 <= quantity <= CATALOG.max_quantity:
        raise UseCaseError(
            pricing.InvalidQuantityError.CODE,
            f"quantity must be within 1 and {CATALOG.max_quantity}",
            "quantity",
        )
