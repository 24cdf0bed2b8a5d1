"""The program around partnerships: applications, enrollment (partner xor affiliate), the
yearly review, the public directory, support staff and accesses, Swiss Backup accounts.

Directory search (see bench/directory_search.py): `directory_listings.search_text` holds
the lower-cased name, description and website; the query is `search_text LIKE '%term%'`,
portable, and on PostgreSQL served by a pg_trgm GIN index (the extension is created
before the tables; a migration must run `CREATE EXTENSION IF NOT EXISTS pg_trgm` first).
Filters go through `directory_listing_tags(kind, value, listing_id)`, indexed in that
order; pages are keyset on the listing id.

The listing's tags are also the partner's profile for bids (``resolvers.bids``), published
or not: publication only decides what the public directory shows. The bid fan-out reads
them in partner order, hence the tags carry the listing's ``partner_id`` too (kept equal
to the listing's by a composite foreign key) and a second index
``(kind, value, partner_id, listing_id)``: the candidates of a bid's language, in partner
id order and by keyset range of partner ids, are index-only range scans.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    DDL,
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
    event,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Amount, Base, BigId, CreatedMixin, IdMixin, enum_column, utcnow
from domain.money import Currency
from domain.program import ApplicationStatus, DirectoryTagKind, ProgramKind

# -- joining ----------------------------------------------------------------------------


class PartnerApplication(IdMixin, CreatedMixin, Base):
    """An application to the Partner Program, as submitted, and the decision with reasons.

    Only well-formed applications are stored (a missing or malformed registration number
    or website is sent back as userErrors); a refused one keeps why.
    """

    __tablename__ = "partner_applications"

    organization_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    submitted_by_user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    registration_number: Mapped[str] = mapped_column(String(64))
    website: Mapped[str] = mapped_column(String(300))
    accepted_reseller_conditions: Mapped[bool] = mapped_column(Boolean)
    accepted_bid_exclusivity: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[ApplicationStatus] = mapped_column(
        enum_column(ApplicationStatus, "application_status")
    )
    # [{"code": ..., "message": ..., "field": ...}], empty when accepted.
    refusal_reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Indexed: the directory's `verified` flag looks applications up by partner.
    partner_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("partners.id", ondelete="SET NULL"), index=True
    )

    __table_args__ = (
        CheckConstraint(
            "status <> 'ACCEPTED' OR (accepted_reseller_conditions AND accepted_bid_exclusivity)",
            name="accepted_has_conditions",
        ),
        # One accepted application per organization (it is a partner once).
        Index(
            "uq_partner_applications_accepted",
            "organization_id",
            unique=True,
            sqlite_where=text("status = 'ACCEPTED'"),
            postgresql_where=text("status = 'ACCEPTED'"),
        ),
    )


class ProgramEnrollment(Base):
    """The program an organization is in: its primary key makes Partner and Affiliate
    exclusive in the database, whatever two concurrent requests do."""

    __tablename__ = "program_enrollments"

    organization_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    program: Mapped[ProgramKind] = mapped_column(enum_column(ProgramKind, "program_kind"))
    enrolled_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("organization_id", "program"),)


class Affiliate(IdMixin, CreatedMixin, Base):
    """An individual's organization in the Affiliate Program."""

    __tablename__ = "affiliates"

    organization_id: Mapped[int] = mapped_column(BigId, unique=True)
    # Always AFFILIATE: with the composite key below, an affiliate needs an AFFILIATE
    # enrollment, so its organization cannot be enrolled as a partner too.
    program: Mapped[ProgramKind] = mapped_column(
        enum_column(ProgramKind, "affiliate_program"), default=ProgramKind.AFFILIATE
    )
    joined_by_user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))

    __table_args__ = (
        ForeignKeyConstraint(
            ["organization_id", "program"],
            ["program_enrollments.organization_id", "program_enrollments.program"],
            ondelete="CASCADE",
            name="fk_affiliates_enrollment",
        ),
        CheckConstraint("program = 'AFFILIATE'", name="is_affiliate"),
    )


class PartnerReview(IdMixin, CreatedMixin, Base):
    """The yearly review of one partner: its managed volume, and whether it was flagged."""

    __tablename__ = "partner_reviews"

    partner_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("partners.id", ondelete="CASCADE"), index=True
    )
    year: Mapped[int] = mapped_column(Integer)
    currency: Mapped[Currency] = mapped_column(enum_column(Currency, "review_currency"))
    managed_volume: Mapped[Decimal] = mapped_column(Amount())
    minimum_volume: Mapped[Decimal] = mapped_column(Amount())
    flagged_below_minimum_at: Mapped[datetime | None]
    notified_emails: Mapped[list[str]] = mapped_column(JSON, default=list)

    __table_args__ = (
        UniqueConstraint("partner_id", "year"),
        CheckConstraint("managed_volume >= 0", name="volume_not_negative"),
    )


# -- directory --------------------------------------------------------------------------


class DirectoryListing(IdMixin, CreatedMixin, Base):
    """A partner's entry in the public directory, shown only while published; its tags are
    also the partner's profile for bids, published or not."""

    __tablename__ = "directory_listings"

    partner_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("partners.id", ondelete="CASCADE"), unique=True
    )
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    # The partner's organization name when last saved (shown, and searched).
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    website: Mapped[str | None] = mapped_column(String(300))
    search_text: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        # Target of the tags' (listing_id, partner_id) key: a tag names its listing's partner.
        UniqueConstraint("id", "partner_id"),
        # Keyset pages of published listings walk this index in id order.
        Index(
            "ix_directory_listings_published_id",
            "id",
            sqlite_where=text("published = 1"),
            postgresql_where=text("published"),
        ),
        Index(
            "ix_directory_listings_search_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
            postgresql_where=text("published"),
        ).ddl_if(dialect="postgresql"),
    )


class DirectoryListingTag(Base):
    """One language, region or product family of a listing: a filter of the directory's
    search, and what the partner receives bids for (published or not)."""

    __tablename__ = "directory_listing_tags"

    listing_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[DirectoryTagKind] = mapped_column(
        enum_column(DirectoryTagKind, "directory_tag_kind"), primary_key=True
    )
    value: Mapped[str] = mapped_column(String(40), primary_key=True)
    # The listing's partner, copied so that the bid fan-out reads partner ids from an index
    # alone; the composite key below keeps it equal to the listing's.
    partner_id: Mapped[int] = mapped_column(BigId)

    __table_args__ = (
        ForeignKeyConstraint(
            ["listing_id", "partner_id"],
            ["directory_listings.id", "directory_listings.partner_id"],
            name="fk_directory_listing_tags_listing",
            ondelete="CASCADE",
        ),
        # The directory's filters: semi-joins on the listing id.
        Index("ix_directory_listing_tags_kind_value", "kind", "value", "listing_id"),
        # The bid fan-out: a language's candidates in partner id order (keyset chunks),
        # with their listing ids (to load their profiles by primary key), index-only.
        Index(
            "ix_directory_listing_tags_kind_value_partner",
            "kind",
            "value",
            "partner_id",
            "listing_id",
        ),
    )


# pg_trgm before the trigram index (create_all in tests and benches; migrations do the same).
event.listen(
    DirectoryListing.__table__,
    "before_create",
    DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(  # type: ignore[no-untyped-call]
        dialect="postgresql"
    ),
)


# -- support ----------------------------------------------------------------------------


class StaffMember(CreatedMixin, Base):
    """A user of the provider's support staff (a support agent).

    Staff are marked by a row here, added by an operator (`resolvers.support.add_staff`,
    e.g. from a shell or the CLI), never through the API.
    """

    __tablename__ = "staff_members"

    user_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    note: Mapped[str] = mapped_column(String(200), default="")


class SupportAccess(IdMixin, CreatedMixin, Base):
    """A temporary read-only access an organization grants the provider's support staff."""

    __tablename__ = "support_accesses"

    organization_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("organizations.id", ondelete="CASCADE")
    )
    granted_by_user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(500))
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_by_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))

    __table_args__ = (
        Index("ix_support_accesses_organization_expires", "organization_id", "expires_at"),
        CheckConstraint("expires_at > created_at", name="expires_after_creation"),
    )


# -- Swiss Backup -----------------------------------------------------------------------


class BackupAccount(IdMixin, CreatedMixin, Base):
    """A Swiss Backup account of an organization, possibly managed by a partner."""

    __tablename__ = "backup_accounts"

    organization_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    partner_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("partners.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))


class BackupCustomer(IdMixin, CreatedMixin, Base):
    """An end customer inside a backup account. It never changes account (SPEC)."""

    __tablename__ = "backup_customers"

    account_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("backup_accounts.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
