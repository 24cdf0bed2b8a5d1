"""Support staff's temporary access to an organization, and Swiss Backup accounts.

Support agents are users listed in `staff_members` (an operator adds them with
`add_staff`; nothing in the API makes anyone staff). A legal representative grants the
staff a temporary access (at most 72 hours, with a reason) and can revoke it; while one
is ACTIVE (not expired, not revoked: checked against the clock on every read) a support
agent reads the organization through `supportView`, and only read: staff hold no
membership, so every mutation refuses them as it refuses any outsider.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import (
    BackupAccount,
    BackupCustomer,
    Organization,
    Partner,
    StaffMember,
    SupportAccess,
    User,
)
from db.session import transaction
from domain.access import BILLING_ROLES
from domain.program import (
    MAX_REASON,
    SupportAccessStatus,
    refuse_backup_move,
    support_access_duration,
    support_access_status,
)
from resolvers.auth import require_user, require_writer
from resolvers.context import RequestContext
from resolvers.errors import UseCaseError, not_found
from resolvers.events import record_audit
from resolvers.pagination import Page, PageRequest, fetch_page
from resolvers.program import require_legal_representative
from resolvers.validation import clean_email, clean_text

# -- staff ------------------------------------------------------------------------------


async def add_staff(
    sessionmaker: async_sessionmaker[AsyncSession], email: str, note: str = ""
) -> int:
    """Mark an existing user as support staff (operators only: a shell, the CLI). Idempotent."""
    address = clean_email(email)
    async with transaction(sessionmaker) as session:
        user_id = await session.scalar(select(User.id).where(User.email == address))
        if user_id is None:
            raise UseCaseError("UNKNOWN_USER", f"No user with the email {address}.", "email")
        if await session.get(StaffMember, user_id) is None:
            session.add(StaffMember(user_id=user_id, note=note[:200]))
            await session.flush()
            record_audit(
                session,
                action="staff.add",
                subject_type="User",
                subject_id=user_id,
                actor_user_id=None,
                after={"staff": True, "note": note[:200]},
            )
    return user_id


async def is_staff(session: AsyncSession, user_id: int | None) -> bool:
    if user_id is None:
        return False
    return await session.get(StaffMember, user_id) is not None


# -- support accesses -------------------------------------------------------------------


def _snapshot(access: SupportAccess, status: SupportAccessStatus) -> dict[str, object]:
    return {
        "status": status.value,
        "reason": access.reason,
        "expires_at": access.expires_at.isoformat(),
        "revoked_at": access.revoked_at.isoformat() if access.revoked_at else None,
    }


async def grant_support_access(
    ctx: RequestContext, *, organization_id: int, duration_hours: int, reason: str
) -> SupportAccess:
    user_id = require_user(ctx)
    require_legal_representative(ctx, organization_id)
    duration = support_access_duration(duration_hours)
    why = clean_text(reason, "reason", max_length=MAX_REASON)
    now = ctx.now()
    async with transaction(ctx.services.sessionmaker) as session:
        access = SupportAccess(
            organization_id=organization_id,
            granted_by_user_id=user_id,
            reason=why,
            expires_at=now + duration,
            created_at=now,
        )
        session.add(access)
        await session.flush()
        record_audit(
            session,
            action="support_access.grant",
            subject_type="SupportAccess",
            subject_id=access.id,
            actor_user_id=user_id,
            organization_id=organization_id,
            after={**_snapshot(access, SupportAccessStatus.ACTIVE), "hours": duration_hours},
        )
    return access


async def revoke_support_access(ctx: RequestContext, *, access_id: int) -> SupportAccess:
    user_id = require_user(ctx)
    now = ctx.now()
    async with transaction(ctx.services.sessionmaker) as session:
        access = await session.scalar(
            select(SupportAccess).where(SupportAccess.id == access_id).with_for_update()
        )
        if access is None or not ctx.viewer.is_member(access.organization_id):
            raise not_found("supportAccessId")
        require_legal_representative(ctx, access.organization_id)
        status = support_access_status(access.expires_at, access.revoked_at, now)
        if status is not SupportAccessStatus.ACTIVE:
            raise UseCaseError(
                "SUPPORT_ACCESS_ENDED",
                f"This support access has already ended ({status.value.lower()}).",
                "supportAccessId",
            )
        before = _snapshot(access, status)
        access.revoked_at = now
        access.revoked_by_user_id = user_id
        await session.flush()
        record_audit(
            session,
            action="support_access.revoke",
            subject_type="SupportAccess",
            subject_id=access.id,
            actor_user_id=user_id,
            organization_id=access.organization_id,
            before=before,
            after=_snapshot(access, SupportAccessStatus.REVOKED),
        )
    return access


def may_manage_support(ctx: RequestContext, organization_id: int) -> bool:
    """Who sees an organization's support accesses: its legal representatives and
    administrators."""
    return ctx.viewer.role_in(organization_id) in BILLING_ROLES


async def list_support_accesses(
    ctx: RequestContext, organization_id: int, request: PageRequest
) -> Page[SupportAccess]:
    if not may_manage_support(ctx, organization_id):
        return Page.empty()
    async with ctx.services.sessionmaker() as session:
        stmt = select(SupportAccess).where(SupportAccess.organization_id == organization_id)
        return await fetch_page(session, stmt, SupportAccess.id, request)


@dataclass
class SupportView:
    organization: Organization
    access: SupportAccess


async def support_view(ctx: RequestContext, organization_id: int) -> SupportView | None:
    """The organization for a support agent while an access is active; else None (the
    same answer as for a missing organization)."""
    if ctx.viewer.user_id is None or ctx.viewer.api_token_id is not None:
        return None
    now = ctx.now()
    async with ctx.services.sessionmaker() as session:
        if not await is_staff(session, ctx.viewer.user_id):
            return None
        access = await session.scalar(
            select(SupportAccess)
            .where(
                SupportAccess.organization_id == organization_id,
                SupportAccess.revoked_at.is_(None),
                SupportAccess.expires_at > now,
            )
            .order_by(SupportAccess.expires_at.desc())
            .limit(1)
        )
        if access is None:
            return None
        org = await session.get(Organization, organization_id)
    if org is None:
        return None
    await _record_staff_read(ctx, access)
    return SupportView(organization=org, access=access)


async def _record_staff_read(ctx: RequestContext, access: SupportAccess) -> None:
    """SPEC: every read by provider staff under a support access is an event, visible to
    the organization in its audit trail."""
    async with transaction(ctx.services.sessionmaker) as session:
        record_audit(
            session,
            action="support_access.staff_read",
            subject_type="SupportAccess",
            subject_id=access.id,
            actor_user_id=ctx.viewer.user_id,
            organization_id=access.organization_id,
            after={"access_expires_at": access.expires_at.isoformat()},
        )


# -- Swiss Backup -----------------------------------------------------------------------


async def move_backup_customer(
    ctx: RequestContext, *, customer_id: int, target_account_id: int
) -> BackupCustomer:
    """Always refused (SPEC): nothing is read or written, so the answer reveals nothing."""
    require_writer(ctx)
    raise refuse_backup_move()


async def list_backup_accounts(
    ctx: RequestContext, organization_id: int, request: PageRequest
) -> Page[BackupAccount]:
    """The organization's own accounts (its members), plus those it manages as a partner
    (its legal representatives and administrators)."""
    role = ctx.viewer.role_in(organization_id)
    if role is None:
        return Page.empty()
    async with ctx.services.sessionmaker() as session:
        condition = BackupAccount.organization_id == organization_id
        if role in BILLING_ROLES:
            partner_id = await session.scalar(
                select(Partner.id).where(Partner.organization_id == organization_id)
            )
            if partner_id is not None:
                condition = condition | (BackupAccount.partner_id == partner_id)
        stmt = select(BackupAccount).where(condition)
        return await fetch_page(session, stmt, BackupAccount.id, request)


async def can_read_backup_account(ctx: RequestContext, account: BackupAccount) -> bool:
    if ctx.viewer.is_member(account.organization_id):
        return True
    if account.partner_id is None:
        return False
    async with ctx.services.sessionmaker() as session:
        partner_org = await session.scalar(
            select(Partner.organization_id).where(Partner.id == account.partner_id)
        )
    return partner_org is not None and ctx.viewer.role_in(partner_org) in BILLING_ROLES


async def list_backup_customers(
    ctx: RequestContext, account_id: int, request: PageRequest
) -> Page[BackupCustomer]:
    async with ctx.services.sessionmaker() as session:
        stmt = select(BackupCustomer).where(BackupCustomer.account_id == account_id)
        return await fetch_page(session, stmt, BackupCustomer.id, request)
