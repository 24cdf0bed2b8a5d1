"""Sign-up and email verification (SPEC "People in an organization").

`sign_up` answers the same for a new and for a taken email and opens no session: the
account acts once its email is verified through the emailed single-use link, which
`verify_email` redeems (and logs the person in). The owner of a taken email is told.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Membership, Organization, User
from db.session import transaction
from domain.enums import EmailTokenPurpose, OrganizationKind, Role
from domain.money import Currency
from resolvers.accounts.email_tokens import invalid_token, issue_email_token, redeem_email_token
from resolvers.accounts.sessions import SignedIn, open_session
from resolvers.auth import check_password_strength, hash_password_off_loop, new_support_code
from resolvers.context import RequestContext
from resolvers.events import emit_email, record_audit
from resolvers.links import forgot_password_url, login_url, verify_email_url
from resolvers.throttling import Limit, throttle
from resolvers.validation import clean_email, clean_text


async def send_verification(session: AsyncSession, ctx: RequestContext, user: User) -> None:
    """Email `user` a fresh link verifying its address."""
    token = await issue_email_token(
        session, ctx, user_id=user.id, purpose=EmailTokenPurpose.VERIFY_EMAIL, email=user.email
    )
    emit_email(
        session,
        to=user.email,
        template="verify_email",
        context={
            "full_name": user.full_name,
            "verify_url": verify_email_url(ctx.settings.public_url, token),
            "token": token,
        },
    )


async def _answer_taken(session: AsyncSession, ctx: RequestContext, user: User) -> None:
    """A sign-up with an address that has an account: tell its owner, change nothing."""
    if user.email_verified_at is None:
        # Probably the owner again, having lost the first email: a new link.
        await send_verification(session, ctx, user)
    else:
        emit_email(
            session,
            to=user.email,
            template="account_exists",
            context={
                "full_name": user.full_name,
                "login_url": login_url(ctx.settings.public_url),
                "reset_url": forgot_password_url(ctx.settings.public_url),
            },
        )
    record_audit(
        session,
        action="user.sign_up_taken_email",
        subject_type="User",
        subject_id=user.id,
        actor_user_id=None,
        after={"email": user.email, "verified": user.email_verified_at is not None},
    )


async def sign_up(
    ctx: RequestContext,
    *,
    email: str,
    password: str,
    full_name: str,
    organization_name: str,
    currency: Currency,
    organization_kind: OrganizationKind = OrganizationKind.COMPANY,
) -> str:
    """Create an unverified person, its own organization (it is the legal representative)
    and email the verification link; the normalized address, whatever happened."""
    address = clean_email(email, "email")
    name = clean_text(full_name, "fullName")
    org_name = clean_text(organization_name, "organizationName")
    check_password_strength(password)
    await throttle(ctx, Limit.SIGN_UP, account=address)
    password_hash = await hash_password_off_loop(password)  # both answers cost the same
    try:
        async with transaction(ctx.services.sessionmaker) as session:
            existing = await session.scalar(select(User).where(User.email == address))
            if existing is not None:
                await _answer_taken(session, ctx, existing)
            else:
                user = User(email=address, full_name=name, password_hash=password_hash)
                org = Organization(
                    name=org_name,
                    currency=currency,
                    kind=organization_kind,
                    support_code=new_support_code(),
                )
                session.add_all([user, org])
                await session.flush()
                session.add(
                    Membership(
                        user_id=user.id, organization_id=org.id, role=Role.LEGAL_REPRESENTATIVE
                    )
                )
                record_audit(
                    session,
                    action="user.sign_up",
                    subject_type="User",
                    subject_id=user.id,
                    actor_user_id=user.id,
                    organization_id=org.id,
                    after={"email": address, "organization": org_name, "verified": False},
                )
                await send_verification(session, ctx, user)
    except IntegrityError:
        # A concurrent sign-up with the same address won: it has its email; answer alike.
        pass
    ctx.services.after_commit()
    return address


async def resend_verification(ctx: RequestContext, *, email: str) -> str:
    """A new link for an unverified account; the same answer for any other address."""
    address = clean_email(email, "email")
    await throttle(ctx, Limit.EMAIL, account=address)
    async with transaction(ctx.services.sessionmaker) as session:
        user = await session.scalar(select(User).where(User.email == address))
        if user is not None and user.email_verified_at is None:
            await send_verification(session, ctx, user)
            record_audit(
                session,
                action="user.verification_resent",
                subject_type="User",
                subject_id=user.id,
                actor_user_id=None,
                after={"email": address},
            )
    ctx.services.after_commit()
    return address


async def _first_organization_name(session: AsyncSession, user_id: int) -> str:
    name = await session.scalar(
        select(Organization.name)
        .join(Membership, Membership.organization_id == Organization.id)
        .where(Membership.user_id == user_id)
        .order_by(Membership.id)
        .limit(1)
    )
    return name or ""


async def verify_email(ctx: RequestContext, *, token: str) -> SignedIn:
    """Redeem a verification link (sign-up or new address) and log the person in."""
    from resolvers.accounts.email_change import complete_email_change

    await throttle(ctx, Limit.EMAILED_TOKEN)
    async with transaction(ctx.services.sessionmaker) as session:
        row = await redeem_email_token(
            session,
            ctx,
            token,
            frozenset({EmailTokenPurpose.VERIFY_EMAIL, EmailTokenPurpose.CHANGE_EMAIL}),
        )
        user = await session.get(User, row.user_id, with_for_update=True)
        if user is None:
            raise invalid_token()
        if row.purpose is EmailTokenPurpose.CHANGE_EMAIL:
            await complete_email_change(session, ctx, user, row.email)
        else:
            if row.email != user.email:  # the address changed since this link was sent
                raise invalid_token()
            was_verified = user.email_verified_at is not None
            user.email_verified_at = user.email_verified_at or ctx.now()
            record_audit(
                session,
                action="user.verify_email",
                subject_type="User",
                subject_id=user.id,
                actor_user_id=user.id,
                before={"email": user.email, "verified": was_verified},
                after={"email": user.email, "verified": True},
            )
            if not was_verified:
                emit_email(
                    session,
                    to=user.email,
                    template="welcome",
                    context={
                        "full_name": user.full_name,
                        "organization_name": await _first_organization_name(session, user.id),
                    },
                )
        signed_in = await open_session(ctx, session, user)
    ctx.services.after_commit()
    return signed_in
