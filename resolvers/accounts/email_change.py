"""Changing the login email: confirmed by the current password, verified by a link sent to
the new address (`verifyEmail` redeems it), with a notice to the old address."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import User
from db.session import transaction
from domain.enums import EmailTokenPurpose
from resolvers.accounts.email_tokens import invalid_token, issue_email_token
from resolvers.accounts.sessions import require_person
from resolvers.auth import verify_password
from resolvers.context import RequestContext
from resolvers.errors import UseCaseError
from resolvers.events import emit_email, record_audit
from resolvers.links import verify_email_url
from resolvers.throttling import Limit, throttle
from resolvers.validation import clean_email


async def _address_taken(session: AsyncSession, address: str) -> bool:
    return await session.scalar(select(User.id).where(User.email == address)) is not None


async def change_email(ctx: RequestContext, *, new_email: str, password: str) -> str:
    """Send the verification link to `new_email`; the login changes when it is followed.

    An address another account uses answers alike (no account enumeration) but sends no
    link: nothing could be verified there."""
    user_id = require_person(ctx)
    address = clean_email(new_email, "newEmail")
    await throttle(ctx, Limit.PASSWORD)
    await throttle(ctx, Limit.EMAIL, account=address)
    async with transaction(ctx.services.sessionmaker) as session:
        user = await session.get(User, user_id, with_for_update=True)
        if user is None or not await verify_password(user.password_hash, password):
            raise UseCaseError("WRONG_PASSWORD", "The password is wrong.", "password")
        if address == user.email:
            raise UseCaseError("SAME_EMAIL", "This is already your email.", "newEmail")
        if not await _address_taken(session, address):
            token = await issue_email_token(
                session, ctx, user_id=user.id, purpose=EmailTokenPurpose.CHANGE_EMAIL, email=address
            )
            emit_email(
                session,
                to=address,
                template="email_change_verify",
                context={
                    "full_name": user.full_name,
                    "new_email": address,
                    "verify_url": verify_email_url(ctx.settings.public_url, token),
                    "token": token,
                },
            )
        emit_email(
            session,
            to=user.email,
            template="email_change_notice",
            context={"full_name": user.full_name, "new_email": address},
        )
        record_audit(
            session,
            action="user.email_change_requested",
            subject_type="User",
            subject_id=user.id,
            actor_user_id=user.id,
            before={"email": user.email},
            after={"requested_email": address},
        )
    ctx.services.after_commit()
    return address


async def complete_email_change(
    session: AsyncSession, ctx: RequestContext, user: User, address: str
) -> None:
    """In `verifyEmail`'s transaction: the new address is verified, it becomes the login."""
    if await _address_taken(session, address):  # taken since the link was sent
        raise invalid_token()
    before = user.email
    user.email = address
    user.email_verified_at = ctx.now()
    record_audit(
        session,
        action="user.change_email",
        subject_type="User",
        subject_id=user.id,
        actor_user_id=user.id,
        before={"email": before},
        after={"email": address},
    )
