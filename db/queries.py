"""Queries several use cases share."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Membership, User
from domain.enums import Role


async def legal_representatives(
    session: AsyncSession, organization_id: int
) -> list[tuple[int, str]]:
    """(user id, email) of the organization's legal representatives, ordered by email."""
    rows = await session.execute(
        select(User.id, User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.organization_id == organization_id,
            Membership.role == Role.LEGAL_REPRESENTATIVE,
        )
        .order_by(User.email)
    )
    return [(user_id, email) for user_id, email in rows]


async def legal_representative_emails(session: AsyncSession, organization_id: int) -> list[str]:
    return [email for _, email in await legal_representatives(session, organization_id)]
