"""Organizations, users, memberships and the credentials that act for them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, BigId, CreatedMixin, IdMixin, enum_column
from domain.enums import ApiTokenAccess, OrganizationKind, Role
from domain.money import Currency


class Organization(IdMixin, CreatedMixin, Base):
    __tablename__ = "organizations"

    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[OrganizationKind] = mapped_column(
        enum_column(OrganizationKind, "organization_kind"), default=OrganizationKind.COMPANY
    )
    currency: Mapped[Currency] = mapped_column(enum_column(Currency, "currency"))
    registration_number: Mapped[str | None] = mapped_column(String(64))
    website: Mapped[str | None] = mapped_column(String(300))
    support_code: Mapped[str] = mapped_column(String(16), unique=True)
    premium_support: Mapped[bool] = mapped_column(Boolean, default=False)
    vip_code: Mapped[str | None] = mapped_column(String(16))

    __table_args__ = (Index("ix_organizations_name_lower", "name"),)


class User(IdMixin, CreatedMixin, Base):
    __tablename__ = "users"

    # Stored lower-cased: one address is one account.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    # An account acts only once its email is verified (SPEC "People in an organization").
    email_verified_at: Mapped[datetime | None]


class Membership(IdMixin, CreatedMixin, Base):
    __tablename__ = "memberships"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    organization_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"))
    # For collaborators of a partner: act for every client, or only those listed in
    # collaborator_clients. Ignored for the other roles, which act for every client.
    all_clients: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (UniqueConstraint("user_id", "organization_id"),)


class CollaboratorClient(Base):
    """A client a partner's collaborator may act for."""

    __tablename__ = "collaborator_clients"

    membership_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("memberships.id", ondelete="CASCADE"), primary_key=True
    )
    client_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    # Every product the grant covers, or only those in collaborator_products.
    all_products: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class CollaboratorProduct(Base):
    """A product of a listed client a collaborator acts for (when not all_products)."""

    __tablename__ = "collaborator_products"

    membership_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    product_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )

    __table_args__ = (
        ForeignKeyConstraint(
            ["membership_id", "client_id"],
            ["collaborator_clients.membership_id", "collaborator_clients.client_id"],
            ondelete="CASCADE",
        ),
    )


class AuthSession(IdMixin, CreatedMixin, Base):
    """A login: an opaque bearer token, stored as its SHA-256 digest."""

    __tablename__ = "auth_sessions"

    user_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    # Refreshed at most every few minutes (resolvers.auth), for sessions and last activity.
    last_used_at: Mapped[datetime | None]


class ApiToken(IdMixin, CreatedMixin, Base):
    """A partner integration's credential; acts for one organization."""

    __tablename__ = "api_tokens"

    organization_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    created_by_user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(100))
    # The first characters, shown in listings so a user can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    access: Mapped[ApiTokenAccess] = mapped_column(enum_column(ApiTokenAccess, "api_token_access"))
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
