"""Invoices: each belongs to the organization that paid it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Amount, Base, BigId, CreatedMixin, IdMixin, enum_column, utcnow
from domain.enums import InvoiceStatus
from domain.money import Currency


class Invoice(IdMixin, CreatedMixin, Base):
    __tablename__ = "invoices"

    # The payer owns the invoice; only its billing members ever see it.
    organization_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    # The organization whose products the invoice is for (the payer itself or its client).
    # Indexed with the payer below: a partner's page of a client's invoices is one range.
    client_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("organizations.id", ondelete="CASCADE")
    )
    sequence: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(32))
    currency: Mapped[Currency] = mapped_column(enum_column(Currency, "invoice_currency"))
    total_amount: Mapped[Decimal] = mapped_column(Amount())
    status: Mapped[InvoiceStatus] = mapped_column(
        enum_column(InvoiceStatus, "invoice_status"), default=InvoiceStatus.PAID
    )
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        # The invoices of a client paid by one organization, in page order (and, by its
        # prefix, every invoice of a client).
        Index("ix_invoices_client_payer_id", "client_id", "organization_id", "id"),
        UniqueConstraint("organization_id", "sequence"),
        UniqueConstraint("organization_id", "number"),
        CheckConstraint("total_amount >= 0", name="total_not_negative"),
    )


class InvoiceLine(IdMixin, Base):
    __tablename__ = "invoice_lines"

    invoice_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("products.id", ondelete="SET NULL")
    )
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Amount())
    amount: Mapped[Decimal] = mapped_column(Amount())

    __table_args__ = (UniqueConstraint("invoice_id", "position"),)
