"""What the member use cases share: the role checks, the lock, the audit snapshot."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import MemberInvitation, Membership
from domain.enums import Role
from domain.error_codes import ErrorCode
from domain.people import ROLE_NOT_ALLOWED, check_keeps_legal_representative
from resolvers.context import RequestContext
from resolvers.errors import UseCaseError, not_found
from resolvers.program.common import _lock_organization

ALREADY_MEMBER = ErrorCode.ALREADY_MEMBER
ALREADY_INVITED = ErrorCode.ALREADY_INVITED
INVITATION_NOT_PENDING = ErrorCode.INVITATION_NOT_PENDING


def role_not_allowed(message: str) -> UseCaseError:
    return UseCaseError(ROLE_NOT_ALLOWED, message, None)


def viewer_role(ctx: RequestContext, organization_id: int, field: str) -> Role:
    """The viewer's role in the organization; a non-member sees it as missing."""
    role = ctx.viewer.role_in(organization_id)
    if role is None:
        raise not_found(field)
    return role


async def lock_organization(session: AsyncSession, organization_id: int) -> None:
    """Serialize membership changes of one organization (the last legal representative)."""
    await _lock_organization(session, organization_id)


async def check_last_legal_representative(
    session: AsyncSession, membership: Membership, new_role: Role | None
) -> None:
    """Refuse a change that would leave the organization without a legal representative;
    call after `lock_organization`."""
    count = await session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(
            Membership.organization_id == membership.organization_id,
            Membership.role == Role.LEGAL_REPRESENTATIVE,
        )
    )
    check_keeps_legal_representative(int(count or 0), membership.role, new_role)


def membership_snapshot(membership: Membership, email: str) -> dict[str, Any]:
    return {"user_id": membership.user_id, "email": email, "role": membership.role.value}


def invitation_snapshot(invitation: MemberInvitation) -> dict[str, Any]:
    return {
        "email": invitation.email,
        "role": invitation.role.value,
        "expires_at": invitation.expires_at.isoformat(),
        "accepted": invitation.accepted_at is not None,
        "cancelled": invitation.cancelled_at is not None,
    }
