"""Bids, their delivery to partners, and the partners' offers.

Database guarantees (whatever the code does):

- a partner receives a bid at most once: ``bid_deliveries`` is keyed by
  ``(bid_id, partner_id)``; the fan-out inserts with ``ON CONFLICT DO NOTHING``;
- only a partner that received a bid offers on it, once: ``offers (bid_id, partner_id)`` is
  unique and references ``bid_deliveries (bid_id, partner_id)``;
- an awarded bid names its offer, and that offer is one of the bid's own offers
  (composite key ``(awarded_offer_id, id)`` onto ``offers (id, bid_id)``);
- a bid goes out only with an author: a signed-in user, or a visitor whose email link was
  used (``verified_at``).

What a partner receives bids for is its profile: the languages, regions and product
families of its directory listing (``directory_listing_tags`` in ``db.models.program``,
published or not), read by the fan-out through the index
``ix_directory_listing_tags_kind_value_partner (kind, value, partner_id, listing_id)``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Amount, Base, BigId, CreatedMixin, IdMixin, enum_column, utcnow
from domain.bids import BidStatus
from domain.money import Currency


class Bid(IdMixin, CreatedMixin, Base):
    """A request for quotes by a signed-in user or by a visitor with a verified email."""

    __tablename__ = "bids"

    # The signed-in author; NULL for a visitor (who is known by the verified email only).
    author_user_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # The author's contact details, shown only to the partner whose offer is awarded.
    author_email: Mapped[str] = mapped_column(String(254))
    author_name: Mapped[str] = mapped_column(String(200))
    # A visitor's email link (single use; the digest stays to recognise a reused link).
    verification_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    verified_at: Mapped[datetime | None]
    # A visitor's link to manage the bid (see offers, award), issued on verification.
    author_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)

    description: Mapped[str] = mapped_column(Text)
    product_families: Mapped[list[str]] = mapped_column(JSON)
    budget_amount: Mapped[Decimal] = mapped_column(Amount())
    currency: Mapped[Currency] = mapped_column(enum_column(Currency, "bid_currency"))
    language: Mapped[str] = mapped_column(String(2))
    region: Mapped[str] = mapped_column(String(6))
    deadline: Mapped[datetime]

    status: Mapped[BidStatus] = mapped_column(enum_column(BidStatus, "bid_status"))
    # Counted when the bid went out (the fan-out delivers to those still matching).
    matching_partners: Mapped[int | None] = mapped_column(Integer)
    published_at: Mapped[datetime | None]
    awarded_offer_id: Mapped[int | None] = mapped_column(BigId)
    awarded_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        # The expiry job's scan: open bids by deadline.
        Index("ix_bids_status_deadline", "status", "deadline"),
        CheckConstraint("budget_amount > 0", name="budget_positive"),
        CheckConstraint(
            "author_user_id IS NOT NULL OR verification_token_hash IS NOT NULL",
            name="has_author",
        ),
        CheckConstraint(
            "status NOT IN ('OPEN', 'AWARDED', 'NO_MATCH') "
            "OR author_user_id IS NOT NULL OR verified_at IS NOT NULL",
            name="out_only_verified",
        ),
        CheckConstraint(
            "(status = 'AWARDED') = (awarded_offer_id IS NOT NULL)", name="awarded_has_offer"
        ),
        ForeignKeyConstraint(
            ["awarded_offer_id", "id"],
            ["offers.id", "offers.bid_id"],
            name="fk_bids_awarded_offer",
            use_alter=True,
        ),
    )


class BidDelivery(Base):
    """A bid delivered to one partner: the partner sees it and may offer."""

    __tablename__ = "bid_deliveries"

    bid_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("bids.id", ondelete="CASCADE"), primary_key=True
    )
    partner_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True
    )
    delivered_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The partner's notification email was queued (outbox) in the delivering transaction;
    # false when the partner had no legal representative to write to.
    emailed: Mapped[bool] = mapped_column(Boolean, default=False)

    # A partner's received bids, in bid order (the `receivedBids` connection).
    __table_args__ = (Index("ix_bid_deliveries_partner_bid", "partner_id", "bid_id"),)


class Offer(IdMixin, CreatedMixin, Base):
    """A partner's answer to a bid it received."""

    __tablename__ = "offers"

    bid_id: Mapped[int] = mapped_column(BigId, index=True)
    partner_id: Mapped[int] = mapped_column(BigId)
    amount: Mapped[Decimal] = mapped_column(Amount())
    currency: Mapped[Currency] = mapped_column(enum_column(Currency, "offer_currency"))
    message: Mapped[str] = mapped_column(Text, default="")
    submitted_by_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))

    __table_args__ = (
        UniqueConstraint("bid_id", "partner_id"),
        # Target of the bid's award key: the awarded offer belongs to the bid.
        UniqueConstraint("id", "bid_id"),
        ForeignKeyConstraint(
            ["bid_id", "partner_id"],
            ["bid_deliveries.bid_id", "bid_deliveries.partner_id"],
            name="fk_offers_delivery",
            ondelete="CASCADE",
        ),
        CheckConstraint("amount > 0", name="amount_positive"),
    )
