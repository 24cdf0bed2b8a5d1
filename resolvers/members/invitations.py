"""Member invitations (SPEC "People in an organization"): a legal representative invites a
person by email with any role, an administrator collaborators and externals; the emailed
link (7 days) is accepted once, creating the account if needed; resend or cancel.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import MemberInvitation, Membership, User
from db.queries import actor_display_name, organization_name
from db.session import transaction
from domain.enums import MemberInvitationStatus, Role
from domain.integration_events import EventFacts, EventKind
from domain.people import invitation_status, may_invite
from resolvers.accounts.email_tokens import invalid_token
from resolvers.accounts.sessions import SignedIn, open_session, require_person
from resolvers.auth import check_password_strength, hash_password_off_loop
from resolvers.context import RequestContext
from resolvers.errors import INVALID_INPUT, UseCaseError, not_found
from resolvers.events import emit_email, record_audit
from resolvers.integration_events import record_event
from resolvers.integration_events.views import member_view
from resolvers.links import accept_member_invitation_url
from resolvers.members.common import (
    ALREADY_INVITED,
    ALREADY_MEMBER,
    INVITATION_NOT_PENDING,
    invitation_snapshot,
    lock_organization,
    membership_snapshot,
    role_not_allowed,
    viewer_role,
)
from resolvers.throttling import Limit, throttle
from resolvers.tokens import digest, new_secret
from resolvers.validation import clean_email, clean_text

INVITATION_PREFIX = "pgm"
ROLE_LABELS = {
    Role.LEGAL_REPRESENTATIVE: "legal representative",
    Role.ADMINISTRATOR: "administrator",
    Role.COLLABORATOR: "collaborator",
    Role.EXTERNAL: "external member",
}


def status_of(ctx: RequestContext, invitation: MemberInvitation) -> MemberInvitationStatus:
    return invitation_status(
        accepted_at=invitation.accepted_at,
        cancelled_at=invitation.cancelled_at,
        expires_at=invitation.expires_at,
        now=ctx.now(),
    )


def _check_may_invite(ctx: RequestContext, organization_id: int, role: Role, field: str) -> None:
    if not may_invite(viewer_role(ctx, organization_id, field), role):
        raise role_not_allowed(
            "A legal representative invites any role; an administrator invites collaborators "
            "and external members only."
        )


async def _send(session: AsyncSession, ctx: RequestContext, invitation: MemberInvitation) -> None:
    """A fresh token (the previous link stops working), a fresh expiry, and the email."""
    token = new_secret(INVITATION_PREFIX)
    invitation.token_hash = digest(ctx.settings.secret_key.get_secret_value(), token)
    days = ctx.settings.member_invitation_ttl_days
    invitation.expires_at = ctx.now() + timedelta(days=days)
    emit_email(
        session,
        to=invitation.email,
        template="member_invitation",
        context={
            "organization_name": await organization_name(session, invitation.organization_id),
            "inviter_name": await actor_display_name(session, ctx.viewer),
            "role": ROLE_LABELS[invitation.role],
            "accept_url": accept_member_invitation_url(ctx.settings.public_url, token),
            "token": token,
            "days": str(days),
        },
    )


async def invite_member(
    ctx: RequestContext, *, organization_id: int, email: str, role: Role
) -> MemberInvitation:
    actor_id = require_person(ctx)
    _check_may_invite(ctx, organization_id, role, "organizationId")
    address = clean_email(email, "email")
    await throttle(ctx, Limit.EMAIL, account=address)
    async with transaction(ctx.services.sessionmaker) as session:
        await lock_organization(session, organization_id)
        member = await session.scalar(
            select(Membership.id)
            .join(User, User.id == Membership.user_id)
            .where(Membership.organization_id == organization_id, User.email == address)
        )
        if member is not None:
            raise UseCaseError(ALREADY_MEMBER, "This person is a member already.", "email")
        pending = await session.scalars(
            select(MemberInvitation).where(
                MemberInvitation.organization_id == organization_id,
                MemberInvitation.email == address,
                MemberInvitation.accepted_at.is_(None),
                MemberInvitation.cancelled_at.is_(None),
            )
        )
        if any(status_of(ctx, i) is MemberInvitationStatus.PENDING for i in pending):
            raise UseCaseError(
                ALREADY_INVITED,
                "This person has a pending invitation: resend or cancel it.",
                "email",
            )
        invitation = MemberInvitation(
            organization_id=organization_id,
            email=address,
            role=role,
            invited_by_user_id=actor_id,
            token_hash="",
            expires_at=ctx.now(),
        )
        await _send(session, ctx, invitation)
        session.add(invitation)
        await session.flush()
        record_audit(
            session,
            action="member.invite",
            subject_type="MemberInvitation",
            subject_id=invitation.id,
            actor_user_id=actor_id,
            organization_id=organization_id,
            after=invitation_snapshot(invitation),
        )
    ctx.services.after_commit()
    return invitation


async def _manageable_invitation(
    session: AsyncSession, ctx: RequestContext, invitation_id: int
) -> MemberInvitation:
    invitation = await session.get(MemberInvitation, invitation_id, with_for_update=True)
    if invitation is None or ctx.viewer.role_in(invitation.organization_id) is None:
        raise not_found("id")
    _check_may_invite(ctx, invitation.organization_id, invitation.role, "id")
    if invitation.accepted_at is not None or invitation.cancelled_at is not None:
        raise UseCaseError(
            INVITATION_NOT_PENDING, "This invitation was accepted or cancelled.", "id"
        )
    return invitation


async def resend_member_invitation(ctx: RequestContext, *, invitation_id: int) -> MemberInvitation:
    """A new link and 7 more days (an expired invitation too); the old link stops working."""
    actor_id = require_person(ctx)
    async with transaction(ctx.services.sessionmaker) as session:
        invitation = await _manageable_invitation(session, ctx, invitation_id)
        # Counted against the invited address, like the invitation itself.
        await throttle(ctx, Limit.EMAIL, account=invitation.email)
        before = invitation_snapshot(invitation)
        await _send(session, ctx, invitation)
        record_audit(
            session,
            action="member.invitation_resend",
            subject_type="MemberInvitation",
            subject_id=invitation.id,
            actor_user_id=actor_id,
            organization_id=invitation.organization_id,
            before=before,
            after=invitation_snapshot(invitation),
        )
    ctx.services.after_commit()
    return invitation


async def cancel_member_invitation(ctx: RequestContext, *, invitation_id: int) -> MemberInvitation:
    actor_id = require_person(ctx)
    async with transaction(ctx.services.sessionmaker) as session:
        invitation = await _manageable_invitation(session, ctx, invitation_id)
        before = invitation_snapshot(invitation)
        invitation.cancelled_at = ctx.now()
        record_audit(
            session,
            action="member.invitation_cancel",
            subject_type="MemberInvitation",
            subject_id=invitation.id,
            actor_user_id=actor_id,
            organization_id=invitation.organization_id,
            before=before,
            after=invitation_snapshot(invitation),
        )
    return invitation


async def accept_member_invitation(
    ctx: RequestContext,
    *,
    token: str,
    full_name: str | None,
    password: str | None,
) -> tuple[SignedIn, Membership]:
    """Join through the emailed link, once, within 7 days; logs the person in. An address
    without an account gets one (name and password needed), verified by the link itself."""
    if not token or len(token) > 200:
        raise invalid_token()
    await throttle(ctx, Limit.EMAILED_TOKEN)
    async with transaction(ctx.services.sessionmaker) as session:
        invitation = await session.scalar(
            select(MemberInvitation)
            .where(
                MemberInvitation.token_hash
                == digest(ctx.settings.secret_key.get_secret_value(), token)
            )
            .with_for_update()
        )
        if invitation is None or status_of(ctx, invitation) is not MemberInvitationStatus.PENDING:
            raise invalid_token()
        await lock_organization(session, invitation.organization_id)
        user = await session.scalar(select(User).where(User.email == invitation.email))
        if user is None:
            if not full_name or not password:
                raise UseCaseError(
                    INVALID_INPUT,
                    "You have no account yet: give your name and a password to create it.",
                    "fullName" if not full_name else "password",
                )
            name = clean_text(full_name, "fullName")
            check_password_strength(password)
            user = User(
                email=invitation.email,
                full_name=name,
                password_hash=await hash_password_off_loop(password),
                email_verified_at=ctx.now(),
            )
            session.add(user)
            await session.flush()
        else:
            user.email_verified_at = user.email_verified_at or ctx.now()
            already = await session.scalar(
                select(Membership.id).where(
                    Membership.organization_id == invitation.organization_id,
                    Membership.user_id == user.id,
                )
            )
            if already is not None:
                raise UseCaseError(ALREADY_MEMBER, "You are a member already.", "token")
        membership = Membership(
            user_id=user.id, organization_id=invitation.organization_id, role=invitation.role
        )
        session.add(membership)
        invitation.accepted_at = ctx.now()
        invitation.accepted_user_id = user.id
        await session.flush()
        record_audit(
            session,
            action="member.join",
            subject_type="Membership",
            subject_id=membership.id,
            actor_user_id=user.id,
            organization_id=invitation.organization_id,
            after={**membership_snapshot(membership, user.email), "invitation_id": invitation.id},
        )
        email = user.email
        await record_event(
            session,
            EventKind.MEMBER_JOINED,
            subject_type="Membership",
            subject_id=membership.id,
            facts=EventFacts(organization_id=membership.organization_id),
            view=lambda org: member_view(membership, email, joined=True),
            now=ctx.now(),
        )
        signed_in = await open_session(ctx, session, user)
    return signed_in, membership
