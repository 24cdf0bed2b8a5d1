"""Forgotten and changed passwords (SPEC: a reset link is single use and lasts one hour; a
reset or a change of password ends every other session)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import User
from db.session import transaction
from domain.enums import EmailTokenPurpose
from resolvers.accounts.email_tokens import invalid_token, issue_email_token, redeem_email_token
from resolvers.accounts.sessions import SignedIn, end_sessions, open_session, require_person
from resolvers.auth import check_password_strength, hash_password_off_loop, verify_password
from resolvers.context import RequestContext
from resolvers.errors import UseCaseError
from resolvers.events import emit_email, record_audit
from resolvers.links import reset_password_url
from resolvers.throttling import Limit, throttle
from resolvers.validation import clean_email


def _notify_changed(session: AsyncSession, user: User) -> None:
    emit_email(
        session, to=user.email, template="password_changed", context={"full_name": user.full_name}
    )


async def request_password_reset(ctx: RequestContext, *, email: str) -> str:
    """Email a reset link to the account's owner; the same answer for an unknown address."""
    address = clean_email(email, "email")
    await throttle(ctx, Limit.EMAIL, account=address)
    async with transaction(ctx.services.sessionmaker) as session:
        user = await session.scalar(select(User).where(User.email == address))
        if user is not None:
            token = await issue_email_token(
                session,
                ctx,
                user_id=user.id,
                purpose=EmailTokenPurpose.RESET_PASSWORD,
                email=address,
            )
            emit_email(
                session,
                to=address,
                template="password_reset",
                context={
                    "full_name": user.full_name,
                    "reset_url": reset_password_url(ctx.settings.public_url, token),
                    "token": token,
                    "minutes": str(ctx.settings.password_reset_ttl_minutes),
                },
            )
            record_audit(
                session,
                action="user.password_reset_requested",
                subject_type="User",
                subject_id=user.id,
                actor_user_id=None,
                after={"email": address},
            )
    ctx.services.after_commit()
    return address


async def reset_password(ctx: RequestContext, *, token: str, new_password: str) -> SignedIn:
    """Set a new password through the emailed link; every session ends, a new one opens.
    The link proves the address, so an unverified account becomes verified."""
    check_password_strength(new_password, "newPassword")
    await throttle(ctx, Limit.EMAILED_TOKEN)
    password_hash = await hash_password_off_loop(new_password)
    async with transaction(ctx.services.sessionmaker) as session:
        row = await redeem_email_token(
            session, ctx, token, frozenset({EmailTokenPurpose.RESET_PASSWORD})
        )
        user = await session.get(User, row.user_id, with_for_update=True)
        if user is None or user.email != row.email:
            raise invalid_token()
        user.password_hash = password_hash
        user.email_verified_at = user.email_verified_at or ctx.now()
        ended = await end_sessions(session, user_id=user.id, now=ctx.now())
        record_audit(
            session,
            action="user.password_reset",
            subject_type="User",
            subject_id=user.id,
            actor_user_id=user.id,
            before={"sessions": ended},
            after={"sessions": [], "password_changed": True},
        )
        _notify_changed(session, user)
        signed_in = await open_session(ctx, session, user)
    ctx.services.after_commit()
    return signed_in


async def change_password(ctx: RequestContext, *, current_password: str, new_password: str) -> User:
    """Change the password with the current one; the viewer's other sessions end."""
    user_id = require_person(ctx)
    check_password_strength(new_password, "newPassword")
    await throttle(ctx, Limit.PASSWORD)
    password_hash = await hash_password_off_loop(new_password)
    async with transaction(ctx.services.sessionmaker) as session:
        user = await session.get(User, user_id, with_for_update=True)
        if user is None or not await verify_password(user.password_hash, current_password):
            raise UseCaseError("WRONG_PASSWORD", "The password is wrong.", "currentPassword")
        user.password_hash = password_hash
        ended = await end_sessions(
            session, user_id=user.id, now=ctx.now(), keep_id=ctx.viewer.session_id
        )
        record_audit(
            session,
            action="user.change_password",
            subject_type="User",
            subject_id=user.id,
            actor_user_id=user.id,
            before={"other_sessions": ended},
            after={"other_sessions": [], "password_changed": True},
        )
        _notify_changed(session, user)
    ctx.services.after_commit()
    return user
