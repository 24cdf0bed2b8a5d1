"""Orders and renewals, and the per-organization invoice counters.

An order (or a renewal) installs or extends a product in the client organization and is
invoiced in the paying organization (SPEC "Prices, discounts and cashback"). Its prices
are frozen on the row as the quote computed them, so an invoice, a cashback credit and an
export always agree with what was ordered, whatever the catalog becomes later.
"""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Amount, Base, BigId, CreatedMixin, IdMixin, enum_column
from domain.enums import Side
from domain.money import Currency


class OrderKind(enum.StrEnum):
    ORDER = "ORDER"
    RENEWAL = "RENEWAL"


def Rate() -> Numeric[Any]:
    """A fraction such as 0.2500 (decreasing rate, partner discount): NUMERIC(5, 4)."""
    return Numeric(5, 4, asdecimal=True)


class FrozenPrices:
    """The quote, frozen: list_total -> public_price (decreasing rate) and partner_price
    (partner discount, then decreasing rate); cashback = public_price - partner_price."""

    list_total: Mapped[Decimal] = mapped_column(Amount())
    decreasing_rate: Mapped[Decimal] = mapped_column(Rate())
    public_price: Mapped[Decimal] = mapped_column(Amount())
    partner_discount_rate: Mapped[Decimal] = mapped_column(Rate())
    partner_price: Mapped[Decimal] = mapped_column(Amount())
    cashback: Mapped[Decimal] = mapped_column(Amount())
    amount_due: Mapped[Decimal] = mapped_column(Amount())


class Order(FrozenPrices, IdMixin, CreatedMixin, Base):
    __tablename__ = "orders"

    kind: Mapped[OrderKind] = mapped_column(enum_column(OrderKind, "order_kind"))
    # Where the product is installed: always the client organization.
    client_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("organizations.id", ondelete="CASCADE")
    )
    # The product created (ORDER) or renewed (RENEWAL); NULL only if it was deleted since.
    product_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("products.id", ondelete="SET NULL"), index=True
    )
    product_kind: Mapped[str] = mapped_column(String(40))
    product_family: Mapped[str] = mapped_column(String(40))
    quantity: Mapped[int] = mapped_column(Integer)
    currency: Mapped[Currency] = mapped_column(enum_column(Currency, "order_currency"))

    # Who ordered: a person or an API token, acting for `acting_organization_id`, which is
    # the client itself (CLIENT) or the partner on the client's behalf (PARTNER).
    ordered_by_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    ordered_by_api_token_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("api_tokens.id"))
    acting_organization_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    orderer_side: Mapped[Side] = mapped_column(enum_column(Side, "order_orderer_side"))
    # The partner whose grant applied (cashback or discount), if any.
    partner_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("partners.id", ondelete="SET NULL"), index=True
    )
    payer_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    payer_side: Mapped[Side] = mapped_column(enum_column(Side, "order_payer_side"))

    partner_discount_applied: Mapped[bool] = mapped_column(Boolean)
    # True when the partner is to be credited `cashback` (one outbox event per order).
    cashback_due: Mapped[bool] = mapped_column(Boolean)

    invoice_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("invoices.id", ondelete="CASCADE"), unique=True
    )
    # Chosen by the caller so that a retried placeOrder/renewProduct does not order twice;
    # unique per acting organization (two organizations' keys never collide or leak).
    idempotency_key: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (
        UniqueConstraint("acting_organization_id", "idempotency_key"),
        Index("ix_orders_client_id_id", "client_id", "id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(
            "ordered_by_user_id IS NOT NULL OR ordered_by_api_token_id IS NOT NULL",
            name="has_orderer",
        ),
        CheckConstraint(
            "list_total >= 0 AND public_price >= 0 AND partner_price >= 0 AND cashback >= 0 "
            "AND amount_due >= 0",
            name="amounts_not_negative",
        ),
        # Within half a cent, not "=": SQLite keeps NUMERIC as binary floating point.
        CheckConstraint(
            "ABS(partner_price + cashback - public_price) < 0.005", name="cashback_is_difference"
        ),
        CheckConstraint(
            "(partner_discount_applied AND ABS(amount_due - partner_price) < 0.005 "
            "AND payer_side = 'PARTNER') "
            "OR (NOT partner_discount_applied AND ABS(amount_due - public_price) < 0.005)",
            name="amount_due_follows_discount",
        ),
        CheckConstraint(
            "NOT cashback_due OR (partner_id IS NOT NULL AND NOT partner_discount_applied "
            "AND cashback > 0)",
            name="cashback_needs_partner",
        ),
        CheckConstraint(
            "decreasing_rate >= 0 AND decreasing_rate < 1 "
            "AND partner_discount_rate >= 0 AND partner_discount_rate <= 0.35",
            name="rates_in_range",
        ),
    )


class OrderLine(FrozenPrices, IdMixin, Base):
    """One product of an order, its quote frozen (an order has 1 to 50 lines).

    The order row holds the basket's totals (list total, public and partner prices,
    cashback, amount due: the sums of its lines) and, for the clients of the single-product
    API, its first line's product, kind, quantity and rates."""

    __tablename__ = "order_lines"

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("products.id", ondelete="SET NULL"), index=True
    )
    product_kind: Mapped[str] = mapped_column(String(40))
    product_family: Mapped[str] = mapped_column(String(40))
    quantity: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        UniqueConstraint("order_id", "position"),
        CheckConstraint("quantity > 0", name="line_quantity_positive"),
        CheckConstraint("position > 0", name="line_position_positive"),
        CheckConstraint(
            "ABS(partner_price + cashback - public_price) < 0.005",
            name="line_cashback_is_difference",
        ),
    )


class InvoiceCounter(Base):
    """The last invoice sequence used by an organization; incremented in the order's
    transaction (UPDATE ... RETURNING), so numbers are unique and without gaps."""

    __tablename__ = "invoice_counters"

    organization_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    last_sequence: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (CheckConstraint("last_sequence >= 0", name="sequence_not_negative"),)
