"""Sign-up, login, logout, bearer authentication and API tokens."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ApiToken, AuthSession, CollaboratorClient, Membership, Organization, User
from db.session import transaction
from domain.access import MembershipFacts, Viewer
from domain.enums import ApiTokenAccess, OrganizationKind, Role
from domain.money import Currency
from resolvers.context import RequestContext, Services
from resolvers.errors import READ_ONLY_TOKEN, UNAUTHENTICATED, UseCaseError, not_found
from resolvers.events import emit_email, record_audit
from resolvers.throttling import Limit, throttle
from resolvers.tokens import digest, new_secret
from resolvers.validation import clean_email, clean_text

SESSION_PREFIX = "pgs"
API_TOKEN_PREFIX = "pgt"
MIN_PASSWORD = 10
MAX_PASSWORD = 256

_hasher = PasswordHasher()  # argon2id with the library's recommended parameters
# Verified against when the email is unknown, so both failures take the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


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


def require_user(ctx: RequestContext) -> int:
    if ctx.viewer.user_id is None or ctx.viewer.api_token_id is not None:
        raise UseCaseError(UNAUTHENTICATED, "Log in as a person to do this.", None)
    return ctx.viewer.user_id


def require_writer(ctx: RequestContext) -> None:
    if ctx.viewer.user_id is None and ctx.viewer.api_token_id is None:
        raise UseCaseError(UNAUTHENTICATED, "Authentication required.", None)
    if ctx.viewer.read_only:
        raise UseCaseError(READ_ONLY_TOKEN, "This API token is read-only.", None)


def new_support_code() -> str:
    return f"{secrets.randbelow(10**8):08d}"


@dataclass
class SignedIn:
    user: User
    token: str
    expires_at: datetime


async def _open_session(ctx: RequestContext, session: AsyncSession, user: User) -> SignedIn:
    token = new_secret(SESSION_PREFIX)
    expires_at = ctx.now() + timedelta(hours=ctx.settings.session_ttl_hours)
    session.add(
        AuthSession(
            user_id=user.id,
            token_hash=digest(ctx.settings.secret_key.get_secret_value(), token),
            expires_at=expires_at,
        )
    )
    return SignedIn(user=user, token=token, expires_at=expires_at)


def check_password_strength(password: str, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD:
        raise UseCaseError("PASSWORD_TOO_SHORT", f"Use at least {MIN_PASSWORD} characters.", field)
    if len(password) > MAX_PASSWORD:
        raise UseCaseError("TOO_LONG", f"At most {MAX_PASSWORD} characters.", field)


async def sign_up(
    ctx: RequestContext,
    *,
    email: str,
    password: str,
    full_name: str,
    organization_name: str,
    currency: Currency,
    organization_kind: OrganizationKind = OrganizationKind.COMPANY,
) -> SignedIn:
    """Create a person, its own organization (it is the legal representative) and a login."""
    address = clean_email(email, "email")
    name = clean_text(full_name, "fullName")
    org_name = clean_text(organization_name, "organizationName")
    check_password_strength(password)
    await throttle(ctx, Limit.SIGN_UP, account=address)
    password_hash = await hash_password_off_loop(password)
    try:
        async with transaction(ctx.services.sessionmaker) as session:
            if await session.scalar(select(User.id).where(User.email == address)) is not None:
                raise UseCaseError("EMAIL_TAKEN", "An account already uses this email.", "email")
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
                Membership(user_id=user.id, organization_id=org.id, role=Role.LEGAL_REPRESENTATIVE)
            )
            record_audit(
                session,
                action="user.sign_up",
                subject_type="User",
                subject_id=user.id,
                actor_user_id=user.id,
                organization_id=org.id,
                after={"email": address, "organization": org_name},
            )
            emit_email(
                session,
                to=address,
                template="welcome",
                context={"full_name": name, "organization_name": org_name},
            )
            signed_in = await _open_session(ctx, session, user)
    except IntegrityError as exc:  # a concurrent sign-up with the same address
        raise UseCaseError("EMAIL_TAKEN", "An account already uses this email.", "email") from exc
    ctx.services.after_commit()
    return signed_in


INVALID_CREDENTIALS = UseCaseError(
    "INVALID_CREDENTIALS", "The email or the password is wrong.", None
)


async def login(ctx: RequestContext, *, email: str, password: str) -> SignedIn:
    address = email.strip().lower()
    await throttle(ctx, Limit.PASSWORD, account=address)
    async with transaction(ctx.services.sessionmaker) as session:
        user = await session.scalar(select(User).where(User.email == address))
        if user is None:
            await verify_password(_DUMMY_HASH, password)
            raise INVALID_CREDENTIALS
        if not await verify_password(user.password_hash, password):
            raise INVALID_CREDENTIALS
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = await hash_password_off_loop(password)
        return await _open_session(ctx, session, user)


async def logout(ctx: RequestContext, token: str | None) -> bool:
    if token is None or not token.startswith(SESSION_PREFIX + "_"):
        raise UseCaseError(UNAUTHENTICATED, "Log in as a person to do this.", None)
    key = ctx.settings.secret_key.get_secret_value()
    async with transaction(ctx.services.sessionmaker) as session:
        auth = await session.scalar(
            select(AuthSession).where(AuthSession.token_hash == digest(key, token))
        )
        if auth is None or auth.revoked_at is not None:
            return False
        auth.revoked_at = ctx.now()
    return True


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
    for row in rows:
        membership = row.Membership
        if membership is None:
            continue
        memberships[membership.id] = membership
        # Listed clients count for collaborators only (other roles act for every client).
        if row.client_id is not None and membership.role is Role.COLLABORATOR:
            listed.setdefault(membership.id, set()).add(row.client_id)
    return {
        m.organization_id: MembershipFacts(
            organization_id=m.organization_id,
            role=m.role,
            all_clients=m.all_clients,
            client_ids=frozenset(listed.get(m.id, ())),
        )
        for m in memberships.values()
    }


# A login, its user's email, memberships and collaborators' listed clients: one statement.
_SESSION_VIEWER = (
    select(AuthSession, User.email, Membership, CollaboratorClient.client_id)
    .join(User, User.id == AuthSession.user_id)
    .outerjoin(Membership, Membership.user_id == AuthSession.user_id)
    .outerjoin(CollaboratorClient, CollaboratorClient.membership_id == Membership.id)
)


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def authenticate(services: Services, token: str | None) -> Viewer | None:
    """The viewer a bearer token stands for; None for a missing, expired or revoked one."""
    if token is None:
        return None
    key_hash = digest(services.settings.secret_key.get_secret_value(), token)
    now = services.clock()
    async with services.sessionmaker() as session:
        if token.startswith(SESSION_PREFIX + "_"):
            rows = (
                await session.execute(_SESSION_VIEWER.where(AuthSession.token_hash == key_hash))
            ).all()
            if not rows:
                return None
            auth, email = rows[0].AuthSession, rows[0].email
            if auth.revoked_at is not None or auth.expires_at <= now:
                return None
            return Viewer(user_id=auth.user_id, email=email, memberships=_membership_facts(rows))
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
