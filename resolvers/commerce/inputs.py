"""Commerce inputs: the catalog, the client an input names, and the checks of a basket,
a quantity, an expected amount and an idempotency key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from domain import pricing
from domain.baskets import MAX_LINES
from domain.enums import ProductFamily, ProductKind
from domain.error_codes import ErrorCode
from domain.money import Currency, MoneyError, parse_amount
from resolvers.clients import ClientRef
from resolvers.commerce.codes import INVALID_AMOUNT, INVALID_IDEMPOTENCY_KEY, _from_pricing
from resolvers.errors import UseCaseError

__all__ = ["CATALOG", "BasketLine", "ClientRef"]

CATALOG = pricing.default_catalog()
MAX_IDEMPOTENCY_KEY = 100


def _check_catalog_vocabulary(catalog: pricing.Catalog) -> None:
    """The API names kinds and families with the `ProductKind` and `ProductFamily` enums:
    a catalog selling anything else is a start-up error, not a surprise for a client."""
    kinds = set(catalog.products) - {k.value for k in ProductKind}
    families = {p.family for p in catalog.products.values()} - {f.value for f in ProductFamily}
    if kinds or families:
        raise pricing.CatalogError(
            f"catalog names kinds {sorted(kinds)} / families {sorted(families)} that the "
            "ProductKind / ProductFamily enums do not have"
        )


_check_catalog_vocabulary(CATALOG)


@dataclass(frozen=True)
class BasketLine:
    """One line of a basket as a caller gave it; `path` prefixes the line's error fields
    (`lines.2.` for the third line, empty for the deprecated single-product fields)."""

    kind: str
    quantity: int
    product_name: str | None = None
    path: str = ""


def validate_basket(lines: Sequence[BasketLine], currency: str | None) -> Currency | None:
    """Check the number of lines, each line's kind and quantity, and a given currency
    against the catalog, naming the field at fault."""
    if not 1 <= len(lines) <= MAX_LINES:
        raise UseCaseError(
            ErrorCode.INVALID_BASKET, f"A basket has 1 to {MAX_LINES} lines.", "lines"
        )
    specs = []
    for line in lines:
        try:
            specs.append(CATALOG.product(line.kind))
            if isinstance(line.quantity, bool) or not 1 <= line.quantity <= CATALOG.max_quantity:
                raise pricing.InvalidQuantityError(
                    f"quantity must be within 1 and {CATALOG.max_quantity}"
                )
        except pricing.PricingError as exc:
            raise _from_pricing(exc, line.path) from exc
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
    for spec in specs:
        if code not in spec.list_prices:
            raise UseCaseError(
                pricing.UnsupportedCurrencyError.CODE,
                f"{spec.kind} is not sold in {code}.",
                "currency",
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
