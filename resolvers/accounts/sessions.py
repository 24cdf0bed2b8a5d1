"""Logins (auth sessions): open one, list a person's, end one, end all or all others."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuthSession, User
from db.session import transaction
from resolvers.context import RequestContext
from resolvers.errors import UNAUTHENTICATED, UseCaseError, not_found
from resolvers.events import record_audit
from resolvers.tokens import digest, new_secret

SESSION_PREFIX = "pgs"


@dataclass
class SignedIn:
    user: User
    token: str
    expires_at: datetime


async def open_session(ctx: RequestContext, session: AsyncSession, user: User) -> SignedIn:
    token = new_secret(SESSION_PREFIX)
    expires_at = ctx.now() + timedelta(hours=ctx.settings.session_ttl_hours)
    session.add(
        AuthSession(
            user_id=user.id,
            token_hash=digest(ctx.settings.secret_key.get_secret_value(), token),
            expires_at=expires_at,
            last_used_at=ctx.now(),
        )
    )
    return SignedIn(user=user, token=token, expires_at=expires_at)


async def end_sessions(
    session: AsyncSession, *, user_id: int, now: datetime, keep_id: int | None = None
) -> list[int]:
    """End the user's live sessions (but `keep_id`); the IDs ended, for the audit."""
    live = select(AuthSession.id).where(
        AuthSession.user_id == user_id,
        AuthSession.revoked_at.is_(None),
        AuthSession.expires_at > now,
    )
    if keep_id is not None:
        live = live.where(AuthSession.id != keep_id)
    ids = sorted(await session.scalars(live))
    if ids:
        await session.execute(
            update(AuthSession).where(AuthSession.id.in_(ids)).values(revoked_at=now)
        )
    return ids


def require_person(ctx: RequestContext) -> int:
    if ctx.viewer.user_id is None or ctx.viewer.api_token_id is not None:
        raise UseCaseError(UNAUTHENTICATED, "Log in as a person to do this.", None)
    return ctx.viewer.user_id


async def live_sessions(ctx: RequestContext) -> list[AuthSession]:
    """The viewer's sessions that still work, newest first."""
    user_id = require_person(ctx)
    async with ctx.services.sessionmaker() as session:
        rows = await session.scalars(
            select(AuthSession)
            .where(
                AuthSession.user_id == user_id,
                AuthSession.revoked_at.is_(None),
                AuthSession.expires_at > ctx.now(),
            )
            .order_by(AuthSession.id.desc())
        )
        return list(rows)


async def end_session(ctx: RequestContext, *, session_id: int) -> AuthSession:
    """End one of the viewer's own sessions (another person's answers as missing)."""
    user_id = require_person(ctx)
    async with transaction(ctx.services.sessionmaker) as session:
        row = await session.get(AuthSession, session_id, with_for_update=True)
        if row is None or row.user_id != user_id:
            raise not_found("id")
        if row.revoked_at is None:
            row.revoked_at = ctx.now()
        record_audit(
            session,
            action="session.end",
            subject_type="AuthSession",
            subject_id=row.id,
            actor_user_id=user_id,
            before={"ended": False},
            after={"ended": True},
        )
    return row


async def logout(ctx: RequestContext, *, everywhere: bool) -> int:
    """End the session of this request, or with `everywhere` all the viewer's sessions;
    answers how many were ended."""
    user_id = require_person(ctx)
    current = ctx.viewer.session_id
    if current is None:
        raise UseCaseError(UNAUTHENTICATED, "Log in as a person to do this.", None)
    async with transaction(ctx.services.sessionmaker) as session:
        if everywhere:
            ended = await end_sessions(session, user_id=user_id, now=ctx.now())
        else:
            await session.execute(
                update(AuthSession)
                .where(AuthSession.id == current, AuthSession.revoked_at.is_(None))
                .values(revoked_at=ctx.now())
            )
            ended = [current]
        record_audit(
            session,
            action="session.logout_everywhere" if everywhere else "session.logout",
            subject_type="User",
            subject_id=user_id,
            actor_user_id=user_id,
            before={"sessions": ended},
            after={"sessions": []},
        )
    return len(ended)
