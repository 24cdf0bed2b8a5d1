"""Prices, partner discounts, cashback and who pays (SPEC "Prices, discounts and cashback").

Pure: no I/O. Every amount is exact Decimal; only the final amounts of a quote are rounded,
half-up to 0.01 (`domain.money.round_cents`):

    list_total             = unit list price x quantity
    public_price           = round(list_total x (1 - decreasing rate))
    after_partner_discount = round(list_total x (1 - partner discount))   (shown only)
    partner_price          = round(list_total x (1 - partner discount) x (1 - decreasing rate))
    cashback               = public_price - partner_price

`partner_price` is computed from the unrounded intermediate, so in rare cases it may differ
by a cent from `after_partner_discount x (1 - rate)` rounded; `partner_price + cashback ==
public_price` always holds exactly.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Final

from domain.error_codes import ErrorCode
from domain.money import CENT, Currency, Money, round_cents

MAX_PARTNER_DISCOUNT: Final = Decimal("0.35")

CLIENT: Final = "CLIENT"
PARTNER: Final = "PARTNER"
FULL: Final = "FULL"
LIMITED: Final = "LIMITED"
ACTIVE: Final = "ACTIVE"


# --------------------------------------------------------------------------- errors


class CatalogError(ValueError):
    """The catalog configuration is invalid (a start-up error, not a user error)."""


class PricingError(ValueError):
    """A pricing or settlement refusal with a stable, machine-readable code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = ErrorCode(code)
        self.message = message


class UnknownProductKindError(PricingError):
    CODE: Final = ErrorCode.UNKNOWN_PRODUCT_KIND

    def __init__(self, message: str) -> None:
        super().__init__(self.CODE, message)


class InvalidQuantityError(PricingError):
    CODE: Final = ErrorCode.INVALID_QUANTITY

    def __init__(self, message: str) -> None:
        super().__init__(self.CODE, message)


class UnsupportedCurrencyError(PricingError):
    CODE: Final = ErrorCode.UNSUPPORTED_CURRENCY

    def __init__(self, message: str) -> None:
        super().__init__(self.CODE, message)


class PartnerMayNotOrderError(PricingError):
    CODE: Final = ErrorCode.PARTNER_MAY_NOT_ORDER

    def __init__(self, message: str) -> None:
        super().__init__(self.CODE, message)


class InvalidSettlementInputError(PricingError):
    """Unknown grant level, payment methods or orderer given to `settlement`."""

    CODE: Final = ErrorCode.INVALID_SETTLEMENT_INPUT

    def __init__(self, message: str) -> None:
        super().__init__(self.CODE, message)


# --------------------------------------------------------------------------- catalog


@dataclass(frozen=True, slots=True)
class Tier:
    """From `min_quantity` units on, the decreasing rate is `rate` (a fraction)."""

    min_quantity: int
    rate: Decimal


@dataclass(frozen=True, slots=True)
class ProductSpec:
    kind: str
    family: str
    list_prices: Mapping[Currency, Decimal]  # per unit per month, two decimals


@dataclass(frozen=True, slots=True)
class Catalog:
    products: Mapping[str, ProductSpec]  # by kind
    quantity_tiers: Mapping[str, tuple[Tier, ...]]  # by family; absent = no decreasing rate
    partner_discounts: Mapping[str, Decimal]  # by family, 0 <= d <= 0.35
    max_quantity: int

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> Catalog:
        """Build and validate a catalog from plain data; see `domain.catalog_data`."""
        root = _mapping(data, "catalog")
        max_quantity = _positive_int(root.get("max_quantity"), "max_quantity")

        products: dict[str, ProductSpec] = {}
        for kind, raw in _mapping(root.get("products"), "products").items():
            where = f"products.{kind}"
            spec = _mapping(raw, where)
            family = _name(spec.get("family"), f"{where}.family")
            prices: dict[Currency, Decimal] = {}
            raw_prices = _mapping(spec.get("list_prices"), f"{where}.list_prices")
            for code, raw_price in raw_prices.items():
                try:
                    currency = Currency(code)
                except ValueError:
                    raise CatalogError(f"{where}: unknown currency {code!r}") from None
                price = _decimal(raw_price, f"{where}.list_prices.{code}")
                if price <= 0 or price != price.quantize(CENT):
                    raise CatalogError(f"{where}: list price must be > 0 with at most 2 decimals")
                prices[currency] = price.quantize(CENT)
            if not prices:
                raise CatalogError(f"{where}: no list price")
            products[_name(kind, "product kind")] = ProductSpec(
                kind, family, MappingProxyType(prices)
            )
        if not products:
            raise CatalogError("catalog has no products")
        families = {p.family for p in products.values()}

        tiers: dict[str, tuple[Tier, ...]] = {}
        raw_tiers = root.get("quantity_tiers", {})
        for family, raw_list in _mapping(raw_tiers, "quantity_tiers").items():
            if family not in families:
                raise CatalogError(f"quantity_tiers: unknown family {family!r}")
            tiers[family] = _tiers(raw_list, f"quantity_tiers.{family}")

        discounts: dict[str, Decimal] = {}
        for family, raw_discount in _mapping(
            root.get("partner_discounts"), "partner_discounts"
        ).items():
            if family not in families:
                raise CatalogError(f"partner_discounts: unknown family {family!r}")
            discount = _decimal(raw_discount, f"partner_discounts.{family}")
            if not Decimal(0) <= discount <= MAX_PARTNER_DISCOUNT:
                raise CatalogError(f"partner_discounts.{family}: must be within 0 and 0.35")
            discounts[family] = discount
        missing = families - discounts.keys()
        if missing:
            raise CatalogError(f"partner_discounts: missing for {sorted(missing)}")

        return cls(
            MappingProxyType(products),
            MappingProxyType(tiers),
            MappingProxyType(discounts),
            max_quantity,
        )

    def product(self, kind: str) -> ProductSpec:
        spec = self.products.get(kind) if isinstance(kind, str) else None
        if spec is None:
            raise UnknownProductKindError(f"unknown product kind {kind!r}")
        return spec

    def decreasing_rate(self, family: str, quantity: int) -> Decimal:
        rate = Decimal(0)
        for tier in self.quantity_tiers.get(family, ()):
            if quantity >= tier.min_quantity:
                rate = tier.rate
        return rate

    def partner_discount(self, family: str) -> Decimal:
        return self.partner_discounts[family]


def default_catalog() -> Catalog:
    """The catalog built from `domain.catalog_data.DEFAULT_CATALOG_DATA`."""
    from domain.catalog_data import DEFAULT_CATALOG_DATA

    return Catalog.from_mapping(DEFAULT_CATALOG_DATA)


def _mapping(value: object, where: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise CatalogError(f"{where}: expected a mapping with string keys")
    return value


def _name(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        raise CatalogError(f"{where}: expected a non-empty name")
    return value


def _positive_int(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise CatalogError(f"{where}: expected a positive integer")
    return value


def _decimal(value: object, where: str) -> Decimal:
    if isinstance(value, float):
        raise CatalogError(f"{where}: decimals are strings, never floats")
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise CatalogError(f"{where}: expected a decimal string")
    try:
        number = Decimal(value)
    except (InvalidOperation, ValueError):
        raise CatalogError(f"{where}: not a decimal: {value!r}") from None
    if not number.is_finite():
        raise CatalogError(f"{where}: not a finite decimal")
    return number


def _tiers(value: object, where: str) -> tuple[Tier, ...]:
    if not isinstance(value, list | tuple) or not value:
        raise CatalogError(f"{where}: expected a non-empty list of tiers")
    tiers = []
    for i, raw in enumerate(value):
        tier = _mapping(raw, f"{where}[{i}]")
        minimum = _positive_int(tier.get("min_quantity"), f"{where}[{i}].min_quantity")
        rate = _decimal(tier.get("rate"), f"{where}[{i}].rate")
        if not Decimal(0) <= rate < 1:
            raise CatalogError(f"{where}[{i}].rate: must be within 0 and 1 (excluded)")
        tiers.append(Tier(minimum, rate))
    if tiers[0].min_quantity != 1:
        raise CatalogError(f"{where}: the first tier starts at quantity 1")
    for lower, upper in itertools.pairwise(tiers):
        if upper.min_quantity <= lower.min_quantity:
            raise CatalogError(f"{where}: tier quantities must increase")
        if upper.rate < lower.rate:
            raise CatalogError(f"{where}: a larger quantity never has a smaller rate")
    return tuple(tiers)


# --------------------------------------------------------------------------- quote


@dataclass(frozen=True, slots=True)
class Quote:
    kind: str
    family: str
    quantity: int
    currency: Currency
    unit_list_price: Money
    list_total: Money
    decreasing_rate: Decimal
    public_price: Money
    partner_discount_rate: Decimal
    after_partner_discount: Money
    partner_price: Money
    cashback: Money
    partner_discount_applies: bool
    amount_due: Money


def quote(
    catalog: Catalog,
    kind: str,
    quantity: int,
    currency: Currency | str,
    *,
    partner_discount_applies: bool,
) -> Quote:
    """Price `quantity` units of `kind` for one month, showing every step."""
    spec = catalog.product(kind)
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise InvalidQuantityError("quantity must be an integer")
    if not 1 <= quantity <= catalog.max_quantity:
        raise InvalidQuantityError(f"quantity must be within 1 and {catalog.max_quantity}")
    try:
        cur = Currency(currency)
    except ValueError:
        raise UnsupportedCurrencyError(f"unsupported currency {currency!r}") from None
    unit = spec.list_prices.get(cur)
    if unit is None:
        raise UnsupportedCurrencyError(f"{kind} is not priced in {cur}")

    rate = catalog.decreasing_rate(spec.family, quantity)
    discount = catalog.partner_discount(spec.family)
    list_total = unit * quantity
    public = round_cents(list_total * (1 - rate))
    after_discount = list_total * (1 - discount)
    partner = round_cents(after_discount * (1 - rate))

    def money(amount: Decimal) -> Money:
        return Money(round_cents(amount), cur)

    return Quote(
        kind=spec.kind,
        family=spec.family,
        quantity=quantity,
        currency=cur,
        unit_list_price=money(unit),
        list_total=money(list_total),
        decreasing_rate=rate,
        public_price=money(public),
        partner_discount_rate=discount,
        after_partner_discount=money(after_discount),
        partner_price=money(partner),
        cashback=money(public - partner),
        partner_discount_applies=partner_discount_applies,
        amount_due=money(partner if partner_discount_applies else public),
    )


# --------------------------------------------------------------------------- settlement


@dataclass(frozen=True, slots=True)
class Settlement:
    payer: str  # "CLIENT" or "PARTNER"
    partner_discount_applies: bool  # True: the partner price is paid, else the public price
    partner_earns_cashback: bool


def settlement(
    grant_level: str | None,
    payment_methods: str | None,
    orderer: str,
    product_managed_by_partner: bool,
    *,
    grant_status: str = ACTIVE,
) -> Settlement:
    """Who pays an order or renewal, at which price, and whether the partner earns cashback.

    `grant_level` is the level of the active grant between the client and the partner, or
    None when there is none; a grant whose `grant_status` is not ACTIVE counts as none.
    `payment_methods` is read only under FULL; `product_managed_by_partner` only under
    LIMITED (under FULL the partner manages the whole organization).
    """
    if orderer not in (CLIENT, PARTNER):
        raise InvalidSettlementInputError(f"unknown orderer {orderer!r}")
    if grant_level is not None and grant_level not in (FULL, LIMITED):
        raise InvalidSettlementInputError(f"unknown grant level {grant_level!r}")
    level = grant_level if grant_status == ACTIVE else None

    if level is None:
        if orderer == PARTNER:
            raise PartnerMayNotOrderError("the partner has no active grant on this client")
        return Settlement(CLIENT, partner_discount_applies=False, partner_earns_cashback=False)

    if level == LIMITED:
        if orderer == PARTNER:
            raise PartnerMayNotOrderError("a LIMITED grant does not let the partner order")
        return Settlement(
            CLIENT,
            partner_discount_applies=False,
            partner_earns_cashback=product_managed_by_partner,
        )

    if payment_methods not in (CLIENT, PARTNER):
        raise InvalidSettlementInputError(f"unknown payment methods {payment_methods!r}")
    if payment_methods == PARTNER and orderer == PARTNER:
        return Settlement(PARTNER, partner_discount_applies=True, partner_earns_cashback=False)
    return Settlement(CLIENT, partner_discount_applies=False, partner_earns_cashback=True)


def cashback_due(q: Quote, s: Settlement) -> Money:
    """The cashback to credit the partner for this quote under this settlement (may be 0)."""
    if s.partner_earns_cashback and not s.partner_discount_applies:
        return q.cashback
    return Money.zero(q.currency)
