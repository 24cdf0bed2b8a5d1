"""Reading members and invitations: one page per query, last activity in one more query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from db.models import AuthSession, MemberInvitation, Membership, User
from domain.enums import Role
from domain.people import may_read_members
from resolvers.context import RequestContext
from resolvers.pagination import Page, PageRequest, fetch_page


@dataclass(frozen=True)
class MemberRow:
    id: int
    organization_id: int
    user_id: int
    role: Role
    since: datetime
    email: str
    full_name: str
    last_activity_at: datetime | None


async def member_rows(ctx: RequestContext, membership_ids: list[int]) -> list[MemberRow]:
    """The members among `membership_ids` the viewer may see: all of an organization it
    reads members of, and its own membership anywhere."""
    if not membership_ids:
        return []
    async with ctx.services.sessionmaker() as session:
        rows = (
            await session.execute(
                select(Membership, User.email, User.full_name)
                .join(User, User.id == Membership.user_id)
                .where(Membership.id.in_(membership_ids))
            )
        ).all()
        visible = [
            (m, email, name)
            for m, email, name in rows
            if may_read_members(ctx.viewer.role_in(m.organization_id))
            or (m.user_id == ctx.viewer.user_id and ctx.viewer.is_member(m.organization_id))
        ]
        activity = dict(
            (
                await session.execute(
                    select(AuthSession.user_id, func.max(AuthSession.last_used_at))
                    .where(AuthSession.user_id.in_({m.user_id for m, _, _ in visible}))
                    .group_by(AuthSession.user_id)
                )
            ).all()
        )
    return [
        MemberRow(
            id=m.id,
            organization_id=m.organization_id,
            user_id=m.user_id,
            role=m.role,
            since=m.created_at,
            email=email,
            full_name=name,
            last_activity_at=activity.get(m.user_id),
        )
        for m, email, name in visible
    ]


async def own_member(ctx: RequestContext, organization_id: int) -> MemberRow | None:
    """The viewer's own membership in the organization."""
    if ctx.viewer.user_id is None:
        return None
    async with ctx.services.sessionmaker() as session:
        pk = await session.scalar(
            select(Membership.id).where(
                Membership.organization_id == organization_id,
                Membership.user_id == ctx.viewer.user_id,
            )
        )
    rows = await member_rows(ctx, [pk]) if pk is not None else []
    return rows[0] if rows else None


async def organization_members(
    ctx: RequestContext, organization_id: int, request: PageRequest
) -> Page[MemberRow]:
    """A page of the organization's members, oldest first (legal representatives and
    administrators read them)."""
    if not may_read_members(ctx.viewer.role_in(organization_id)):
        return Page.empty()
    async with ctx.services.sessionmaker() as session:
        page = await fetch_page(
            session,
            select(Membership).where(Membership.organization_id == organization_id),
            Membership.id,
            request,
        )
    by_id = {row.id: row for row in await member_rows(ctx, page.keys)}
    return page.replace([by_id[k] for k in page.keys])


async def organization_invitations(
    ctx: RequestContext, organization_id: int, request: PageRequest, *, pending_only: bool
) -> Page[MemberInvitation]:
    if not may_read_members(ctx.viewer.role_in(organization_id)):
        return Page.empty()
    stmt = select(MemberInvitation).where(MemberInvitation.organization_id == organization_id)
    if pending_only:
        stmt = stmt.where(
            MemberInvitation.accepted_at.is_(None),
            MemberInvitation.cancelled_at.is_(None),
            MemberInvitation.expires_at > ctx.now(),
        )
    async with ctx.services.sessionmaker() as session:
        return await fetch_page(session, stmt, MemberInvitation.id, request)


async def visible_invitations(
    ctx: RequestContext, invitation_ids: list[int]
) -> dict[int, MemberInvitation]:
    if not invitation_ids:
        return {}
    async with ctx.services.sessionmaker() as session:
        rows = await session.scalars(
            select(MemberInvitation).where(MemberInvitation.id.in_(invitation_ids))
        )
        return {
            row.id: row for row in rows if may_read_members(ctx.viewer.role_in(row.organization_id))
        }
