"""Emailed single-use tokens (verification, password reset, email change) and member
invitations. Secrets are stored only as keyed digests (`resolvers.tokens.digest`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, BigId, CreatedMixin, IdMixin, enum_column
from domain.enums import EmailTokenPurpose, Role


class EmailToken(IdMixin, CreatedMixin, Base):
    """A link sent to `email` that does `purpose` once for `user_id`, before `expires_at`."""

    __tablename__ = "email_tokens"

    user_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[EmailTokenPurpose] = mapped_column(
        enum_column(EmailTokenPurpose, "email_token_purpose")
    )
    # The address the link went to: for CHANGE_EMAIL, the new address it verifies.
    email: Mapped[str] = mapped_column(String(254))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class MemberInvitation(IdMixin, CreatedMixin, Base):
    """An invitation of a person, by email, into an organization with a role."""

    __tablename__ = "member_invitations"

    organization_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[Role] = mapped_column(enum_column(Role, "member_invitation_role"))
    invited_by_user_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    accepted_user_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )
    cancelled_at: Mapped[datetime | None]
