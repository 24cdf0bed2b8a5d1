"""Stable error codes of the commerce use cases, and pricing errors as `UseCaseError`s."""

from __future__ import annotations

from domain import pricing
from domain.error_codes import ErrorCode
from resolvers.errors import UseCaseError

# Stable codes of this package (besides the pricing ones: UNKNOWN_PRODUCT_KIND,
# INVALID_QUANTITY, UNSUPPORTED_CURRENCY, PARTNER_MAY_NOT_ORDER).
CURRENCY_MISMATCH = ErrorCode.CURRENCY_MISMATCH
INVALID_AMOUNT = ErrorCode.INVALID_AMOUNT
AMOUNT_MISMATCH = ErrorCode.AMOUNT_MISMATCH
PAYER_NOT_ALLOWED = ErrorCode.PAYER_NOT_ALLOWED
ROLE_NOT_ALLOWED = ErrorCode.ROLE_NOT_ALLOWED
INVALID_IDEMPOTENCY_KEY = ErrorCode.INVALID_IDEMPOTENCY_KEY
IDEMPOTENCY_KEY_REUSED = ErrorCode.IDEMPOTENCY_KEY_REUSED
PRODUCT_NOT_RENEWABLE = ErrorCode.PRODUCT_NOT_RENEWABLE
CONFLICT = ErrorCode.CONFLICT

_PRICING_FIELDS = {
    pricing.UnknownProductKindError.CODE: "productKind",
    pricing.InvalidQuantityError.CODE: "quantity",
    pricing.UnsupportedCurrencyError.CODE: "currency",
    pricing.PartnerMayNotOrderError.CODE: "clientId",
}


def _from_pricing(error: pricing.PricingError, path: str = "") -> UseCaseError:
    """The pricing error as a user error; a line's fields under `path` (e.g. `lines.1.`)."""
    field = _PRICING_FIELDS.get(error.code)
    if field is not None and field != "clientId" and field != "currency":
        field = path + field
    return UseCaseError(error.code, error.message, field)


def _partner_may_not_order(message: str) -> UseCaseError:
    return UseCaseError(pricing.PartnerMayNotOrderError.CODE, message, "clientId")
