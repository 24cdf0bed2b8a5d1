"""Passwords, login, bearer authentication and API tokens (sign-up and the rest of the
account: `resolvers.accounts`)."""

from __future__ import annotations

import asyncio
import functools
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    ApiToken,
    AuthSession,
    CollaboratorClient,
    CollaboratorProduct,
    Membership,
    User,
)
from db.session import RequestSession, transaction
from domain.access import MembershipFacts, Viewer
from domain.enums import ApiTokenAccess, Role
from domain.error_codes import ErrorCode
from resolvers.accounts.sessions import SESSION_PREFIX, SignedIn, open_session, require_person
from resolvers.context import RequestContext, Services
from resolvers.errors import READ_ONLY_TOKEN, UNAUTHENTICATED, UseCaseError, not_found
from resolvers.events import record_audit
from resolvers.throttling import Limit, throttle
from resolvers.tokens import digest, new_secret
from resolvers.validation import clean_text

API_TOKEN_PREFIX = "pgt"
MIN_PASSWORD = 10
MAX_PASSWORD = 256
EMAIL_NOT_VERIFIED = ErrorCode.EMAIL_NOT_VERIFIED
#: How stale a session's last_used_at may get before a request refreshes it (one write
#: per session per interval, not per request).
LAST_USED_GRANULARITY = timedelta(minutes=5)

_hasher = PasswordHasher()  # argon2id with the library's recommended parameters


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so both failures take the same time.
    Made on first use (off the event loop), not at import: every process start would pay
    a hash for it."""
    return _hasher.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# argon2 takes tens of milliseconds of CPU by design: off the event loop, so a request
# full of password work never stalls the others (argon2-cffi releases the GIL).
async def hash_password_off_loop(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str, password: str) -> bool:
    return await asyncio.to_thread(_verify, password_hash, password)


async def verify_unknown_account(password: str) -> None:
    """The work of a password check for an email no account has: same time, no answer."""
    await asyncio.to_thread(lambda: _verify(_dummy_hash(), password))


def require_user(ctx: RequestContext) -> int:
    return require_person(ctx)


def require_writer(ctx: RequestContext) -> None:
    if ctx.viewer.user_id is None and ctx.viewer.api_token_id is None:
        raise UseCaseError(UNAUTHENTICATED, "Authentication required.", None)
    if ctx.viewer.read_only:
        raise UseCaseError(READ_ONLY_TOKEN, "This API token is read-only.", None)


def new_support_code() -> str:
    return f"{secrets.randbelow(10**8):08d}"


def check_password_strength(password: str, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD:
        raise UseCaseError("PASSWORD_TOO_SHORT", f"Use at least {MIN_PASSWORD} characters.", field)
    if len(password) > MAX_PASSWORD:
        raise UseCaseError("TOO_LONG", f"At most {MAX_PASSWORD} characters.", field)


INVALID_CREDENTIALS = UseCaseError(
    "INVALID_CREDENTIALS", "The email or the password is wrong.", None
)


async def login(ctx: RequestContext, *, email: str, password: str) -> SignedIn:
    address = email.strip().lower()
    await throttle(ctx, Limit.PASSWORD, account=address)
    async with transaction(ctx.services.sessionmaker) as session:
        user = await session.scalar(select(User).where(User.email == address))
        if user is None:
            await verify_unknown_account(password)
            raise INVALID_CREDENTIALS
        if not await verify_password(user.password_hash, password):
            raise INVALID_CREDENTIALS
        if user.email_verified_at is None:
            # Only the password's owner learns this: the account waits for its email link.
            raise UseCaseError(
                EMAIL_NOT_VERIFIED,
                "Verify your email first: follow the link we sent (or ask for a new one).",
                "email",
            )
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = await hash_password_off_loop(password)
        signed_in = await open_session(ctx, session, user)
        # A new session is a change of access (SPEC: the audit trail).
        record_audit(
            session,
            action="session.login",
            subject_type="User",
            subject_id=user.id,
            actor_user_id=user.id,
            after={"session_expires_at": signed_in.expires_at.isoformat()},
        )
        return signed_in


async def check_password(ctx: RequestContext, session: AsyncSession, password: str) -> None:
    """The logged-in person re-enters its password (throttled: Limit.PASSWORD)."""
    user_id = require_user(ctx)
    await throttle(ctx, Limit.PASSWORD)
    user = await session.get(User, user_id)
    if user is None or not await verify_password(user.password_hash, password):
        raise UseCaseError("WRONG_PASSWORD", "The password is wrong.", "password")


def _membership_facts(rows: Sequence[Any]) -> dict[int, MembershipFacts]:
    """Memberships from `_SESSION_VIEWER` rows: one per membership and listed client."""
    memberships: dict[int, Membership] = {}
    listed: dict[int, set[int]] = {}
    limited: dict[int, dict[int, set[int]]] = {}
    for row in rows:
        membership = row.Membership
        if membership is None:
            continue
        memberships[membership.id] = membership
        # Listed clients count for collaborators only (other roles act for every client).
        if row.client_id is not None and membership.role is Role.COLLABORATOR:
            listed.setdefault(membership.id, set()).add(row.client_id)
            if not row.all_products:  # only the chosen products of that client
                chosen = limited.setdefault(membership.id, {}).setdefault(row.client_id, set())
                if row.product_id is not None:
                    chosen.add(row.product_id)
    return {
        m.organization_id: MembershipFacts(
            organization_id=m.organization_id,
            role=m.role,
            all_clients=m.all_clients,
            client_ids=frozenset(listed.get(m.id, ())),
            product_ids={c: frozenset(p) for c, p in limited.get(m.id, {}).items()},
        )
        for m in memberships.values()
    }


# A login, its user's email, memberships and collaborators' listed clients and chosen
# products: one statement.
_SESSION_VIEWER = (
    select(
        AuthSession,
        User.email,
        User.email_verified_at,
        Membership,
        CollaboratorClient.client_id,
        CollaboratorClient.all_products,
        CollaboratorProduct.product_id,
    )
    .join(User, User.id == AuthSession.user_id)
    .outerjoin(Membership, Membership.user_id == AuthSession.user_id)
    .outerjoin(CollaboratorClient, CollaboratorClient.membership_id == Membership.id)
    .outerjoin(
        CollaboratorProduct,
        and_(
            CollaboratorProduct.membership_id == CollaboratorClient.membership_id,
            CollaboratorProduct.client_id == CollaboratorClient.client_id,
        ),
    )
)


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def authenticate(
    services: Services, token: str | None, db: RequestSession | None = None
) -> Viewer | None:
    """The viewer a bearer token stands for; None for a missing, expired or revoked one.

    With `db` (the request's session), on its connection: the request then checks out
    one connection, not one to authenticate and another to answer."""
    if token is None:
        return None
    if db is not None:
        async with db.use() as session:
            return await _authenticate(services, token, session)
    async with services.sessionmaker() as session:
        return await _authenticate(services, token, session)


async def _authenticate(services: Services, token: str, session: AsyncSession) -> Viewer | None:
    key_hash = digest(services.settings.secret_key.get_secret_value(), token)
    now = services.clock()
    if token.startswith(SESSION_PREFIX + "_"):
        rows = (
            await session.execute(_SESSION_VIEWER.where(AuthSession.token_hash == key_hash))
        ).all()
        if not rows:
            return None
        auth, email = rows[0].AuthSession, rows[0].email
        if auth.revoked_at is not None or auth.expires_at <= now:
            return None
        if rows[0].email_verified_at is None:  # an unverified account cannot act
            return None
        if auth.last_used_at is None or now - auth.last_used_at >= LAST_USED_GRANULARITY:
            await session.execute(
                update(AuthSession).where(AuthSession.id == auth.id).values(last_used_at=now)
            )
            await session.commit()
        return Viewer(
            user_id=auth.user_id,
            email=email,
            memberships=_membership_facts(rows),
            session_id=auth.id,
        )
    if token.startswith(API_TOKEN_PREFIX + "_"):
        api = await session.scalar(select(ApiToken).where(ApiToken.token_hash == key_hash))
        if api is None or api.revoked_at is not None:
            return None
        if api.expires_at is not None and api.expires_at <= now:
            return None
        # A token acts for its organization: read-write as its legal representative
        # (but never where a person's password is required), read-only as an administrator.
        role = (
            Role.LEGAL_REPRESENTATIVE
            if api.access is ApiTokenAccess.READ_WRITE
            else Role.ADMINISTRATOR
        )
        return Viewer(
            user_id=None,
            api_token_id=api.id,
            read_only=api.access is ApiTokenAccess.READ,
            memberships={api.organization_id: MembershipFacts(api.organization_id, role)},
        )
    return None


@dataclass
class CreatedApiToken:
    token: ApiToken
    secret: str


async def create_api_token(
    ctx: RequestContext,
    *,
    organization_id: int,
    name: str,
    access: ApiTokenAccess,
    expires_at: datetime | None,
) -> CreatedApiToken:
    user_id = require_user(ctx)
    label = clean_text(name, "name", max_length=100)
    if ctx.viewer.role_in(organization_id) is not Role.LEGAL_REPRESENTATIVE:
        if ctx.viewer.is_member(organization_id):
            raise UseCaseError(
                "ROLE_NOT_ALLOWED", "Only a legal representative may create API tokens.", None
            )
        raise not_found("organizationId")
    if expires_at is not None and expires_at <= ctx.now():
        raise UseCaseError("INVALID_EXPIRY", "The expiry must be in the future.", "expiresAt")
    secret = new_secret(API_TOKEN_PREFIX)
    async with transaction(ctx.services.sessionmaker) as session:
        token = ApiToken(
            organization_id=organization_id,
            created_by_user_id=user_id,
            name=label,
            prefix=secret[:10],
            token_hash=digest(ctx.settings.secret_key.get_secret_value(), secret),
            access=access,
            expires_at=expires_at,
        )
        session.add(token)
        await session.flush()
        record_audit(
            session,
            action="api_token.create",
            subject_type="ApiToken",
            subject_id=token.id,
            actor_user_id=user_id,
            organization_id=organization_id,
            after={
                "name": label,
                "access": access.value,
                "expires_at": expires_at.isoformat() if expires_at else None,
            },
        )
    return CreatedApiToken(token=token, secret=secret)


async def visible_api_tokens(ctx: RequestContext, token_ids: list[int]) -> dict[int, ApiToken]:
    """The API tokens among `token_ids` the viewer manages (legal representatives of the
    token's organization), by id; the others are left out, as if they did not exist."""
    if not token_ids:
        return {}
    async with ctx.services.sessionmaker() as session:
        rows = await session.scalars(select(ApiToken).where(ApiToken.id.in_(token_ids)))
        return {
            row.id: row
            for row in rows
            if ctx.viewer.api_token_id is None
            and ctx.viewer.role_in(row.organization_id) is Role.LEGAL_REPRESENTATIVE
        }


async def revoke_api_token(ctx: RequestContext, *, token_id: int) -> ApiToken:
    user_id = require_user(ctx)
    async with transaction(ctx.services.sessionmaker) as session:
        token = await session.get(ApiToken, token_id)
        if (
            token is None
            or ctx.viewer.role_in(token.organization_id) is not Role.LEGAL_REPRESENTATIVE
        ):
            raise not_found("id")
        if token.revoked_at is None:
            token.revoked_at = ctx.now()
            record_audit(
                session,
                action="api_token.revoke",
                subject_type="ApiToken",
                subject_id=token.id,
                actor_user_id=user_id,
                organization_id=token.organization_id,
                before={"revoked": False},
                after={"revoked": True},
            )
    return token
