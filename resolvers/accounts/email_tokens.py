"""Emailed single-use tokens: issued as a secret whose keyed digest alone is stored,
redeemed once before expiry. An unknown, expired or used token answer alike."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import EmailToken
from domain.enums import EmailTokenPurpose
from domain.error_codes import ErrorCode
from domain.people import token_usable
from resolvers.context import RequestContext
from resolvers.errors import UseCaseError
from resolvers.tokens import digest, new_secret

INVALID_TOKEN = ErrorCode.INVALID_TOKEN

PREFIXES = {
    EmailTokenPurpose.VERIFY_EMAIL: "pgv",
    EmailTokenPurpose.RESET_PASSWORD: "pgr",
    EmailTokenPurpose.CHANGE_EMAIL: "pge",
}


def invalid_token() -> UseCaseError:
    return UseCaseError(
        INVALID_TOKEN,
        "This link is not valid: it is unknown, has expired or was already used. "
        "Ask for a new one.",
        "token",
    )


def lifetime(ctx: RequestContext, purpose: EmailTokenPurpose) -> timedelta:
    if purpose is EmailTokenPurpose.RESET_PASSWORD:
        return timedelta(minutes=ctx.settings.password_reset_ttl_minutes)
    return timedelta(hours=ctx.settings.email_verification_ttl_hours)


async def issue_email_token(
    session: AsyncSession,
    ctx: RequestContext,
    *,
    user_id: int,
    purpose: EmailTokenPurpose,
    email: str,
) -> str:
    """A new token for `purpose`; the user's earlier unused ones of that purpose stop working,
    so only the latest email's link works."""
    now = ctx.now()
    await session.execute(
        update(EmailToken)
        .where(
            EmailToken.user_id == user_id,
            EmailToken.purpose == purpose,
            EmailToken.used_at.is_(None),
        )
        .values(expires_at=now)
    )
    secret = new_secret(PREFIXES[purpose])
    session.add(
        EmailToken(
            user_id=user_id,
            purpose=purpose,
            email=email,
            token_hash=digest(ctx.settings.secret_key.get_secret_value(), secret),
            expires_at=now + lifetime(ctx, purpose),
        )
    )
    return secret


async def redeem_email_token(
    session: AsyncSession,
    ctx: RequestContext,
    token: str,
    purposes: frozenset[EmailTokenPurpose],
) -> EmailToken:
    """Mark the token used and return it; INVALID_TOKEN for unknown, expired or used."""
    if not token or len(token) > 200:
        raise invalid_token()
    row = await session.scalar(
        select(EmailToken)
        .where(EmailToken.token_hash == digest(ctx.settings.secret_key.get_secret_value(), token))
        .with_for_update()
    )
    now = ctx.now()
    if (
        row is None
        or row.purpose not in purposes
        or not token_usable(used_at=row.used_at, expires_at=row.expires_at, now=now)
    ):
        raise invalid_token()
    row.used_at = now
    return row
