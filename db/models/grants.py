"""The Grant: one partner, one client, an access level and a lifecycle."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, BigId, CreatedMixin, IdMixin, enum_column, utcnow
from domain.enums import AccessLevel, GrantStatus, PaymentMethods, Side

_LIVE = "status IN ('PENDING', 'ACTIVE')"


class Grant(IdMixin, CreatedMixin, Base):
    __tablename__ = "grants"

    partner_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("partners.id", ondelete="CASCADE"), index=True
    )
    # NULL while a partner's invitation waits for someone who has no organization yet.
    client_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    invitee_email: Mapped[str | None] = mapped_column(String(254))
    initiated_by: Mapped[Side] = mapped_column(enum_column(Side, "grant_side"))
    status: Mapped[GrantStatus] = mapped_column(
        enum_column(GrantStatus, "grant_status"), default=GrantStatus.PENDING
    )

    # What the inviting side asked for (partner) or offered (client).
    requested_level: Mapped[AccessLevel] = mapped_column(
        enum_column(AccessLevel, "requested_access_level")
    )
    requested_payment_methods: Mapped[PaymentMethods | None] = mapped_column(
        enum_column(PaymentMethods, "requested_payment_methods")
    )
    # A partner cannot see a client's products before the grant: it asks for families.
    requested_families: Mapped[list[str]] = mapped_column(JSON, default=list)
    requested_product_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    message: Mapped[str | None] = mapped_column(String(1000))

    # What is granted once ACTIVE; the granted products are rows of grant_products.
    level: Mapped[AccessLevel | None] = mapped_column(enum_column(AccessLevel, "access_level"))
    payment_methods: Mapped[PaymentMethods | None] = mapped_column(
        enum_column(PaymentMethods, "payment_methods")
    )

    invitation_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    invitation_expires_at: Mapped[datetime | None]
    invitations_sent: Mapped[int] = mapped_column(Integer, default=1)
    invited_by_user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    accepted_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    ended_by_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    # Time-bound access (SPEC): the end of the current term, and whether it renews for
    # the same length (ends_at - term_started_at). Warnings: the last one sent for this
    # term (7 or 1 days before), so a renewal starts again from none.
    ends_at: Mapped[datetime | None]
    term_started_at: Mapped[datetime | None]
    renews_automatically: Mapped[bool] = mapped_column(default=False)
    end_warning_days_sent: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Optimistic concurrency: two racing transitions cannot both win.
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__: dict[str, Any] = {"version_id_col": version}
    __table_args__ = (
        Index(
            "uq_grants_live_pair",
            "partner_id",
            "client_id",
            unique=True,
            sqlite_where=text(_LIVE),
            postgresql_where=text(_LIVE),
        ),
        Index(
            "uq_grants_pending_email",
            "partner_id",
            "invitee_email",
            unique=True,
            sqlite_where=text("status = 'PENDING' AND client_id IS NULL"),
            postgresql_where=text("status = 'PENDING' AND client_id IS NULL"),
        ),
        CheckConstraint(
            "client_id IS NOT NULL OR invitee_email IS NOT NULL", name="has_client_or_email"
        ),
        CheckConstraint(
            "status <> 'ACTIVE' OR (level IS NOT NULL AND client_id IS NOT NULL)",
            name="active_has_level",
        ),
        CheckConstraint(
            "level IS NULL OR level = 'LIMITED' OR payment_methods IS NOT NULL",
            name="full_has_payment_methods",
        ),
    )


class GrantProduct(Base):
    """A product granted under a LIMITED grant."""

    __tablename__ = "grant_products"

    grant_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("grants.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("products.id", ondelete="CASCADE"), primary_key=True, index=True
    )
