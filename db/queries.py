"""Queries several use cases share."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, any_, bindparam, or_, select, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Grant, Membership, Organization, User
from domain.access import Viewer
from domain.enums import Role


def id_in(session: AsyncSession, column: Any, ids: Collection[int]) -> ColumnElement[bool]:
    """``column IN ids`` for a thousand ids: on PostgreSQL ``= ANY(array)``, one bound
    parameter (an IN list renders, binds and casts one parameter per id, which cost a bid
    chunk's queries more CPU than their rows); elsewhere a plain IN."""
    if session.get_bind().dialect.name == "postgresql":
        array = bindparam(None, list(ids), type_=ARRAY(BigInteger()))
        return column == any_(array)  # type: ignore[no-any-return]
    return column.in_(list(ids))  # type: ignore[no-any-return]


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


async def organization_name(session: AsyncSession, organization_id: int | None) -> str:
    if organization_id is None:
        return ""
    name = await session.scalar(select(Organization.name).where(Organization.id == organization_id))
    return name or ""


async def actor_display_name(session: AsyncSession, viewer: Viewer) -> str:
    """Who acted, for emails: the person, or the organization its API token acts for."""
    if viewer.user_id is not None:
        name = await session.scalar(select(User.full_name).where(User.id == viewer.user_id))
        return name or ""
    if viewer.memberships:  # an API token acts for exactly one organization
        return await organization_name(session, next(iter(viewer.memberships)))
    return ""


def grant_in_term(now: datetime) -> Any:
    """SQL: the grant has not passed its end (no end, a later one, or it renews itself).
    With ``status == ACTIVE`` it is active in effect (``domain.grants.effective_status``)."""
    return or_(Grant.ends_at.is_(None), Grant.ends_at > now, Grant.renews_automatically == true())
