"""Roles, removal and leaving. An organization always keeps a legal representative; a
change applies on the member's next request (viewers load memberships per request)."""

from __future__ import annotations

from sqlalchemy import delete, select

from db.models import CollaboratorClient, Membership, User
from db.session import transaction
from domain.enums import Role
from domain.error_codes import ErrorCode
from domain.integration_events import EventFacts, EventKind
from domain.people import may_manage_members
from resolvers.accounts.sessions import require_person
from resolvers.context import RequestContext
from resolvers.errors import UseCaseError, not_found
from resolvers.events import record_audit
from resolvers.integration_events import record_event
from resolvers.integration_events.views import member_view
from resolvers.members.common import (
    check_last_legal_representative,
    lock_organization,
    membership_snapshot,
    role_not_allowed,
)

SAME_ROLE = ErrorCode.SAME_ROLE


async def change_member_role(ctx: RequestContext, *, membership_id: int, role: Role) -> Membership:
    actor_id = require_person(ctx)
    async with transaction(ctx.services.sessionmaker) as session:
        found = (
            await session.execute(
                select(Membership, User.email)
                .join(User, User.id == Membership.user_id)
                .where(Membership.id == membership_id)
            )
        ).first()
        if found is None or ctx.viewer.role_in(found[0].organization_id) is None:
            raise not_found("memberId")
        membership, email = found
        if not may_manage_members(ctx.viewer.role_in(membership.organization_id)):
            raise role_not_allowed("Only a legal representative changes roles.")
        if membership.role is role:
            raise UseCaseError(SAME_ROLE, "The member has this role already.", "role")
        await lock_organization(session, membership.organization_id)
        await check_last_legal_representative(session, membership, role)
        before = membership_snapshot(membership, email)
        if membership.role is Role.COLLABORATOR:
            # Rights name clients for a collaborator only; other roles act for all or none.
            await session.execute(
                delete(CollaboratorClient).where(CollaboratorClient.membership_id == membership.id)
            )
            membership.all_clients = False
        membership.role = role
        record_audit(
            session,
            action="member.change_role",
            subject_type="Membership",
            subject_id=membership.id,
            actor_user_id=actor_id,
            organization_id=membership.organization_id,
            before=before,
            after=membership_snapshot(membership, email),
        )
    return membership


async def _end_membership(
    ctx: RequestContext, *, membership_id: int | None, organization_id: int | None, action: str
) -> Membership:
    """Remove a member (`membership_id`, by a legal representative) or leave
    (`organization_id`, the viewer's own membership)."""
    actor_id = require_person(ctx)
    field = "memberId" if membership_id is not None else "organizationId"
    async with transaction(ctx.services.sessionmaker) as session:
        stmt = select(Membership, User.email).join(User, User.id == Membership.user_id)
        if membership_id is not None:
            stmt = stmt.where(Membership.id == membership_id)
        else:
            stmt = stmt.where(
                Membership.organization_id == organization_id, Membership.user_id == actor_id
            )
        found = (await session.execute(stmt)).first()
        if found is None or ctx.viewer.role_in(found[0].organization_id) is None:
            raise not_found(field)
        membership, email = found
        if membership_id is not None and not may_manage_members(
            ctx.viewer.role_in(membership.organization_id)
        ):
            raise role_not_allowed("Only a legal representative removes members.")
        await lock_organization(session, membership.organization_id)
        await check_last_legal_representative(session, membership, None)
        record_audit(
            session,
            action=action,
            subject_type="Membership",
            subject_id=membership.id,
            actor_user_id=actor_id,
            organization_id=membership.organization_id,
            before=membership_snapshot(membership, email),
            after=None,
        )
        await record_event(
            session,
            EventKind.MEMBER_REMOVED,
            subject_type="Membership",
            subject_id=membership.id,
            facts=EventFacts(organization_id=membership.organization_id),
            view=lambda org: member_view(membership, email, joined=False),
            now=ctx.now(),
        )
        await session.delete(membership)
    return membership


async def remove_member(ctx: RequestContext, *, membership_id: int) -> Membership:
    return await _end_membership(
        ctx, membership_id=membership_id, organization_id=None, action="member.remove"
    )


async def leave_organization(ctx: RequestContext, *, organization_id: int) -> Membership:
    return await _end_membership(
        ctx, membership_id=None, organization_id=organization_id, action="member.leave"
    )
