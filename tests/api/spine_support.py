"""Helpers for the spine's API tests: GraphQL documents, fast logins, DB edits and counts.

Logins made here insert an auth session directly (the way `login` stores one) instead of
verifying a password with argon2 (~50 ms each), so table-driven tests stay fast. The tests
of `login` itself (tests/api/test_auth.py) go through the real mutation.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import (
    AuditEvent,
    AuthSession,
    CollaboratorClient,
    Grant,
    GrantProduct,
    Membership,
    OutboxMessage,
    User,
    utcnow,
)
from domain.enums import Role
from resolvers.demo import _demo_hash
from resolvers.tokens import digest, new_secret
from tests.conftest import TEST_SECRET

Maker = async_sessionmaker[AsyncSession]

USER_ERRORS = "userErrors { field message code }"
GRANT_FIELDS = (
    "id status initiatedBy level paymentMethods requestedAccess { level paymentMethods "
    "productFamilies } grantedProducts { id name } clientName"
)


def _mutation(name: str, input_type: str) -> str:
    return (
        f"mutation($i: {input_type}!) {{ {name}(input: $i) {{ "
        f"grant {{ {GRANT_FIELDS} }} {USER_ERRORS} }} }}"
    )


INVITE = _mutation("invite", "InviteInput")
ACCEPT = _mutation("accept", "AcceptInput")
REFUSE = _mutation("refuse", "RefuseInput")
RESEND = _mutation("resendInvitation", "InvitationInput")
CANCEL = _mutation("cancelInvitation", "InvitationInput")
EDIT_ACCESS = _mutation("editAccess", "EditAccessInput")
CHANGE_PAYMENT_METHODS = _mutation("changePaymentMethods", "ChangePaymentMethodsInput")
STOP = _mutation("stopCollaboration", "StopCollaborationInput")

TRACKED_TABLES: dict[str, Any] = {
    "grants": Grant,
    "grant_products": GrantProduct,
    "audit_events": AuditEvent,
    "outbox_messages": OutboxMessage,
}


async def session_tokens(sessionmaker: Maker, emails: list[str]) -> dict[str, str]:
    """Bearer tokens for `emails`, stored like `login` stores them (hashed, with an expiry)."""
    tokens = {email: new_secret("pgs") for email in emails}
    async with sessionmaker() as session, session.begin():
        rows = await session.execute(select(User.email, User.id).where(User.email.in_(emails)))
        users: dict[str, int] = {email: user_id for email, user_id in rows}
        assert set(users) == set(emails), set(emails) - set(users)
        session.add_all(
            AuthSession(
                user_id=users[email],
                token_hash=digest(TEST_SECRET, token),
                expires_at=utcnow() + timedelta(hours=1),
                last_used_at=utcnow(),  # as `login` opens one
            )
            for email, token in tokens.items()
        )
    return tokens


async def session_token(sessionmaker: Maker, email: str) -> str:
    return (await session_tokens(sessionmaker, [email]))[email]


async def add_member(
    sessionmaker: Maker,
    organization_id: int,
    email: str,
    role: Role,
    *,
    client_ids: tuple[int, ...] = (),
    all_clients: bool = False,
) -> int:
    """A user (password `partnergraph-demo`) with one membership; returns the user id."""
    async with sessionmaker() as session, session.begin():
        user = await session.scalar(select(User).where(User.email == email))
        if user is None:
            user = User(
                email=email,
                full_name=email.split("@")[0],
                password_hash=_demo_hash(),
                email_verified_at=utcnow(),
            )
            session.add(user)
            await session.flush()
        membership = Membership(
            user_id=user.id, organization_id=organization_id, role=role, all_clients=all_clients
        )
        session.add(membership)
        await session.flush()
        session.add_all(
            CollaboratorClient(membership_id=membership.id, client_id=c) for c in client_ids
        )
        return user.id


async def row_counts(sessionmaker: Maker) -> dict[str, int]:
    async with sessionmaker() as session:
        return {
            name: int(await session.scalar(select(func.count()).select_from(model)) or 0)
            for name, model in TRACKED_TABLES.items()
        }


async def update_grant(sessionmaker: Maker, grant_id: int, **values: Any) -> None:
    async with sessionmaker() as session, session.begin():
        await session.execute(update(Grant).where(Grant.id == grant_id).values(**values))


async def set_grant_products(sessionmaker: Maker, grant_id: int, product_ids: list[int]) -> None:
    async with sessionmaker() as session, session.begin():
        await session.execute(delete(GrantProduct).where(GrantProduct.grant_id == grant_id))
        session.add_all(GrantProduct(grant_id=grant_id, product_id=p) for p in product_ids)


async def delete_grant(sessionmaker: Maker, grant_id: int) -> None:
    async with sessionmaker() as session, session.begin():
        await session.execute(delete(GrantProduct).where(GrantProduct.grant_id == grant_id))
        await session.execute(delete(Grant).where(Grant.id == grant_id))


async def grant_row(sessionmaker: Maker, grant_id: int) -> Grant:
    async with sessionmaker() as session:
        grant = await session.get(Grant, grant_id)
        assert grant is not None
        return grant


async def audit_events(sessionmaker: Maker, after_id: int = 0) -> list[AuditEvent]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(AuditEvent).where(AuditEvent.id > after_id).order_by(AuditEvent.id)
        )
        return list(rows)


async def outbox_emails(sessionmaker: Maker, after_id: int = 0) -> list[OutboxMessage]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.id > after_id, OutboxMessage.actor_name == "send_email")
            .order_by(OutboxMessage.id)
        )
        return list(rows)


async def last_ids(sessionmaker: Maker) -> tuple[int, int]:
    """The highest audit event and outbox message ids, to look at what a step adds."""
    async with sessionmaker() as session:
        audit = await session.scalar(select(func.max(AuditEvent.id)))
        outbox = await session.scalar(select(func.max(OutboxMessage.id)))
        return int(audit or 0), int(outbox or 0)


def user_errors(data: dict[str, Any], mutation: str) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = data[mutation]["userErrors"]
    return errors


def error_codes(data: dict[str, Any], mutation: str) -> list[str]:
    return [e["code"] for e in user_errors(data, mutation)]
